"""Envelope encryption, key management and blind indexes; no Flask imports."""

from trustcenter.crypto.aead import Place
from trustcenter.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    KeyConfigurationError,
    KeyDestroyed,
    KeyNotFound,
    MalformedCiphertext,
)
from trustcenter.crypto.fields import KEYS_INFO, Pending, Sealed, SealedBlob, encrypted, keys_of, seal_now
from trustcenter.crypto.keys import RootKeys, load_root_keys
from trustcenter.crypto.keystore import KeyService

__all__ = [
    "CryptoError", "DecryptionFailed", "KEYS_INFO", "KeyConfigurationError", "KeyDestroyed", "KeyNotFound",
    "KeyService", "MalformedCiphertext", "Pending", "Place", "RootKeys", "Sealed", "SealedBlob", "encrypted",
    "keys_of", "load_root_keys", "seal_now",
]
