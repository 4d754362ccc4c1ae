"""Audit rows read as the database stores them, and checked in Python, for a verifier that survives any corruption.

A typed DateTime column raises on '2026-…x', and one bad row would end the
whole walk; here every value is read raw and a malformed one raises
`CorruptRow`, which names the column and the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, column, func, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from trustcenter.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from trustcenter.crypto import Sealed
from trustcenter.db import as_utc

# Lightweight tables with untyped columns: what is stored, not what the model's types can load.
ENTRIES = table(AuditEntry.__tablename__, *(column(name) for name in (
    "id", "at", "actor_id", "actor_label", "action", "subject_type", "subject_id", "org_id", "details",
    "prev_hash", "hash")))
CHECKPOINTS = table(AuditCheckpoint.__tablename__, *(column(name) for name in (
    "id", "upto_id", "upto_hash", "purged_count", "created_at", "signature")))
HEAD = table(AuditHead.__tablename__, *(column(name) for name in ("id", "last_id", "last_hash", "signature")))
# PostgreSQL enforces column types, but a timestamp can still be one Python cannot hold ('infinity', year 10000).
TIME_COLUMNS = frozenset({"at", "created_at"})
HEX_DIGITS = frozenset("0123456789abcdef")
SHOWN_CHARS = 60


def raw_rows(session: Session, source: TableClause, *where: ColumnElement[bool],
             limit: int | None = None) -> list[dict[str, Any]]:
    """Rows in id order, each value as the database holds it (None, int, float, str or bytes)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    names = [col.name for col in source.columns]
    query = select(*_raw_columns(source, sqlite)).where(*where).order_by(source.c.id).limit(limit)
    rows = session.execute(query).all()
    if not sqlite:
        return [dict(zip(names, row)) for row in rows]
    return [{name: _sqlite_value(row[2 * i], row[2 * i + 1]) for i, name in enumerate(names)} for row in rows]


def _raw_columns(source: TableClause, sqlite: bool) -> list[ColumnElement[Any]]:
    if sqlite:
        # SQLite keeps any value in any column, and its driver fails on text that is not UTF-8:
        # fetch each value's storage class and its bytes in hex, which always load.
        return [expr for col in source.columns for expr in (func.typeof(col), func.hex(col))]
    return [cast(col, Text) if col.name in TIME_COLUMNS else col for col in source.columns]


def _sqlite_value(storage_class: str, hex_digits: str) -> Any:
    """A value rebuilt from its SQLite storage class and bytes; text that is not UTF-8 stays bytes."""
    data = bytes.fromhex(hex_digits)
    if storage_class == "null":
        return None
    if storage_class == "blob":
        return data
    try:
        decoded = data.decode()
    except UnicodeDecodeError:
        return data
    if storage_class == "integer":
        return int(decoded)
    if storage_class == "real":
        return float(decoded)  # SQLite writes infinities as "Inf", which float() reads
    return decoded


class CorruptRow(ValueError):
    """A column holds what the service never writes; the message names the column and the value."""


def shown(value: Any) -> str:
    """A stored value for the report: short, and escaped, so no terminal control characters get through."""
    if value is None:
        return "NULL"
    shown = repr(value)
    return shown if len(shown) <= SHOWN_CHARS else f"{shown[:SHOWN_CHARS]}… ({len(value)} long)"


def _corrupt(raw: Mapping[str, Any], name: str, expected: str) -> CorruptRow:
    return CorruptRow(f"column {name} holds {shown(raw[name])}, not {expected}")


def _whole(raw: Mapping[str, Any], name: str) -> int:
    value = raw[name]
    if isinstance(value, int):
        return value
    raise _corrupt(raw, name, "a whole number")


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if isinstance(value, str):
        return value
    raise _corrupt(raw, name, "text")


def _optional_text(raw: Mapping[str, Any], name: str) -> str | None:
    return None if raw[name] is None else _text(raw, name)


def _digest(raw: Mapping[str, Any], name: str) -> str:
    """A SHA-256 hash in lower-case hex, as the service writes them."""
    value = raw[name]
    if isinstance(value, str) and len(value) == 64 and HEX_DIGITS.issuperset(value):
        return value
    raise _corrupt(raw, name, "a SHA-256 hash (64 lower-case hex digits)")


def _time(raw: Mapping[str, Any], name: str) -> dt.datetime:
    """The moment in UTC; naive text is UTC, as SQLite stores it."""
    value = raw[name]
    if isinstance(value, str):
        try:
            return as_utc(dt.datetime.fromisoformat(value))
        except (ValueError, OverflowError):  # overflow: a moment at the edge of Python's range, moved to UTC
            pass
    raise _corrupt(raw, name, "a timestamp")


def _ciphertext(raw: Mapping[str, Any], name: str) -> Sealed:
    value = raw[name]
    if isinstance(value, (bytes, memoryview)):
        return Sealed(bytes(value))
    raise _corrupt(raw, name, "a ciphertext (bytes)")


@dataclass(frozen=True)
class StoredEntry:
    """An entry read as stored and found well-formed; it satisfies `chain.Linked`."""

    id: int
    at: dt.datetime
    actor_id: str | None
    actor_label: str
    action: str
    subject_type: str | None
    subject_id: str | None
    org_id: str | None
    details_sealed: Sealed
    prev_hash: str
    hash: str

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> StoredEntry:
        return cls(
            id=_whole(raw, "id"), at=_time(raw, "at"), actor_id=_optional_text(raw, "actor_id"),
            actor_label=_text(raw, "actor_label"), action=_text(raw, "action"),
            subject_type=_optional_text(raw, "subject_type"), subject_id=_optional_text(raw, "subject_id"),
            org_id=_optional_text(raw, "org_id"), details_sealed=_ciphertext(raw, "details"),
            prev_hash=_digest(raw, "prev_hash"), hash=_digest(raw, "hash"),
        )


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    upto_id: int
    upto_hash: str
    purged_count: int
    created_at: dt.datetime
    signature: str

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> StoredCheckpoint:
        return cls(id=_whole(raw, "id"), upto_id=_whole(raw, "upto_id"), upto_hash=_digest(raw, "upto_hash"),
                   purged_count=_whole(raw, "purged_count"), created_at=_time(raw, "created_at"),
                   signature=_text(raw, "signature"))


@dataclass(frozen=True)
class StoredHead:
    last_id: int
    last_hash: str
    signature: str

    @classmethod
    def read(cls, raw: Mapping[str, Any]) -> StoredHead:
        return cls(last_id=_whole(raw, "last_id"), last_hash=_digest(raw, "last_hash"),
                   signature=_text(raw, "signature"))
