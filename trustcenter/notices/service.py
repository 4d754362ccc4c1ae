"""Incidents, the breach register and notices: recording, publishing, fan-out and receipts (no Flask imports).

Every incident and notice is loaded through `incident_for`, `notice_for_staff` or
`notice_for_customer`, which check role and tenant; anything else is not found.
Publishing only marks the notice published: the worker's `fan_out` queues one
mail per recipient in batches, each batch with its receipts in one commit, so a
killed worker or a retried batch never queues a mail twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustcenter.accounts.models import CUSTOMER, ERASED, Organisation, User
from trustcenter.accounts.roles import PROVIDER_ROLES, Role
from trustcenter.audit import service as audit
from trustcenter.crypto import keys_of
from trustcenter.db import as_utc, utcnow
from trustcenter.notices.models import (
    AWAITING_APPROVAL,
    DRAFT,
    PUBLISHED,
    Incident,
    IncidentTenant,
    Notice,
    NoticeReceipt,
    Phase,
    Severity,
    Status,
)
from trustcenter.notices.sms import SmsError, SmsSender
from trustcenter.notify import queue_mail
from trustcenter.notify.outbox import backoff

INCIDENT_KEY_PURPOSE = "incident"
FANOUT_BATCH = 500
FANOUT_LEASE = dt.timedelta(minutes=5)
RESEND_PAUSE = dt.timedelta(minutes=10)  # a second click, or a colleague at the same moment, sends nothing more
MAX_TEXT = 10_000
# (notice, incident) -> subject, plain text, HTML: the mail every recipient of a notice gets.
Compose = Callable[[Notice, Incident], tuple[str, str, str]]


class NoticeError(Exception):
    """What could not be done, said so that the person can fix it."""


@dataclass(frozen=True)
class Actor:
    user: User
    ip: str | None = None

    @property
    def is_dpo(self) -> bool:
        return self.user.role_enum is Role.DPO


@dataclass(frozen=True)
class Facts:
    """What Art. 33(3) asks for, as staff give it."""

    title: str
    nature: str
    people_affected: str = ""
    records_affected: str = ""
    consequences: str = ""
    measures: str = ""
    contact: str = ""


# -- loading, through one guard -------------------------------------------------------------------------------

def incident_for(session: Session, user: User, incident_id: str) -> Incident | None:
    """Incidents are for the provider's people only."""
    if user.role_enum not in PROVIDER_ROLES:
        return None
    return session.get(Incident, incident_id)


def notice_for_staff(session: Session, user: User, incident: Incident, notice_id: str) -> Notice | None:
    notice = session.get(Notice, notice_id) if user.role_enum in PROVIDER_ROLES else None
    return notice if notice is not None and notice.incident_id == incident.id else None


def audience_of(user: User):  # noqa: ANN201 - an SQL expression
    """The published notices addressed to `user`'s organisation: every customer, or it among those chosen."""
    chosen = exists().where(IncidentTenant.incident_id == Notice.incident_id, IncidentTenant.org_id == user.org_id)
    everyone = exists().where(Incident.id == Notice.incident_id, Incident.all_customers.is_(True))
    return and_(Notice.state == PUBLISHED, or_(everyone, chosen))


def notice_for_customer(session: Session, user: User, notice_id: str) -> Notice | None:
    if user.role_enum in PROVIDER_ROLES:
        return None
    return session.scalars(select(Notice).where(Notice.id == notice_id, audience_of(user))).first()


def inbox(session: Session, user: User) -> list[tuple[Notice, NoticeReceipt | None]]:
    """Every notice addressed to the user's organisation, newest first, with the user's receipt."""
    rows = session.execute(
        select(Notice, NoticeReceipt).outerjoin(NoticeReceipt, and_(NoticeReceipt.notice_id == Notice.id,
                                                                    NoticeReceipt.user_id == user.id))
        .where(audience_of(user)).order_by(Notice.published_at.desc()))
    return [(notice, receipt) for notice, receipt in rows]


