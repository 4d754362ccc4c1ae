"""Password hashing (Argon2id) and the NIST SP 800-63B policy: length and a blocklist, no composition rules."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when an address is unknown, so both cases cost one Argon2 verification.
_DUMMY_HASH = _hasher.hash("not a real password; equalises timing")


def use_cheapest_parameters_for_tests() -> None:
    """Argon2id at minimum cost: only the `testing` environment calls this, to keep the suite fast."""
    global _hasher, _DUMMY_HASH
    from argon2 import profiles

    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY_HASH = _hasher.hash("not a real password; equalises timing")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """About 30,000 of the most used passwords, from zxcvbn's frequency lists."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def problems(password: str, context: tuple[str, ...] = ()) -> list[str]:
    """Why a new password is refused; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters. A few unrelated words make a strong, memorable password."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    lowered = password.casefold()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return ["This password is too common and easy to guess. Choose another."]
    for word in context:
        if word and len(word) >= 4 and word.casefold() in lowered:
            return ["Don't include your name, e-mail address or company name in your password."]
    return []


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check: an account without a password still costs one verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
