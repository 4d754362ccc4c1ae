"""Verifying the log: the checkpoints' signatures, every entry's hash and link, the signed head.

Verification reads ciphertexts and hashes only; it needs the audit verify
key but no data key, so it still works after the audit data key is shredded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from trustcenter.audit import chain
from trustcenter.audit.service import HEAD_ID, AuditLogError
from trustcenter.audit.stored import (
    CHECKPOINTS,
    ENTRIES,
    HEAD,
    CorruptRow,
    StoredCheckpoint,
    StoredEntry,
    StoredHead,
    raw_rows,
    shown,
)


@dataclass(frozen=True)
class VerifyResult:
    """`ok`, how many entries were checked, and where and why the chain first breaks."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


class AuditLogBroken(AuditLogError):
    """Raised where a broken log must stop an operation (purging would hide the damage)."""

    def __init__(self, result: VerifyResult) -> None:
        self.result = result
        super().__init__(f"audit log broken at entry {result.first_broken_id}: {result.reason}")


@dataclass
class _Cursor:
    """The id and previous hash the next entry must have, and how many entries passed."""

    next_id: int
    prev_hash: str
    checked: int = 0

    def broken(self, entry_id: int, reason: str) -> VerifyResult:
        return VerifyResult(False, self.checked, entry_id, reason)


@dataclass(frozen=True)
class Witness:
    """An entry id and hash recorded outside the database (`trustcenter audit head`)."""

    entry_id: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Witness:
        entry_id, sep, digest = text.strip().partition(":")
        if not sep or not entry_id.isdigit() or len(digest) != 64:
            raise ValueError(f"expected ID:HASH as printed by `trustcenter audit head`, not {text!r}")
        return cls(int(entry_id), digest.lower())

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash}"


def verify(session: Session, verify_key: Ed25519PublicKey, batch_size: int = 1000,
           witness: Witness | None = None) -> VerifyResult:
    """Walk the chain in id order from the latest checkpoint (or genesis); name the first broken entry.

    The chain and its signed head show any change made behind the service's
    back, except one: deleting the newest entries and putting back an older
    head row (from a backup, say) leaves an intact, shorter log. A `witness`
    kept outside the database catches that: the log must still hold that entry.
    A row holding what the service never writes (a NULL, a value of another
    type, a timestamp that does not parse) is reported as corrupt, not raised.
    """
    cursor = _anchor(session, verify_key)
    if isinstance(cursor, VerifyResult):
        return cursor
    start = cursor.next_id
    # A witness of the entry the latest checkpoint ends with is compared with the checkpoint's hash.
    witnessed_hash = cursor.prev_hash if witness and witness.entry_id == start - 1 else None
    for raw in _entry_rows(session, batch_size):
        entry = _check_entry(raw, cursor)
        if not isinstance(entry, StoredEntry):
            return cursor.broken(*entry)
        if witness is not None and entry.id == witness.entry_id:
            witnessed_hash = entry.hash
        cursor.next_id, cursor.prev_hash, cursor.checked = entry.id + 1, entry.hash, cursor.checked + 1
    result = _check_head(session, verify_key, cursor)
    if witness is None or not result.ok:
        return result
    return _check_witness(witness, witnessed_hash, start, cursor)


def _check_witness(witness: Witness, walked_hash: str | None, start: int, cursor: _Cursor) -> VerifyResult:
    last_id = cursor.next_id - 1
    if witness.entry_id > last_id:
        return cursor.broken(last_id + 1, f"the log ends at entry {last_id}, but entry {witness.entry_id} was "
                             "recorded outside the database: newer entries were deleted and an older head "
                             "put back (rolled back)")
    if witness.entry_id < start - 1:
        return VerifyResult(True, cursor.checked)  # purged behind a signed checkpoint, as retention does
    if walked_hash != witness.hash:  # the entry walked, or the one the latest checkpoint ends with
        return cursor.broken(witness.entry_id, f"entry {witness.entry_id} differs from the one recorded outside "
                             "the database: the log was rewritten from there on")
    return VerifyResult(True, cursor.checked)