def unacknowledged(session: Session, user: User) -> list[Notice]:
    """What the banner shows: notices addressed to the user that they have not acknowledged, newest first."""
    acknowledged = exists().where(NoticeReceipt.notice_id == Notice.id, NoticeReceipt.user_id == user.id,
                                  NoticeReceipt.acknowledged_at.is_not(None))
    return list(session.scalars(select(Notice).where(audience_of(user), ~acknowledged)
                                .order_by(Notice.published_at.desc())))


# -- incidents ------------------------------------------------------------------------------------------------

def record_incident(session: Session, actor: Actor, facts: Facts, severity: Severity, aware_at: dt.datetime,
                    tenants: list[str] | None, now: dt.datetime | None = None) -> Incident:
    """A new incident in the register; `tenants` None means every customer."""
    moment = as_utc(now) if now else utcnow()
    aware = _aware_time(aware_at, moment)
    incident = Incident(data_key_id=keys_of(session).create_data_key(actor.user.org_id,
                                                                     purpose=INCIDENT_KEY_PURPOSE),
                        status=Status.SUSPECTED.value, severity=severity.value, aware_at=aware, recorded_at=moment,
                        updated_at=moment, recorded_by=actor.user.id, all_customers=tenants is None)
    _set_facts(incident, facts)
    session.add(incident)
    session.flush()
    _set_tenants(session, incident, tenants)
    _audit(session, actor, "incident.recorded", incident, severity=severity.value)
    session.commit()
    return incident


def update_incident(session: Session, actor: Actor, incident: Incident, facts: Facts, severity: Severity,
                    status: Status, tenants: list[str] | None, aware_at: dt.datetime | None = None,
                    now: dt.datetime | None = None) -> None:
    """Correct the record. Once a notice is published its audience is settled: customers can be added (by the
    DPO, and the published notices then go to them too), never taken away."""
    if incident.status_enum is Status.CLOSED:
        raise NoticeError("This incident is closed; its record can no longer change.")
    moment = as_utc(now) if now else utcnow()
    before, after = set(tenants_of(session, incident)), set(tenants or ())
    widened = (tenants is None and not incident.all_customers) or (tenants is not None and after - before)
    narrowed = (incident.all_customers and tenants is not None) or (not incident.all_customers and before - after
                                                                    and tenants is not None)
    published = [n for n in notices_of(session, incident) if n.state == PUBLISHED]
    if published and narrowed:
        raise NoticeError("Notices about this incident have been published to these customers: they cannot be "
                          "taken off it. Add customers if it affects more.")
    if published and widened and not actor.is_dpo:
        raise NoticeError("Notices about this incident are published: only the Data Protection Officer can add "
                          "customers, since the published notices then go to them too.")
    if aware_at is not None:
        incident.aware_at = _aware_time(aware_at, moment)
    _set_facts(incident, facts)
    incident.severity, incident.status, incident.updated_at = severity.value, status.value, moment
    incident.all_customers = tenants is None
    _set_tenants(session, incident, tenants)
    if widened:
        for notice in published:  # the worker mails the customers just added
            notice.fanout_done_at = None
    _audit(session, actor, "incident.updated", incident, severity=severity.value, status=status.value,
           customers_added=sorted(after - before) if tenants is not None else "all",
           customers_removed=sorted(before - after) if tenants is not None else [])
    session.commit()


def record_authority_notification(session: Session, actor: Actor, incident: Incident, at: dt.datetime, how: str,
                                  delay_reasons: str, now: dt.datetime | None = None) -> None:
    """When and how the supervisory authority was told; after 72 hours, the reasons for the delay are required.
    Recorded once: the register keeps what was recorded."""
    if incident.status_enum is Status.CLOSED:
        raise NoticeError("This incident is closed; its record can no longer change.")
    if incident.authority_notified_at is not None:
        raise NoticeError("The notification of the authority is recorded already.")
    moment = as_utc(now) if now else utcnow()
    told = _aware_time(at, moment)
    if told < as_utc(incident.aware_at):
        raise NoticeError("The authority cannot have been told before the company became aware.")
    if not how.strip():
        raise NoticeError("Say how the authority was told, and its reference if it gave one.")
    late = told > as_utc(incident.authority_deadline)
    if late and not delay_reasons.strip():
        raise NoticeError("That is more than 72 hours after the company became aware: give the reasons for the "
                          "delay (Article 33(1)).")
    incident.authority_notified_at, incident.updated_at = told, moment
    incident.authority_notification = required_text(how, "How the authority was told")
    if delay_reasons.strip():
        incident.delay_reasons = required_text(delay_reasons, "The reasons for the delay")
    _audit(session, actor, "incident.authority_notified", incident, late=late)
    session.commit()


