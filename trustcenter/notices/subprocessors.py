"""Subprocessor changes announced ahead, and customers' objections within the window (Art. 28(2)); no Flask."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustcenter.accounts.models import Organisation, User
from trustcenter.accounts.roles import PROVIDER_ROLES, Role
from trustcenter.audit import service as audit
from trustcenter.crypto import keys_of
from trustcenter.db import as_utc, utcnow
from trustcenter.notices.models import Objection, SubprocessorChange
from trustcenter.notices.service import NoticeError, one_line, optional_text, required_text

DEFAULT_WINDOW_DAYS = 30
KEY_PURPOSE = "subprocessor-change"


def change_for(session: Session, user: User, change_id: str) -> SubprocessorChange | None:
    """Announced changes are for the provider's people and for every customer (the list itself is public)."""
    found = session.get(SubprocessorChange, change_id)
    if found is None or (found.withdrawn_at is not None and user.role_enum not in PROVIDER_ROLES):
        return None
    return found


def changes(session: Session, include_withdrawn: bool = False) -> list[SubprocessorChange]:
    query = select(SubprocessorChange).order_by(SubprocessorChange.announced_at.desc())
    if not include_withdrawn:
        query = query.where(SubprocessorChange.withdrawn_at.is_(None))
    return list(session.scalars(query))


def is_open(change: SubprocessorChange, now: dt.datetime | None = None) -> bool:
    moment = as_utc(now) if now else utcnow()
    return change.withdrawn_at is None and moment < as_utc(change.objections_until)


def announce(session: Session, actor: User, ip: str | None, subprocessor: str, change: str, details: str,
             days: int = DEFAULT_WINDOW_DAYS, now: dt.datetime | None = None) -> SubprocessorChange:
    if not 1 <= days <= 365:
        raise NoticeError("The objection window must be 1 to 365 days.")
    moment = as_utc(now) if now else utcnow()
    found = SubprocessorChange(
        data_key_id=keys_of(session).create_data_key(actor.org_id, purpose=KEY_PURPOSE), announced_at=moment,
        announced_by=actor.id, objections_until=moment + dt.timedelta(days=days),
        subprocessor=one_line(subprocessor, "The subprocessor's name"),
        change=one_line(change, "The change", 500), details=optional_text(details))
    session.add(found)
    session.flush()
    audit.record(session, "subprocessor_change.announced", actor_id=actor.id, actor_label=actor.role,
                 subject_type="subprocessor_change", subject_id=found.id, org_id=actor.org_id, ip=ip,
                 details={"days": days})
    session.commit()
    return found


def objection_of(session: Session, change: SubprocessorChange, org_id: str) -> Objection | None:
    return session.scalars(select(Objection).where(Objection.change_id == change.id,
                                                   Objection.org_id == org_id)).first()


def object_to(session: Session, user: User, ip: str | None, change: SubprocessorChange, reason: str,
              now: dt.datetime | None = None) -> Objection:
    """A customer administrator objects for their organisation, once, while the window is open."""
    if user.role_enum is not Role.CUSTOMER_ADMIN:
        raise NoticeError("Only your organisation's administrators can object for it.")
    if not is_open(change, now):
        raise NoticeError("The window for objections to this change has closed. Write to our Data Protection "
                          "Officer if you still have concerns.")
    if objection_of(session, change, user.org_id) is not None:
        raise NoticeError("Your organisation has objected to this change already.")
    org = session.get(Organisation, user.org_id)
    assert org is not None
    found = Objection(change_id=change.id, org_id=user.org_id, user_id=user.id, data_key_id=org.data_key_id,
                      created_at=as_utc(now) if now else utcnow(), reason=required_text(reason, "The reason", 5000))
    session.add(found)
    try:
        session.flush()
    except IntegrityError:  # a colleague, or a second click, at the same moment
        session.rollback()
        raise NoticeError("Your organisation has objected to this change already.") from None
    audit.record(session, "subprocessor_change.objected", actor_id=user.id, actor_label=user.role,
                 subject_type="subprocessor_change", subject_id=change.id, org_id=user.org_id, ip=ip)
    session.commit()
    return found


def objections_of_org(session: Session, org_id: str) -> dict[str, Objection]:
    """The organisation's objections, by the change they object to: one query for the whole list."""
    return {o.change_id: o for o in session.scalars(select(Objection).where(Objection.org_id == org_id))}


def objection_counts(session: Session) -> dict[str, int]:
    """How many organisations objected to each change, by change."""
    return dict(session.execute(select(Objection.change_id, func.count()).group_by(Objection.change_id)).all())


def objections(session: Session, change: SubprocessorChange) -> list[tuple[Objection, Organisation]]:
    rows = session.execute(select(Objection, Organisation).join(Organisation, Organisation.id == Objection.org_id)
                           .where(Objection.change_id == change.id).order_by(Objection.created_at))
    return [(objection, org) for objection, org in rows]
