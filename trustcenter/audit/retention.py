"""Retention: delete entries older than 35 days behind a signed checkpoint; no Flask imports.

The checkpoint records the last purged entry's id and hash, signed with the
audit signing key and chained to the previous checkpoint's signature, so the
entries that remain still verify from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trustcenter.audit import chain, service
from trustcenter.audit.models import AuditCheckpoint, AuditEntry
from trustcenter.audit.verify import AuditLogBroken, verify

RETENTION = dt.timedelta(days=35)  # what the FAQ promises for logs


@dataclass(frozen=True)
class PurgeResult:
    """How many entries were purged, up to which id, under which checkpoint, for which cutoff."""

    purged: int
    cutoff: dt.datetime
    upto_id: int | None = None
    checkpoint_id: int | None = None


def purge(session: Session, signing_key: Ed25519PrivateKey, older_than: dt.timedelta = RETENTION,
          now: dt.datetime | None = None) -> PurgeResult:
    """Delete the oldest entries (a prefix of the chain) behind a signed checkpoint; flush, don't commit.

    Does nothing when no entry is older than the cutoff. Refuses with
    `AuditLogBroken` when the log does not verify: a purge must not sign
    over, and then delete, the evidence of tampering.
    """
    now = service.aware(now) if now is not None else service.utcnow()
    cutoff = now - older_than
    service.lock_head(session, signing_key)
    result = verify(session, signing_key.public_key())
    if not result.ok:
        raise AuditLogBroken(result)
    first, upto = _purgeable(session, cutoff)
    if first is None or upto is None or upto < first:
        return PurgeResult(0, cutoff)
    checkpoint = _checkpoint(session, signing_key, upto, upto - first + 1)
    session.execute(delete(AuditEntry).where(AuditEntry.id <= upto))
    _record_purge(session, signing_key, checkpoint, cutoff)
    return PurgeResult(checkpoint.purged_count, cutoff, upto, checkpoint.id)


def _purgeable(session: Session, cutoff: dt.datetime) -> tuple[int | None, int | None]:
    """The first entry and the last one of the longest prefix older than `cutoff`."""
    first = session.scalar(select(func.min(AuditEntry.id)))
    young = session.scalar(select(func.min(AuditEntry.id)).where(AuditEntry.at >= cutoff))
    upto = young - 1 if young is not None else session.scalar(select(func.max(AuditEntry.id)))
    return first, upto


def _record_purge(session: Session, signing_key: Ed25519PrivateKey, checkpoint: AuditCheckpoint,
                  cutoff: dt.datetime) -> None:
    """Put the checkpoint itself into the chain, as the first entry after it."""
    details = {"checkpoint_id": checkpoint.id, "upto_id": checkpoint.upto_id, "upto_hash": checkpoint.upto_hash,
               "purged_count": checkpoint.purged_count, "cutoff": chain.iso_utc(cutoff)}
    service.append(session, signing_key, details, action="retention.purged", actor_label="system",
                   subject_type="audit_checkpoint", subject_id=str(checkpoint.id))


def _checkpoint(session: Session, signing_key: Ed25519PrivateKey, upto_id: int, count: int) -> AuditCheckpoint:
    """Sign and add the checkpoint for entries up to `upto_id`, chained to the previous one."""
    upto_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == upto_id))
    assert upto_hash is not None  # the chain verified, so the entry exists
    previous = session.scalar(select(AuditCheckpoint.signature).order_by(AuditCheckpoint.id.desc()).limit(1))
    created_at = service.utcnow()
    message = chain.checkpoint_message(upto_id, upto_hash, count, created_at, previous or "")
    checkpoint = AuditCheckpoint(upto_id=upto_id, upto_hash=upto_hash, purged_count=count,
                                 created_at=created_at, signature=chain.sign(signing_key, message))
    session.add(checkpoint)
    session.flush()
    return checkpoint