def close_incident(session: Session, actor: Actor, incident: Incident, now: dt.datetime | None = None) -> None:
    if incident.status_enum is Status.CLOSED:
        raise NoticeError("This incident is closed already.")
    moment = as_utc(now) if now else utcnow()
    incident.status, incident.closed_at, incident.updated_at = Status.CLOSED.value, moment, moment
    _audit(session, actor, "incident.closed", incident)
    session.commit()


def tenants_of(session: Session, incident: Incident) -> list[str]:
    return list(session.scalars(select(IncidentTenant.org_id).where(IncidentTenant.incident_id == incident.id)))


def customers(session: Session) -> list[Organisation]:
    """The organisations an incident may affect."""
    orgs = list(session.scalars(select(Organisation).where(Organisation.kind == CUSTOMER)))
    return sorted(orgs, key=lambda org: (org.display_name or "").lower())


@dataclass(frozen=True)
class Clock:
    """The two clocks: the authority's 72 hours, and the time customers have waited."""

    authority_deadline: dt.datetime
    authority_hours_left: float | None  # None once the authority was told
    hours_to_customers: float  # until the first notice, or until now while none is published
    customers_told: bool


def clock_of(incident: Incident, now: dt.datetime | None = None) -> Clock:
    moment = as_utc(now) if now else utcnow()
    aware = as_utc(incident.aware_at)
    left = None if incident.authority_notified_at else (as_utc(incident.authority_deadline) - moment)
    customers_at = as_utc(incident.customers_notified_at) if incident.customers_notified_at else moment
    return Clock(as_utc(incident.authority_deadline), left.total_seconds() / 3600 if left is not None else None,
                 (customers_at - aware).total_seconds() / 3600, incident.customers_notified_at is not None)


# -- the register -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterFilters:
    since: dt.date | None = None
    until: dt.date | None = None
    severity: Severity | None = None


def register(session: Session, filters: RegisterFilters) -> list[Incident]:
    """Every incident, notified or not (Art. 33(5)), newest awareness first."""
    query = select(Incident).order_by(Incident.aware_at.desc(), Incident.id)
    if filters.since:
        query = query.where(Incident.aware_at >= _start_of(filters.since))
    if filters.until and filters.until < dt.date.max:  # the last day there is leaves nothing out
        query = query.where(Incident.aware_at < _start_of(filters.until + dt.timedelta(days=1)))
    if filters.severity:
        query = query.where(Incident.severity == filters.severity.value)
    return list(session.scalars(query))


REGISTER_COLUMNS = ["reference", "title", "status", "severity", "aware_at", "recorded_at", "authority_deadline",
                    "authority_notified_at", "authority_notification", "delay_reasons", "customers_notified_at",
                    "hours_to_customers", "affected_customers", "nature", "people_affected", "records_affected",
                    "consequences", "measures", "contact", "notices_published", "closed_at"]


