"""AES-256-GCM sealing with a self-describing header and place-bound associated data.

Blob layout (all big-endian):

    byte 0      format version (1)
    bytes 1-16  id of the key that sealed it (a UUID)
    bytes 17-20 version of the key-encryption key above it
    bytes 21-32 random 96-bit nonce
    bytes 33-   ciphertext and 16-byte tag

The associated data is the header plus the place (table, column, row id), so
a blob copied into another row, column or tenant fails to decrypt.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trustcenter.crypto.errors import DecryptionFailed, MalformedCiphertext

FORMAT_VERSION = 1
HEADER = struct.Struct(">B16sI")
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_LENGTH = HEADER.size + NONCE_BYTES + TAG_BYTES


@dataclass(frozen=True)
class Place:
    """Where a ciphertext lives; part of its associated data."""

    table: str
    column: str
    row_id: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}[{self.row_id}]"

    @cached_property
    def encoded(self) -> bytes:
        return b"\x1f".join((self.table.encode(), self.column.encode(), self.row_id.encode()))

    def encode(self) -> bytes:
        return self.encoded


@dataclass(frozen=True)
class Header:
    key_id: uuid.UUID
    key_version: int

    def pack(self) -> bytes:
        return HEADER.pack(FORMAT_VERSION, self.key_id.bytes, self.key_version)


def read_header(blob: bytes, place: Place | str) -> Header:
    """The key id and version a blob was sealed with."""
    if len(blob) < MIN_LENGTH:
        raise MalformedCiphertext(str(place), f"{len(blob)} bytes is too short")
    fmt, key_bytes, key_version = HEADER.unpack_from(blob)
    if fmt != FORMAT_VERSION:
        raise MalformedCiphertext(str(place), f"unknown format version {fmt}")
    return Header(uuid.UUID(bytes=key_bytes), key_version)


def seal(aead: AESGCM, header: Header, plaintext: bytes, place: Place) -> bytes:
    """Encrypt `plaintext` for `place` under the key `aead`, described by `header`."""
    packed = header.pack()
    nonce = os.urandom(NONCE_BYTES)
    return packed + nonce + aead.encrypt(nonce, plaintext, packed + place.encoded)


def open_sealed(aead: AESGCM, blob: bytes, place: Place) -> bytes:
    """Decrypt a blob sealed for `place`; raise `DecryptionFailed` naming the key otherwise."""
    header = read_header(blob, place)
    start = HEADER.size
    try:
        return aead.decrypt(blob[start:start + NONCE_BYTES], blob[start + NONCE_BYTES:],
                            blob[:start] + place.encoded)
    except InvalidTag:
        raise DecryptionFailed(str(header.key_id), str(place)) from None


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
