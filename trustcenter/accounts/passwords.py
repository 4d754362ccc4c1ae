"""Password hashing (Argon2id) and the NIST SP 800-63B policy: length and a blocklist, no composition rules."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128

PASSWORDS_INFO = "trustcenter.passwords"


class Passwords:
    """One application's Argon2id hasher, and the dummy hash that equalises timing for unknown accounts."""

    def __init__(self, cheapest: bool = False) -> None:
        # The testing environment alone asks for minimum cost, to keep the suite fast.
        self.hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if cheapest else PasswordHasher()
        self.dummy_hash = self.hasher.hash("not a real password; equalises timing")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant-work check: an account without a password still costs one verification."""
        try:
            return self.hasher.verify(stored_hash or self.dummy_hash, password) and stored_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)


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