def register_rows(session: Session, incidents: list[Incident]) -> Iterator[list[str]]:
    """The register's rows for CSV, one per incident (the header is REGISTER_COLUMNS)."""
    names = {org.id: org.display_name for org in customers(session)}
    published = dict(session.execute(select(Notice.incident_id, func.count()).where(Notice.state == PUBLISHED)
                                     .group_by(Notice.incident_id)).all())
    for incident in incidents:
        affected = "all customers" if incident.all_customers else "; ".join(
            sorted(names.get(org_id, org_id) for org_id in tenants_of(session, incident)))
        clock = clock_of(incident)
        yield [value or "" for value in (
            incident.reference, incident.title, incident.status, incident.severity, _iso(incident.aware_at),
            _iso(incident.recorded_at), _iso(incident.authority_deadline), _iso(incident.authority_notified_at),
            incident.authority_notification, incident.delay_reasons, _iso(incident.customers_notified_at),
            f"{clock.hours_to_customers:.1f}" if clock.customers_told else "", affected, incident.nature,
            incident.people_affected, incident.records_affected, incident.consequences, incident.measures,
            incident.contact, str(published.get(incident.id, 0)), _iso(incident.closed_at))]


# -- notices --------------------------------------------------------------------------------------------------

def notices_of(session: Session, incident: Incident) -> list[Notice]:
    return list(session.scalars(select(Notice).where(Notice.incident_id == incident.id)
                                .order_by(Notice.created_at, Notice.id)))


def draft_notice(session: Session, actor: Actor, incident: Incident, phase: Phase, title: str, body: str,
                 now: dt.datetime | None = None) -> Notice:
    moment = as_utc(now) if now else utcnow()
    if incident.status_enum is Status.CLOSED:
        raise NoticeError("This incident is closed: no further notices can be written about it.")
    _check_phase(session, incident, phase)
    notice = Notice(incident_id=incident.id, data_key_id=incident.data_key_id, phase=phase.value, state=DRAFT,
                    created_at=moment, created_by=actor.user.id, title=one_line(title, "The title"),
                    body=required_text(body, "The notice"))
    session.add(notice)
    session.flush()
    _audit(session, actor, "notice.drafted", incident, notice_id=notice.id, phase=phase.value)
    session.commit()
    return notice


def _check_phase(session: Session, incident: Incident, phase: Phase) -> None:
    """Art. 33(4)'s order: one initial notice first, then updates and the close."""
    published = [n for n in notices_of(session, incident) if n.state == PUBLISHED]
    if phase is Phase.INITIAL and any(n.phase_enum is Phase.INITIAL for n in published):
        raise NoticeError("The initial notice is published already: write an update.")
    if phase is not Phase.INITIAL and not published:
        raise NoticeError("Publish the initial notice first.")


def ask_for_approval(session: Session, actor: Actor, incident: Incident, notice: Notice) -> None:
    """Staff cannot publish: they hand the draft to the Data Protection Officer."""
    if notice.state != DRAFT:
        raise NoticeError("Only a draft can be sent for approval.")
    notice.state = AWAITING_APPROVAL
    _audit(session, actor, "notice.approval_requested", incident, notice_id=notice.id)
    session.commit()


def publish(session: Session, actor: Actor, incident: Incident, notice: Notice,
            now: dt.datetime | None = None) -> None:
    """The DPO publishes (a draft of theirs, or one staff sent for approval); the worker delivers it."""
    if not actor.is_dpo:
        raise NoticeError("Only the Data Protection Officer can publish a notice: send it for approval.")
    if notice.state == PUBLISHED:
        raise NoticeError("This notice is published already.")
    if incident.status_enum is Status.CLOSED:
        raise NoticeError("This incident is closed.")
    if not incident.all_customers and not tenants_of(session, incident):
        raise NoticeError("Choose the customers this incident affects before publishing.")
    _check_phase(session, incident, notice.phase_enum)
    moment = as_utc(now) if now else utcnow()
    approved = notice.state == AWAITING_APPROVAL
    notice.state, notice.published_at, notice.approved_by = PUBLISHED, moment, actor.user.id
    if incident.customers_notified_at is None:
        incident.customers_notified_at = moment
    incident.updated_at = moment
    _audit(session, actor, "notice.published", incident, notice_id=notice.id, phase=notice.phase,
           approved_from_staff=approved)
    session.commit()


# -- delivery -------------------------------------------------------------------------------------------------

def message_id_for(notice_id: str, user_id: str, mail_number: int = 1) -> str:
    """The same Message-ID however often the same mail is queued: receivers drop a duplicate by it."""
    suffix = "" if mail_number == 1 else f".{mail_number}"
    return f"<notice-{notice_id}.{user_id}{suffix}@trustcenter>"


