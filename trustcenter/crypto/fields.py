"""Encrypted attributes: models declare one line, services read and write plain values.

    class User(Base):
        first_name = encrypted()

declares the column `first_name` (ciphertext, mapped as `first_name_sealed`)
and a plain attribute over it. Assigning stores the plain value on the object
and nothing else: no key is fetched, no query runs. The value is sealed once,
when the row is flushed (mapper events `before_insert`/`before_update`),
under the row's data key and bound to (table, column, row id); it is opened
on first read. So a service adds, assigns and queries in any order.

The key service comes from the session (`session.info[KEYS_INFO]`), never from
a global: two applications in one process each seal with their own keys.
`SealedBlob` refuses to write anything not sealed, so a plain value can never
reach the database by mistake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy import LargeBinary, event
from sqlalchemy.orm import Session, mapped_column, object_session
from sqlalchemy.types import TypeDecorator

from trustcenter.crypto.aead import Place
from trustcenter.crypto.clock import new_id
from trustcenter.crypto.errors import CryptoError

if TYPE_CHECKING:
    from trustcenter.crypto.keystore import KeyService

KEYS_INFO = "trustcenter.keys"
# Model class -> names of its encrypted attributes, for rotation, shredding and verification.
REGISTRY: dict[type, list[str]] = {}
_KEYS_ATTR = "_tc_keys"
T = TypeVar("T")


def keys_of(session: Session) -> KeyService:
    """The key service a session seals and opens with."""
    service = session.info.get(KEYS_INFO)
    if service is None:
        raise CryptoError("this database session has no key service; open sessions through the application")
    return service


@dataclass(frozen=True)
class Sealed:
    """A ciphertext as read from or written to the database."""

    blob: bytes


@dataclass(frozen=True)
class Pending:
    """A plain value assigned since the last flush, waiting to be sealed."""

    value: Any


class SealedBlob(TypeDecorator[Sealed]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, Sealed):
            return value.blob
        raise TypeError("refusing to write a plain value to an encrypted column")

    def process_result_value(self, value: Any, dialect: Any) -> Sealed | None:
        return None if value is None else Sealed(bytes(value))


class encrypted(Generic[T]):  # noqa: N801 - used like a column declaration
    """A plain attribute over a sealed column of the same name."""

    def __init__(self, codec: str = "text", nullable: bool = True) -> None:
        if codec not in ("text", "json", "bytes"):
            raise ValueError(f"unknown codec {codec!r}")
        self.codec = codec
        self.nullable = nullable
        self._place_prefixes: dict[type, bytes] = {}  # model class -> b"table\x1fname\x1f"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.sealed_attr = f"{name}_sealed"
        self.cache_attr = f"_plain_{name}"
        # Declared before the class is mapped, so declarative maps it with the rest.
        setattr(owner, self.sealed_attr, mapped_column(name, SealedBlob, nullable=self.nullable))
        if owner not in REGISTRY:
            REGISTRY[owner] = []
            _listen(owner)
        REGISTRY[owner].append(name)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> encrypted[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T | None: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        # A loaded column sits in the instance dict; only an expired or unloaded one needs the ORM.
        stored = values[self.sealed_attr] if self.sealed_attr in values else getattr(obj, self.sealed_attr)
        if stored is None:
            return None
        if isinstance(stored, Pending):
            return stored.value
        blob = stored.blob
        cached = values.get(self.cache_attr)
        if cached is not None and cached[0] is blob:
            return cached[1]
        # Pages open many values, so this is `_keys_for(obj).open(blob, place_of(obj, name))`
        # without the calls: the same key service and the same bytes for the place.
        keys = values.get(_KEYS_ATTR) or _keys_for(obj)
        prefix = self._place_prefixes.get(type(obj)) or self._place_prefix(type(obj))
        row_id = values["id"] if "id" in values else obj.id
        plain = keys.open_at(blob, prefix + str(row_id).encode())
        value = plain.decode() if self.codec == "text" else plain if self.codec == "bytes" else json.loads(plain)
        values[self.cache_attr] = (blob, value)
        return value

    def _place_prefix(self, cls: type) -> bytes:
        """The start of `place_of(obj, self.name).encoded` for objects of `cls`: all but the row id."""
        prefix = self._place_prefixes[cls] = Place(cls.__tablename__, self.name, "").encoded  # type: ignore[attr-defined]
        return prefix

    def __set__(self, obj: Any, value: T | None) -> None:
        if value is not None:
            self._encode(value)  # a wrong type fails here, where the caller can see it
        setattr(obj, self.sealed_attr, None if value is None else Pending(value))

    def seal(self, obj: Any, keys: KeyService) -> None:
        """Replace a pending plain value with its ciphertext."""
        stored = getattr(obj, self.sealed_attr)
        if not isinstance(stored, Pending):
            return
        blob = keys.seal(self._encode(stored.value), obj.data_key_id, place_of(obj, self.name))
        setattr(obj, self.sealed_attr, Sealed(blob))
        obj.__dict__[self.cache_attr] = (blob, stored.value)

    def _encode(self, value: Any) -> bytes:
        if self.codec == "bytes":
            if not isinstance(value, bytes):
                raise TypeError(f"{self.name} must be bytes, not {type(value).__name__}")
            return value
        if self.codec == "json":
            return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        if not isinstance(value, str):
            raise TypeError(f"{self.name} must be text, not {type(value).__name__}")
        return value.encode()


def place_of(obj: Any, name: str) -> Place:
    """Where attribute `name` of `obj` lives: part of its ciphertext's associated data."""
    return Place(obj.__tablename__, name, str(obj.id))