def _anchor(session: Session, verify_key: Ed25519PublicKey) -> _Cursor | VerifyResult:
    """Check the checkpoints' chained signatures; the entries must continue from the latest one."""
    cursor, prev_signature = _Cursor(1, chain.GENESIS_HASH), ""
    for raw in raw_rows(session, CHECKPOINTS):
        try:
            point = StoredCheckpoint.read(raw)
        except CorruptRow as error:
            # Blame the first entry the checkpoint should anchor, as for a bad signature, if that much is readable.
            blamed = raw["upto_id"] + 1 if isinstance(raw["upto_id"], int) else cursor.next_id
            return cursor.broken(blamed, f"checkpoint {shown(raw['id'])} is corrupt: {error}")
        message = chain.checkpoint_message(point.upto_id, point.upto_hash, point.purged_count,
                                           point.created_at, prev_signature)
        if not chain.signature_valid(verify_key, point.signature, message):
            return cursor.broken(point.upto_id + 1, f"checkpoint {point.id} (entries up to {point.upto_id}) "
                                 "has an invalid signature: it was altered, or an earlier checkpoint removed")
        if point.upto_id < cursor.next_id:
            return cursor.broken(point.upto_id + 1, f"checkpoint {point.id} does not follow the previous one")
        cursor, prev_signature = _Cursor(point.upto_id + 1, point.upto_hash), point.signature
    return cursor


def _entry_rows(session: Session, batch_size: int) -> Iterator[dict[str, Any]]:
    """Entries in id order as stored, a batch at a time (keyset), so memory stays flat."""
    after: int | None = None
    while True:
        rows = raw_rows(session, ENTRIES, *([] if after is None else [ENTRIES.c.id > after]), limit=batch_size)
        yield from rows
        if len(rows) < batch_size:
            return
        after = rows[-1]["id"]  # the walk only asks for more after accepting every row, so this is a number


def _check_entry(raw: Mapping[str, Any], cursor: _Cursor) -> StoredEntry | tuple[int, str]:
    """The entry when it continues the chain; else the entry id to blame and why."""
    entry_id = raw["id"]
    if not isinstance(entry_id, int):
        return cursor.next_id, (f"the entry after entry {cursor.next_id - 1} has the id {shown(entry_id)}, "
                                "not a whole number: corrupt")
    if entry_id != cursor.next_id:
        return _out_of_sequence(entry_id, cursor)
    try:
        entry = StoredEntry.read(raw)
    except CorruptRow as error:
        return entry_id, f"it is corrupt: {error}"
    if chain.entry_hash(entry) != entry.hash:
        return entry_id, "its content no longer matches its hash: altered"
    if entry.prev_hash != cursor.prev_hash:
        return entry_id, f"it does not link to entry {entry_id - 1}: one of them was rewritten"
    return entry


def _out_of_sequence(entry_id: int, cursor: _Cursor) -> tuple[int, str]:
    if entry_id < cursor.next_id:
        return entry_id, f"entry {entry_id} lies before the start of the chain (entry {cursor.next_id}): inserted"
    missing = (f"entry {cursor.next_id} is" if entry_id == cursor.next_id + 1
               else f"entries {cursor.next_id}-{entry_id - 1} are")
    return cursor.next_id, f"{missing} missing: deleted (the next entry present is {entry_id})"


def _check_head(session: Session, verify_key: Ed25519PublicKey, cursor: _Cursor) -> VerifyResult:
    """The signed head must name the last entry walked: catches tail truncation and appended forgeries."""
    last_id = cursor.next_id - 1
    rows = raw_rows(session, HEAD, HEAD.c.id == HEAD_ID)
    if not rows:
        return VerifyResult(True, 0) if last_id == 0 else cursor.broken(last_id, "the head row is missing")
    try:
        head = StoredHead.read(rows[0])
    except CorruptRow as error:
        return cursor.broken(max(last_id, 1), f"the head row is corrupt: {error}")
    if not chain.signature_valid(verify_key, head.signature, chain.head_message(head.last_id, head.last_hash)):
        return cursor.broken(max(last_id, 1), "the head's signature is invalid: the head was edited "
                             "or the chain rewritten")
    if head.last_id > last_id:
        return cursor.broken(last_id + 1, f"entries {last_id + 1}-{head.last_id} are missing from the end: "
                             "truncated")
    if head.last_id < last_id:
        return cursor.broken(head.last_id + 1, f"entry {head.last_id + 1} is not covered by the signed head: "
                             "inserted outside the audit service")
    if head.last_hash != cursor.prev_hash:
        return cursor.broken(last_id, "its hash differs from the one in the signed head: rewritten")
    return VerifyResult(True, cursor.checked)