def _recipients(incident: Incident):  # noqa: ANN202 - an SQL query
    """Every user of the affected customers, except the erased (nothing is left to write to). People who
    restricted processing or objected to updates still get notices: they are required by law."""
    query = select(User).join(Organisation, Organisation.id == User.org_id).where(
        Organisation.kind == CUSTOMER, User.status != ERASED)
    if not incident.all_customers:
        query = query.where(User.org_id.in_(select(IncidentTenant.org_id)
                                            .where(IncidentTenant.incident_id == incident.id)))
    return query


def claim_fanout(session: Session, worker_id: str, now: dt.datetime | None = None) -> Notice | None:
    """Take a published notice not yet delivered to everyone, under a lease (a lost worker's expires)."""
    moment = as_utc(now) if now else utcnow()
    waiting = and_(Notice.state == PUBLISHED, Notice.fanout_done_at.is_(None),
                   or_(Notice.fanout_owner.is_(None), Notice.fanout_until < moment))
    for candidate in session.scalars(select(Notice.id).where(waiting).order_by(Notice.published_at).limit(5)):
        taken = session.execute(update(Notice).where(Notice.id == candidate, waiting).values(
            fanout_owner=worker_id, fanout_until=moment + FANOUT_LEASE),
            execution_options={"synchronize_session": False})
        session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Notice, candidate)
    return None


def fan_out(session: Session, worker_id: str, compose: Compose, batch: int = FANOUT_BATCH,
            now: dt.datetime | None = None, texting: bool = False) -> int:
    """Queue a published notice's mails (and, with `texting`, text messages to those who gave a mobile
    number), a batch at a time; returns how many people were reached."""
    notice = claim_fanout(session, worker_id, now)
    if notice is None:
        return 0
    incident = session.get(Incident, notice.incident_id)
    assert incident is not None
    subject, text, html = compose(notice, incident)
    queued = 0
    while True:
        # Everyone it is for who has no mail yet: also people who joined, or customers added, since publication.
        mailed = exists().where(NoticeReceipt.notice_id == notice.id, NoticeReceipt.user_id == User.id,
                                NoticeReceipt.mails > 0)
        people = list(session.scalars(_recipients(incident).where(~mailed).order_by(User.id).limit(batch)))
        keys_of(session).data_aeads([person.data_key_id for person in people])  # one key-store query a batch
        moment = as_utc(now) if now else utcnow()
        # People who opened or acknowledged the notice before the fan-out reached them have a receipt already.
        existing = {r.user_id: r for r in session.scalars(select(NoticeReceipt).where(
            NoticeReceipt.notice_id == notice.id, NoticeReceipt.user_id.in_([p.id for p in people])))}
        for person in people:
            receipt = existing.get(person.id)
            if receipt is None:
                receipt = NoticeReceipt(notice_id=notice.id, user_id=person.id, org_id=person.org_id, mails=0)
                session.add(receipt)
            mail = queue_mail(session, to=person.email, subject=subject, text=text, html=html,
                              message_id=message_id_for(notice.id, person.id), flush=False)  # written per batch
            receipt.mailed_at, receipt.mail_id, receipt.mails = moment, mail.id, 1
            if texting and person.phone:
                receipt.sms_state, receipt.sms_next_at = SMS_PENDING, moment
        # The batch and its receipts commit together, under our lease only.
        done = len(people) < batch
        moved = session.execute(update(Notice).where(Notice.id == notice.id, Notice.fanout_owner == worker_id).values(
            recipients=Notice.recipients + len(people), fanout_until=moment + FANOUT_LEASE,
            fanout_done_at=moment if done else None, fanout_owner=None if done else worker_id),
            execution_options={"synchronize_session": False})
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()  # our lease was taken over: the other worker carries on from the last commit
            return queued
        if done:
            audit.record(session, "notice.delivered", actor_label="system", subject_type="incident",
                         subject_id=incident.id, details={"notice_id": notice.id, "recipients": notice.recipients
                                                          + len(people)})
        session.commit()
        queued += len(people)
        if done:
            return queued
        session.expire(notice)