def _keys_for(obj: Any) -> KeyService:
    """The key service that loaded or sealed `obj`'s values (it stays with a detached object), else its session's."""
    keys = obj.__dict__.get(_KEYS_ATTR)
    if keys is not None:
        return keys
    session = object_session(obj)
    if session is not None and KEYS_INFO in session.info:
        return session.info[KEYS_INFO]
    raise CryptoError(f"{type(obj).__name__} is not in a session with a key service; cannot open its values")


def fields_of(obj: Any) -> list[encrypted[Any]]:
    """The encrypted attribute declarations of `obj`'s class (and its bases)."""
    return [cls.__dict__[name] for cls in type(obj).__mro__ if cls in REGISTRY for name in REGISTRY[cls]]


def seal_now(obj: Any, keys: KeyService) -> None:
    """Seal `obj`'s pending values at once (a hash chain over ciphertexts needs them before the flush)."""
    if getattr(obj, "id", None) is None:
        obj.id = new_id()
    if getattr(obj, "data_key_id", None) is None:
        purpose = getattr(type(obj), "__system_key__", None)
        if purpose is None:
            raise CryptoError(f"{type(obj).__name__} {obj.id} has personal data but no data key")
        obj.data_key_id = keys.system_data_key(purpose)
    for field in fields_of(obj):
        field.seal(obj, keys)
    obj.__dict__[_KEYS_ATTR] = keys


def reseal(obj: Any, data_key_id: str) -> None:
    """Re-encrypt every encrypted attribute of `obj` under another data key, at the next flush."""
    values = {field.name: getattr(obj, field.name) for field in fields_of(obj)}
    obj.data_key_id = data_key_id
    for name, value in values.items():
        setattr(obj, name, value)


def _seal_before_write(_mapper: Any, _connection: Any, target: Any) -> None:
    session = object_session(target)
    if session is None:  # pragma: no cover - flush always has a session
        raise CryptoError("cannot seal outside a session")
    seal_now(target, keys_of(session))


def _remember_keys(target: Any, context: Any, *_args: Any) -> None:
    keys = context.session.info.get(KEYS_INFO)
    if keys is not None:
        target.__dict__[_KEYS_ATTR] = keys


def _listen(owner: type) -> None:
    event.listen(owner, "before_insert", _seal_before_write)
    event.listen(owner, "before_update", _seal_before_write)
    event.listen(owner, "load", _remember_keys)
    event.listen(owner, "refresh", _remember_keys)
