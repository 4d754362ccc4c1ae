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
from trustcenter.crypto.fields import EncryptedBlob, Sealed, encrypted, install, key_service
from trustcenter.crypto.keys import RootKeys, load_root_keys
from trustcenter.crypto.keystore import KeyService

__all__ = [
    "CryptoError", "DecryptionFailed", "EncryptedBlob", "KeyConfigurationError", "KeyDestroyed",
    "KeyNotFound", "KeyService", "MalformedCiphertext", "Place", "RootKeys", "Sealed", "encrypted",
    "install", "key_service", "load_root_keys",
]