# -- text messages ----------------------------------------------------------------------------------------------

SMS_PENDING, SMS_SENDING, SMS_SENT, SMS_FAILED = "pending", "sending", "sent", "failed"
SMS_LEASE = dt.timedelta(minutes=2)
SMS_MAX_ATTEMPTS = 6
# (notice, incident) -> the text: the same for everyone, naming nobody.
TextFor = Callable[[Notice, Incident], str]


def _sms_due(moment: dt.datetime):  # noqa: ANN202 - an SQL expression
    return or_(and_(NoticeReceipt.sms_state == SMS_PENDING, NoticeReceipt.sms_next_at <= moment),
               and_(NoticeReceipt.sms_state == SMS_SENDING, NoticeReceipt.sms_until < moment))


def send_texts(session: Session, sender: SmsSender, worker_id: str, text_for: TextFor, batch: int = 20,
               now: dt.datetime | None = None) -> int:
    """Send due text messages, each claimed under a lease by a conditional UPDATE; returns how many were sent.

    Each claim and outcome is timed when it happens, and the batch stops at half a lease, so no text is sent
    under a lease that has run out (another worker could send it again).
    """
    clock = (lambda: as_utc(now)) if now is not None else utcnow
    started = time.monotonic()
    sent = 0
    texts: dict[str, str] = {}
    for receipt_id in list(session.scalars(select(NoticeReceipt.id).where(_sms_due(clock()))
                                           .order_by(NoticeReceipt.sms_next_at).limit(batch))):
        if time.monotonic() - started > SMS_LEASE.total_seconds() / 2:
            break  # the rest stay due for the next round
        moment = clock()
        claimed = session.execute(update(NoticeReceipt).where(NoticeReceipt.id == receipt_id, _sms_due(moment))
                                  .values(sms_state=SMS_SENDING, sms_owner=worker_id, sms_until=moment + SMS_LEASE,
                                          sms_attempts=NoticeReceipt.sms_attempts + 1),
                                  execution_options={"synchronize_session": False})
        session.commit()
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker took it
        receipt = session.get(NoticeReceipt, receipt_id)
        person = session.get(User, receipt.user_id) if receipt else None
        notice = session.get(Notice, receipt.notice_id) if receipt else None
        if receipt is None or person is None or notice is None or not person.phone or person.status == ERASED:
            _sms_outcome(session, receipt_id, worker_id, sms_state=SMS_FAILED, sms_error="no number")
            continue
        if notice.id not in texts:
            incident = session.get(Incident, notice.incident_id)
            assert incident is not None
            texts[notice.id] = text_for(notice, incident)
        to, attempts = person.phone, receipt.sms_attempts
        session.rollback()  # no transaction held open while the provider answers
        try:
            sender.send(to, texts[notice.id])
        except SmsError as error:
            final = error.permanent or attempts >= SMS_MAX_ATTEMPTS
            _sms_outcome(session, receipt_id, worker_id, sms_state=SMS_FAILED if final else SMS_PENDING,
                         sms_error=str(error)[:64], sms_next_at=clock() + backoff(attempts))
            continue
        if _sms_outcome(session, receipt_id, worker_id, sms_state=SMS_SENT, sms_sent_at=clock(), sms_error=None):
            sent += 1
    return sent


def _sms_outcome(session: Session, receipt_id: str, worker_id: str, **values: object) -> bool:
    """Record what happened, only while this worker still holds the lease; commits."""
    done = session.execute(update(NoticeReceipt).where(NoticeReceipt.id == receipt_id,
                                                       NoticeReceipt.sms_owner == worker_id,
                                                       NoticeReceipt.sms_state == SMS_SENDING)
                           .values(sms_owner=None, sms_until=None, **values),
                           execution_options={"synchronize_session": False})
    session.commit()
    return done.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def _receipt(session: Session, user: User, notice: Notice) -> NoticeReceipt:
    """The user's receipt, made if the fan-out has not reached them yet (the unique pair decides races)."""
    found = session.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id == notice.id,
                                                        NoticeReceipt.user_id == user.id)).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            receipt = NoticeReceipt(notice_id=notice.id, user_id=user.id, org_id=user.org_id, mails=0)
            session.add(receipt)
        return receipt
    except IntegrityError:
        return session.scalars(select(NoticeReceipt).where(NoticeReceipt.notice_id == notice.id,
                                                           NoticeReceipt.user_id == user.id)).one()


