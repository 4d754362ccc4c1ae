"""Encrypted columns: services and templates read and write plaintext attributes.

A model declares the column and the plaintext attribute side by side:

    first_name_sealed: Mapped[Sealed | None] = mapped_column("first_name", EncryptedBlob)
    first_name = encrypted()

`EncryptedBlob` refuses to store anything that is not sealed, so plaintext can
never reach the database by mistake; `encrypted()` seals on assignment with the
row's data key, bound to (table, column, row id), and opens lazily on first read.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary
from sqlalchemy.orm import object_session
from sqlalchemy.types import TypeDecorator

from trustcenter.crypto.aead import Place
from trustcenter.crypto.errors import CryptoError
from trustcenter.crypto.keystore import KeyService

_service: KeyService | None = None
# Model class -> names of its encrypted attributes, for rotation and shredding.
REGISTRY: dict[type, list[str]] = {}


def install(service: KeyService) -> None:
    """Make `service` the key service every encrypted attribute uses."""
    global _service
    _service = service


def key_service() -> KeyService:
    if _service is None:
        raise CryptoError("no key service is installed; create the application first")
    return _service


@dataclass(frozen=True)
class Sealed:
    """A ciphertext as read from or written to the database."""

    blob: bytes


class EncryptedBlob(TypeDecorator[Sealed]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.blob
        raise TypeError("refusing to write a plaintext value to an encrypted column")

    def process_result_value(self, value: Any, dialect: Any) -> Sealed | None:
        return None if value is None else Sealed(bytes(value))


class encrypted:  # noqa: N801 - used like a column declaration
    """A plaintext attribute over the `<name>_sealed` column of the same model."""

    def __init__(self, codec: str = "text") -> None:
        self.codec = codec

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.sealed_attr = f"{name}_sealed"
        self.cache_attr = f"_plain_{name}"
        self.place_attr = f"_place_{name}"
        self.owner = owner
        REGISTRY.setdefault(owner, []).append(name)

    def place(self, obj: Any) -> Place:
        """Where this attribute of `obj` lives; kept on the object, as its id never changes."""
        place = obj.__dict__.get(self.place_attr)
        if place is None or place.row_id != obj.id:
            place = obj.__dict__[self.place_attr] = Place(obj.__tablename__, self.name, str(obj.id))
        return place

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        sealed: Sealed | None = getattr(obj, self.sealed_attr)
        if sealed is None:
            return None
        cached = obj.__dict__.get(self.cache_attr)
        if cached is not None and cached[0] is sealed.blob:
            return cached[1]
        raw = key_service().open(sealed.blob, self.place(obj), object_session(obj))
        value = self._decode(raw)
        obj.__dict__[self.cache_attr] = (sealed.blob, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None:
            setattr(obj, self.sealed_attr, None)
            obj.__dict__.pop(self.cache_attr, None)
            return
        if getattr(obj, "id", None) is None:
            obj.id = str(uuid.uuid4())
        if getattr(obj, "data_key_id", None) is None:
            raise CryptoError(f"{type(obj).__name__}.{self.name}: set data_key_id before personal data")
        blob = key_service().seal(self._encode(value), obj.data_key_id, self.place(obj), object_session(obj))
        setattr(obj, self.sealed_attr, Sealed(blob))
        obj.__dict__[self.cache_attr] = (blob, value)

    def _encode(self, value: Any) -> bytes:
        if self.codec == "json":
            return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        if not isinstance(value, str):
            raise TypeError(f"{self.name} must be text, not {type(value).__name__}")
        return value.encode()

    def _decode(self, raw: bytes) -> Any:
        return json.loads(raw) if self.codec == "json" else raw.decode()


def reseal(obj: Any, data_key_id: str) -> None:
    """Re-encrypt every encrypted attribute of `obj` under another data key."""
    names = [n for cls, fields in REGISTRY.items() if isinstance(obj, cls) for n in fields]
    values = {name: getattr(obj, name) for name in names}
    obj.data_key_id = data_key_id
    for name, value in values.items():
        setattr(obj, name, value)
