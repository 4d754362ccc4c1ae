"""Appending to the audit log and listing it; no Flask imports.

Every append locks the single `audit_head` row, so concurrent writers queue
and each entry gets id = head + 1 and links to the head's hash. The head is
signed with the audit signing key, so rewriting the chain needs that key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustcenter.audit import chain
from trustcenter.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from trustcenter.crypto import keys_of, seal_now
from trustcenter.db import utcnow

HEAD_ID = 1
MAX_PAGE = 200
# Detail keys that suggest a secret; the log must never hold one.
FORBIDDEN_KEY_PARTS = ("password", "passwd", "secret", "token")
LIMITS = {"action": 64, "actor_label": 32, "actor_id": 36, "org_id": 36, "subject_type": 64, "subject_id": 64}


class AuditLogError(Exception):
    """The log cannot be written or purged safely; the message says why."""


def aware(moment: dt.datetime) -> dt.datetime:
    """`moment` unchanged if it names its timezone; a naive time is ambiguous, so it is refused."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment


def record(session: Session, action: str, *, actor_id: str | None = None, actor_label: str = "system",
           subject_type: str | None = None, subject_id: str | None = None, org_id: str | None = None,
           ip: str | None = None, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append an entry in the caller's transaction (flushed, not committed), so it commits with the change.

    Who (`actor_id`, a user id or None; `actor_label`, a role such as "staff"
    or "system"), what (`action`, e.g. "login.success"), on which object
    (`subject_type`, `subject_id`), for which tenant (`org_id`), from where
    (`ip`). `ip` and `details` are stored encrypted. Never put passwords,
    tokens, codes or full personal data (names, addresses, message bodies) in
    `details`: record ids and what changed, not the values. Keys that look like
    secrets are refused. Call it late in the transaction: the head row stays
    locked, and other writers wait, until the caller commits or rolls back.
    """
    fields = {"action": action, "actor_id": actor_id, "actor_label": actor_label,
              "subject_type": subject_type, "subject_id": subject_id, "org_id": org_id}
    _check_fields(fields)
    return append(session, keys_of(session).root.audit_signing, _details(details, ip), **fields)


def append(session: Session, signing_key: Ed25519PrivateKey, payload: dict[str, Any], **fields: Any) -> AuditEntry:
    """Lock the head, add the entry after it, move and re-sign the head; flush."""
    head = lock_head(session, signing_key)
    entry = AuditEntry(id=head.last_id + 1, at=utcnow(), prev_hash=head.last_hash, details=payload, **fields)
    seal_now(entry, keys_of(session))  # the hash covers the ciphertext, so seal before the flush would
    entry.hash = chain.entry_hash(entry)
    session.add(entry)
    head.last_id, head.last_hash = entry.id, entry.hash
    head.signature = chain.sign(signing_key, chain.head_message(entry.id, entry.hash))
    session.flush()
    return entry


def lock_head(session: Session, signing_key: Ed25519PrivateKey) -> AuditHead:
    """The head row, locked until the transaction ends; created (signed) on first use."""
    if _dialect(session) == "sqlite":
        # pysqlite begins a transaction only at the first write: write first so the read below is current.
        session.execute(update(AuditHead.__table__).where(AuditHead.id == HEAD_ID)
                        .values(last_id=AuditHead.last_id))
    head = _select_head(session)
    if head is None:
        _create_head(session, signing_key)
        head = _select_head(session)
    assert head is not None
    return head


def _select_head(session: Session) -> AuditHead | None:
    query = (select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
             .execution_options(populate_existing=True))
    return session.scalars(query).first()


def _create_head(session: Session, signing_key: Ed25519PrivateKey) -> None:
    """Insert the genesis head unless a concurrent writer just did; refuse if the log has history."""
    has_entries = session.scalar(select(func.count()).select_from(AuditEntry)) != 0
    has_checkpoints = session.scalar(select(func.count()).select_from(AuditCheckpoint)) != 0
    if has_entries or has_checkpoints:
        raise AuditLogError("the audit head row is missing although the log has entries; "
                            "run `trustcenter audit verify` and restore it from a backup")
    values = {"id": HEAD_ID, "last_id": 0, "last_hash": chain.GENESIS_HASH,
              "signature": chain.sign(signing_key, chain.head_message(0, chain.GENESIS_HASH))}
    dialect = _dialect(session)
    if dialect == "postgresql":
        statement: Any = postgresql.insert(AuditHead.__table__).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(AuditHead.__table__).values(values).on_conflict_do_nothing()
    else:
        statement = insert(AuditHead.__table__).values(values)
    session.execute(statement)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _check_fields(fields: dict[str, Any]) -> None:
    if not fields["action"] or not fields["actor_label"]:
        raise ValueError("an audit entry needs an action and an actor label")
    for name, limit in LIMITS.items():
        value = fields[name]
        if value is not None and len(value) > limit:
            raise ValueError(f"audit {name} is longer than {limit} characters")


def _details(details: dict[str, Any] | None, ip: str | None) -> dict[str, Any]:
    """The encrypted payload: the caller's details plus the IP address."""
    payload = dict(details or {})
    for key in payload:
        if any(part in key.casefold() for part in FORBIDDEN_KEY_PARTS):
            raise ValueError(f"audit details must not hold secrets; refusing the key {key!r}")
    if ip is not None:
        if "ip" in payload:
            raise ValueError("pass the IP address as `ip`, not inside details")
        payload["ip"] = ip
    return payload


def search(session: Session, *, action: str | None = None, actor_id: str | None = None,
           org_id: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
           before_id: int | None = None, limit: int = 50) -> list[AuditEntry]:
    """Entries newest first, filtered; pass the last id shown as `before_id` for the next page.

    `since` is inclusive and `until` exclusive; both must be timezone-aware.
    Reading the log is itself an event: the caller records "audit.viewed".
    """
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    return list(session.scalars(query.where(*_filters(action, actor_id, org_id, since, until, before_id))))


def _filters(action: str | None, actor_id: str | None, org_id: str | None, since: dt.datetime | None,
             until: dt.datetime | None, before_id: int | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if action is not None:
        clauses.append(AuditEntry.action == action)
    if actor_id is not None:
        clauses.append(AuditEntry.actor_id == actor_id)
    if org_id is not None:
        clauses.append(AuditEntry.org_id == org_id)
    if since is not None:
        clauses.append(AuditEntry.at >= aware(since))
    if until is not None:
        clauses.append(AuditEntry.at < aware(until))
    if before_id is not None:
        clauses.append(AuditEntry.id < before_id)
    return clauses