def mark_read(session: Session, user: User, notice: Notice, now: dt.datetime | None = None) -> NoticeReceipt:
    """Record that the user opened the notice; returns their receipt."""
    receipt = _receipt(session, user, notice)
    if receipt.read_at is None:
        receipt.read_at = as_utc(now) if now else utcnow()
        session.commit()
    return receipt


def acknowledge(session: Session, user: User, notice: Notice, ip: str | None,
                now: dt.datetime | None = None) -> None:
    receipt = _receipt(session, user, notice)
    moment = as_utc(now) if now else utcnow()
    if receipt.acknowledged_at is None:
        receipt.read_at = receipt.read_at or moment
        receipt.acknowledged_at = moment
        audit.record(session, "notice.acknowledged", actor_id=user.id, actor_label=user.role, subject_type="notice",
                     subject_id=notice.id, org_id=user.org_id, ip=ip)
    session.commit()


DELIVERY_SHOWN = 200  # people listed on the page; the counts cover everyone


@dataclass(frozen=True)
class Delivery:
    """Who a notice reached: everyone it is for, and each one's receipt (None: not reached yet)."""

    people: list[tuple[User, NoticeReceipt | None]]
    mail_states: dict[str, str]  # outbox message id -> pending, sending, sent, failed

    @property
    def counts(self) -> dict[str, int]:
        receipts = [r for _, r in self.people if r is not None]
        return {"recipients": len(self.people), "mailed": sum(1 for r in receipts if r.mails),
                "delivered": sum(1 for r in receipts if self.mail_states.get(r.mail_id or "") == "sent"),
                "texted": sum(1 for r in receipts if r.sms_state == SMS_SENT),
                "read": sum(1 for r in receipts if r.read_at), "acknowledged": sum(
                    1 for r in receipts if r.acknowledged_at)}

    @property
    def shown(self) -> list[tuple[User, NoticeReceipt | None]]:
        """Those to follow up first (not acknowledged), then the rest, up to DELIVERY_SHOWN."""
        waiting = [pair for pair in self.people if pair[1] is None or pair[1].acknowledged_at is None]
        done = [pair for pair in self.people if pair[1] is not None and pair[1].acknowledged_at is not None]
        return (waiting + done)[:DELIVERY_SHOWN]


def delivery(session: Session, incident: Incident, notice: Notice) -> Delivery:
    from trustcenter.notify.models import OutboxMessage

    receipts = {r.user_id: r for r in session.scalars(select(NoticeReceipt)
                                                       .where(NoticeReceipt.notice_id == notice.id))}
    people = list(session.scalars(_recipients(incident).order_by(User.org_id, User.id)))
    states = dict(session.execute(select(OutboxMessage.id, OutboxMessage.status).join(
        NoticeReceipt, NoticeReceipt.mail_id == OutboxMessage.id).where(NoticeReceipt.notice_id == notice.id)).all())
    return Delivery([(person, receipts.get(person.id)) for person in people], states)


def delivery_viewed(session: Session, actor: Actor, incident: Incident, notice: Notice) -> None:
    _audit(session, actor, "notice.delivery_viewed", incident, notice_id=notice.id)
    session.commit()


def register_downloaded(session: Session, actor: Actor, incidents: int) -> None:
    audit.record(session, "incident.register_downloaded", actor_id=actor.user.id, actor_label=actor.user.role,
                 org_id=actor.user.org_id, ip=actor.ip, details={"incidents": incidents})
    session.commit()


