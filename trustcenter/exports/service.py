"""Exports: asking for one, building it in the worker, the one place that loads it, streaming and purging.

No Flask imports: the worker task passes what renders the page for people and the Art. 15(1) text.
"""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from trustcenter.accounts.models import ERASED, Organisation, User
from trustcenter.accounts.roles import Role
from trustcenter.audit import service as audit
from trustcenter.crypto import keys_of
from trustcenter.db import new_id, utcnow
from trustcenter.exports import archive, collect
from trustcenter.exports.models import (
    BUILDING,
    FAILED,
    IN_FLIGHT,
    ORGANISATION,
    PERSON,
    QUEUED,
    READY,
    Export,
    ExportChunk,
)

EXPORT_KEY_PURPOSE = "export"
LEASE = dt.timedelta(minutes=10)
DEFAULT_DAYS = 7
# The export's page asks for progress once a second: committing it more often only costs time (a synced
# write per person on SQLite).
PROGRESS_SECONDS = 1.0
RenderIndex = Callable[[dict[str, Any], dict[str, Any]], str]


class ExportError(Exception):
    """The export cannot be made or fetched; the message says why and what to do."""


@dataclass(frozen=True)
class Actor:
    user: User
    ip: str | None = None


# -- asking ---------------------------------------------------------------------------------------------------

def request_export(session: Session, actor: Actor, scope: str, request_id: str | None = None,
                   subject: User | None = None) -> Export:
    """Queue an export of `actor`'s own data, or (a customer administrator) of their organisation's; staff
    answering an access or portability request pass the requester as `subject`."""
    user = actor.user
    subject = subject or user
    if scope == ORGANISATION and user.role_enum is not Role.CUSTOMER_ADMIN:
        raise ExportError("Only a customer administrator can export the whole organisation.")
    if scope not in (PERSON, ORGANISATION):
        raise ExportError("Choose your own data or your organisation's.")
    if subject.status == ERASED:
        raise ExportError("This person was erased: there is nothing left to export.")
    if in_flight(session, subject.org_id, scope, subject.id if scope == PERSON else None):
        raise ExportError("An export is being prepared already. It usually takes a moment: this page shows it "
                          "when it is ready.")
    export = Export(id=new_id(), org_id=subject.org_id, scope=scope, requested_by=user.id, request_id=request_id,
                    subject_id=subject.id if scope == PERSON else None, state=QUEUED, progress=0,
                    step="Waiting for the worker", size=0, chunks=0,
                    data_key_id=keys_of(session).create_data_key(subject.org_id, purpose=EXPORT_KEY_PURPOSE))
    session.add(export)
    session.flush()
    _audit(session, actor, "export.requested", export, scope=scope)
    session.commit()
    return export


def in_flight(session: Session, org_id: str, scope: str, subject_id: str | None) -> bool:
    query = select(Export.id).where(Export.org_id == org_id, Export.scope == scope, Export.state.in_(IN_FLIGHT))
    if subject_id is not None:
        query = query.where(Export.subject_id == subject_id)
    return session.scalar(query.limit(1)) is not None


# -- the one place that loads an export -----------------------------------------------------------------------

def visible_to(user: User, now: dt.datetime | None = None):  # noqa: ANN201 - a Select
    """A person's own exports; a customer administrator's organisation exports too. Expired ones: none."""
    moment = now or utcnow()
    mine = select(Export).where(or_(Export.expires_at.is_(None), Export.expires_at > moment))
    own = (Export.scope == PERSON) & (Export.subject_id == user.id)
    if user.role_enum is Role.CUSTOMER_ADMIN:
        return mine.where(own | ((Export.scope == ORGANISATION) & (Export.org_id == user.org_id)))
    return mine.where(own)


def export_for(session: Session, user: User, export_id: str) -> Export | None:
    """The export if `user` may see it (the person; for an organisation, its administrators); else None."""
    if not export_id or len(export_id) > 36:
        return None
    return session.scalar(visible_to(user).where(Export.id == export_id))


def exports_of(session: Session, user: User, limit: int = 50) -> list[Export]:
    return list(session.scalars(visible_to(user).order_by(Export.created_at.desc()).limit(limit)))


def export_for_request(session: Session, request_id: str) -> Export | None:
    """The newest export answering a request, while it can still be downloaded."""
    return session.scalar(select(Export).where(
        Export.request_id == request_id, or_(Export.expires_at.is_(None), Export.expires_at > utcnow()))
        .order_by(Export.created_at.desc()).limit(1))


# -- building (the worker) ------------------------------------------------------------------------------------

