"""Crypto errors name the key involved, never its bytes."""


class CryptoError(Exception):
    """Base class: something about keys or ciphertexts is wrong."""


class KeyNotFound(CryptoError):
    def __init__(self, key_id: str, kind: str = "key") -> None:
        self.key_id = key_id
        super().__init__(f"{kind} {key_id} is not available: it was never configured or has been removed")


class KeyDestroyed(CryptoError):
    """The key was crypto-shredded: everything under it is gone for good."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"data key {key_id} has been destroyed; the data it protected is erased")


class DecryptionFailed(CryptoError):
    """Wrong key, tampered ciphertext, or a ciphertext moved to another place."""

    def __init__(self, key_id: str, place: str) -> None:
        self.key_id, self.place = key_id, place
        super().__init__(
            f"cannot decrypt {place} with key {key_id}: the ciphertext was altered, moved from "
            "another row, or the key is wrong"
        )


class MalformedCiphertext(CryptoError):
    def __init__(self, place: str, reason: str) -> None:
        super().__init__(f"ciphertext for {place} is malformed: {reason}")


class KeyConfigurationError(CryptoError):
    """Keys are missing or unsafe for this environment; the message says which."""