def resend(session: Session, actor: Actor, incident: Incident, notice: Notice, compose: Compose) -> int:
    """Mail the notice again to everyone who has it but has not acknowledged it; returns how many."""
    if notice.state != PUBLISHED or notice.fanout_done_at is None:
        raise NoticeError("The notice is still being delivered; resend once it has reached everyone.")
    moment = utcnow()
    recent = and_(Notice.resent_at.is_not(None), Notice.resent_at > moment - RESEND_PAUSE)
    taken = session.execute(update(Notice).where(Notice.id == notice.id, ~recent).values(resent_at=moment),
                            execution_options={"synchronize_session": False})
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise NoticeError("It was sent again a few minutes ago. Give people time to read it before sending again.")
    subject, text, html = compose(notice, incident)
    count = 0
    pending = session.execute(select(NoticeReceipt, User).join(User, User.id == NoticeReceipt.user_id).where(
        NoticeReceipt.notice_id == notice.id, NoticeReceipt.acknowledged_at.is_(None), User.status != ERASED))
    for receipt, person in pending:
        receipt.mails += 1
        mail = queue_mail(session, to=person.email, subject=subject, text=text, html=html,
                          message_id=message_id_for(notice.id, person.id, receipt.mails))
        receipt.mail_id, receipt.mailed_at = mail.id, utcnow()
        count += 1
    _audit(session, actor, "notice.resent", incident, notice_id=notice.id, recipients=count)
    session.commit()
    return count


# -- helpers ----------------------------------------------------------------------------------------------------

def _set_facts(incident: Incident, facts: Facts) -> None:
    incident.title = one_line(facts.title, "The title")
    incident.nature = required_text(facts.nature, "The nature of the breach")
    for name in ("people_affected", "records_affected", "consequences", "measures", "contact"):
        setattr(incident, name, optional_text(getattr(facts, name)))


def _set_tenants(session: Session, incident: Incident, tenants: list[str] | None) -> None:
    chosen = set(tenants or ())
    known = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(chosen),
                                                              Organisation.kind == CUSTOMER))) if chosen else set()
    if chosen - known:
        raise NoticeError("One of the chosen customers no longer exists; choose again.")
    current = set(tenants_of(session, incident))
    for org_id in current - chosen:
        session.delete(session.get(IncidentTenant, (incident.id, org_id)))
    session.add_all(IncidentTenant(incident_id=incident.id, org_id=org_id) for org_id in chosen - current)
    session.flush()


EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def _aware_time(moment: dt.datetime, now: dt.datetime) -> dt.datetime:
    value = as_utc(moment)
    if value > now + dt.timedelta(minutes=5):
        raise NoticeError("That time is in the future: give the time it happened.")
    if value < EARLIEST:
        raise NoticeError("That date is too far back: check the year.")
    return value


def required_text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    cleaned = (value or "").strip()
    if not cleaned:
        raise NoticeError(f"{what} is needed.")
    if len(cleaned) > limit:
        raise NoticeError(f"{what} is too long: {limit:,} characters at most.")
    return cleaned


def one_line(value: str, what: str, limit: int = 200) -> str:
    """A title: it becomes a mail's subject, so one line of printable text (no line or paragraph separators)."""
    text = required_text(value, what, limit)
    if len(text.splitlines()) > 1 or any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in text):
        raise NoticeError(f"{what} must be one line of text.")
    return text


def optional_text(value: str) -> str | None:
    cleaned = (value or "").strip()
    if len(cleaned) > MAX_TEXT:
        raise NoticeError(f"Each answer can be {MAX_TEXT:,} characters at most.")
    return cleaned or None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def _iso(moment: dt.datetime | None) -> str:
    return as_utc(moment).isoformat(timespec="minutes") if moment else ""


def _audit(session: Session, actor: Actor, action: str, incident: Incident, **details: object) -> None:
    audit.record(session, action, actor_id=actor.user.id, actor_label=actor.user.role, subject_type="incident",
                 subject_id=incident.id, org_id=actor.user.org_id, ip=actor.ip, details=details)
