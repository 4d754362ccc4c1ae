"""Password policy (NIST SP 800-63B) and Argon2id hashing."""

from trustcenter.accounts import passwords


def test_minimum_length_is_twelve():
    assert passwords.problems("eleven char") != []
    assert passwords.problems("twelve chars") == []


def test_long_passwords_and_any_characters_are_allowed():
    assert passwords.problems("ü" * 64 + " spaces and 🔑 emoji") == []
    assert passwords.problems("x" * 129) != []


def test_no_composition_rules():
    assert passwords.problems("alllowercaseletters") == []


def test_common_passwords_are_refused():
    for common in ("password1234", "qwertyuiop123", "PASSWORD1234"):
        assert passwords.problems(common) == ["This password is too common and easy to guess. Choose another."]
    assert passwords.problems("aaaaaaaaaaaa") != []


def test_context_words_are_refused():
    assert passwords.problems("tenantsecret-welcome", ("tenantsecret",)) != []


def test_hash_is_argon2id_and_verifies():
    hasher = passwords.Passwords()
    hashed = hasher.hash("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify(hashed, "correct horse battery staple")
    assert not hasher.verify(hashed, "wrong horse battery staple")
    assert not hasher.verify(None, "anything")
    assert not hasher.needs_rehash(hashed)
    assert passwords.Passwords(cheapest=True).verify(hashed, "correct horse battery staple")
