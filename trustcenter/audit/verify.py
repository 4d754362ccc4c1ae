"""Verifying the log: the checkpoints' signatures, every entry's hash and link, the signed head.

Verification reads ciphertexts and hashes only; it needs the audit verify
key but no data key, so it still works after the audit data key is shredded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from trustcenter.audit import chain
from trustcenter.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from trustcenter.audit.service import HEAD_ID, AuditLogError

ENTRY_COLUMNS = (
    AuditEntry.id, AuditEntry.at, AuditEntry.actor_id, AuditEntry.actor_label, AuditEntry.action,
    AuditEntry.subject_type, AuditEntry.subject_id, AuditEntry.org_id, AuditEntry.details_sealed,
    AuditEntry.prev_hash, AuditEntry.hash,
)
# Columns, not objects: the identity map could hand back rows as they were before someone edited them.
CHECKPOINT_COLUMNS = (
    AuditCheckpoint.id, AuditCheckpoint.upto_id, AuditCheckpoint.upto_hash, AuditCheckpoint.purged_count,
    AuditCheckpoint.created_at, AuditCheckpoint.signature,
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
    """
    cursor = _anchor(session, verify_key)
    if isinstance(cursor, VerifyResult):
        return cursor
    start = cursor.next_id
    # A witness of the entry the latest checkpoint ends with is compared with the checkpoint's hash.
    witnessed_hash = cursor.prev_hash if witness and witness.entry_id == start - 1 else None
    for row in _rows(session, batch_size):
        problem = _check_entry(row, cursor)
        if problem is not None:
            return cursor.broken(*problem)
        if witness is not None and row.id == witness.entry_id:
            witnessed_hash = row.hash
        cursor.next_id, cursor.prev_hash, cursor.checked = row.id + 1, row.hash, cursor.checked + 1
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
    for point in session.execute(select(*CHECKPOINT_COLUMNS).order_by(AuditCheckpoint.id)):
        message = chain.checkpoint_message(point.upto_id, point.upto_hash, point.purged_count,
                                           point.created_at, prev_signature)
        if not chain.signature_valid(verify_key, point.signature, message):
            return cursor.broken(point.upto_id + 1, f"checkpoint {point.id} (entries up to {point.upto_id}) "
                                 "has an invalid signature: it was altered, or an earlier checkpoint removed")
        if point.upto_id < cursor.next_id:
            return cursor.broken(point.upto_id + 1, f"checkpoint {point.id} does not follow the previous one")
        cursor, prev_signature = _Cursor(point.upto_id + 1, point.upto_hash), point.signature
    return cursor


def _rows(session: Session, batch_size: int) -> Iterator[Row[Any]]:
    """Entries in id order as plain rows, a batch at a time (keyset), so memory stays flat."""
    after: int | None = None
    while True:
        query = select(*ENTRY_COLUMNS).order_by(AuditEntry.id).limit(batch_size)
        if after is not None:
            query = query.where(AuditEntry.id > after)
        rows = session.execute(query).all()
        yield from rows
        if len(rows) < batch_size:
            return
        after = rows[-1].id


def _check_entry(row: Any, cursor: _Cursor) -> tuple[int, str] | None:
    """The entry id to blame and why, or None when the entry continues the chain."""
    if row.id < cursor.next_id:
        return row.id, f"entry {row.id} lies before the start of the chain (entry {cursor.next_id}): inserted"
    if row.id > cursor.next_id:
        missing = (f"entry {cursor.next_id} is" if row.id == cursor.next_id + 1
                   else f"entries {cursor.next_id}-{row.id - 1} are")
        return cursor.next_id, f"{missing} missing: deleted (the next entry present is {row.id})"
    if chain.entry_hash(row) != row.hash:
        return row.id, "its content no longer matches its hash: altered"
    if row.prev_hash != cursor.prev_hash:
        return row.id, f"it does not link to entry {row.id - 1}: one of them was rewritten"
    return None


def _check_head(session: Session, verify_key: Ed25519PublicKey, cursor: _Cursor) -> VerifyResult:
    """The signed head must name the last entry walked: catches tail truncation and appended forgeries."""
    last_id = cursor.next_id - 1
    head = session.execute(select(AuditHead.last_id, AuditHead.last_hash, AuditHead.signature)
                           .where(AuditHead.id == HEAD_ID)).first()
    if head is None:
        return VerifyResult(True, 0) if last_id == 0 else cursor.broken(last_id, "the head row is missing")
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