def claim_next(session: Session, worker: str, now: dt.datetime | None = None) -> Export | None:
    """Take the oldest queued export, or one whose builder's lease ran out, with one conditional UPDATE."""
    moment = now or utcnow()
    candidate = session.scalar(select(Export.id).where(or_(
        Export.state == QUEUED, (Export.state == BUILDING) & (Export.lease_until < moment)))
        .order_by(Export.created_at).limit(1))
    if candidate is None:
        return None
    claimed = session.execute(update(Export).where(
        Export.id == candidate, or_(Export.state == QUEUED, (Export.state == BUILDING) & (Export.lease_until < moment)),
    ).values(state=BUILDING, lease_owner=worker, lease_until=moment + LEASE, progress=1,
             step="Collecting your data"), execution_options={"synchronize_session": False})
    session.commit()
    return session.get(Export, candidate) if claimed.rowcount == 1 else None


def build(session: Session, export: Export, render_index: RenderIndex, about: dict[str, Any],
          content_version: str, days: int = DEFAULT_DAYS) -> None:
    """Collect, write and seal the ZIP piece by piece, showing progress as it goes; then it is ready."""
    session.execute(delete(ExportChunk).where(ExportChunk.export_id == export.id))  # a taken-over build
    org = session.get(Organisation, export.org_id)
    assert org is not None
    people = collect.people_of(session, org) if export.scope == ORGANISATION else \
        [p for p in [session.get(User, export.subject_id)] if p is not None]

    last_shown = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal last_shown
        if done < total and time.monotonic() - last_shown < PROGRESS_SECONDS:
            return
        last_shown = time.monotonic()
        _progress(session, export, 5 + int(75 * done / max(total, 1)), f"Collected {done} of {total} "
                  f"{'person' if total == 1 else 'people'}")

    data = {"export": {"id": export.id, "scope": export.scope, "created_at": collect.stamp(export.created_at),
                       "format_version": 1}, **collect.collect(session, org, people, progress)}
    _progress(session, export, 85, "Writing the files")

    def store(seq: int, piece: bytes) -> None:
        chunk = ExportChunk(export_id=export.id, seq=seq, data_key_id=export.data_key_id, content=piece)
        session.add(chunk)
        session.flush()
        session.expunge(chunk)  # written: the session need not hold it (building stays one piece deep)

    sink = archive.ChunkSink(store)
    archive.write_archive(sink, data, about, render_index(data, about), {
        "export_id": export.id, "scope": export.scope, "requested_by": export.requested_by,
        "created_at": collect.stamp(export.created_at), "content_version": content_version})
    export = session.get(Export, export.id) or export
    export.state, export.progress, export.step = READY, 100, "Ready"
    export.size, export.chunks, export.sha256 = sink.position, sink.pieces, sink.digest.hexdigest()
    export.finished_at = utcnow()
    export.expires_at = export.finished_at + dt.timedelta(days=days)
    export.lease_owner = export.lease_until = None
    audit.record(session, "export.ready", actor_label="system", subject_type="export", subject_id=export.id,
                 org_id=export.org_id, details={"size": export.size, "people": len(people)})
    session.commit()


def fail(session: Session, export_id: str, reason: str) -> None:
    session.rollback()
    session.execute(delete(ExportChunk).where(ExportChunk.export_id == export_id))
    session.execute(update(Export).where(Export.id == export_id).values(
        state=FAILED, step=reason[:120], lease_owner=None, lease_until=None))
    session.commit()


def _progress(session: Session, export: Export, percent: int, step: str) -> None:
    export.progress, export.step = min(percent, 99), step[:120]
    session.commit()


# -- fetching -------------------------------------------------------------------------------------------------

def pieces(session: Session, export: Export) -> Iterator[bytes]:
    """The ZIP, one sealed piece opened at a time: memory holds one piece whatever the export's size."""
    for seq in range(export.chunks):
        piece = session.scalar(select(ExportChunk).where(ExportChunk.export_id == export.id, ExportChunk.seq == seq))
        if piece is None:
            raise ExportError("This export is incomplete; prepare a new one.")
        content = piece.content or b""
        session.expunge(piece)
        yield content


def record_download(session: Session, actor: Actor, export: Export) -> None:
    _audit(session, actor, "export.downloaded", export, size=export.size)
    session.commit()


def purge_expired(session: Session, now: dt.datetime | None = None) -> int:
    """Delete exports past their days (and failed ones), destroying each one's key first."""
    moment = now or utcnow()
    stale = session.execute(select(Export.id, Export.data_key_id).where(or_(
        Export.expires_at < moment, (Export.state == FAILED) & (Export.created_at < moment - dt.timedelta(days=1)),
    ))).all()
    keys = keys_of(session)
    for export_id, key_id in stale:
        keys.destroy_data_key(key_id)
        session.execute(delete(ExportChunk).where(ExportChunk.export_id == export_id))
        session.execute(delete(Export).where(Export.id == export_id))
    session.commit()
    return len(stale)


def worker_name() -> str:
    return f"{socket.gethostname()[:60]}:{new_id()[:8]}"


def _audit(session: Session, actor: Actor, action: str, export: Export, **details: Any) -> None:
    audit.record(session, action, actor_id=actor.user.id, actor_label=actor.user.role, ip=actor.ip,
                 subject_type="export", subject_id=export.id, org_id=export.org_id, details=details or None)
