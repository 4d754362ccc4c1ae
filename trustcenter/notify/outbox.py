"""Queue mail inside the caller's transaction; deliver it later, at most once per worker claim.

A message exists iff the change that caused it commits. Workers claim due
messages under a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: a
conditional UPDATE), send each one, and record the outcome in its own commit.
A lease left behind by a killed worker expires and the message is taken again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import smtplib
import time
from dataclasses import dataclass, fields
from typing import Callable

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from trustcenter.crypto import CryptoError
from trustcenter.db import as_utc, new_id, utcnow
from trustcenter.notify.models import FAILED, PENDING, SENDING, SENT, OutboxMessage, new_message_id
from trustcenter.notify.transports import Mail, Transport

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# The headers a caller may add; the rest are the transport's (From, To, Date, Message-ID…).
EXTRA_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id"})
LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=1)
JITTER = 0.1  # up to +10 %, so a burst of failures does not retry in lockstep


def queue_mail(session: Session, *, to: str, subject: str, text: str, html: str,
               message_id: str | None = None, headers: dict[str, str] | None = None,
               flush: bool = True) -> OutboxMessage:
    """Add a mail to the outbox in the caller's transaction (flushed, never committed).

    `message_id` names the mail for good (unique in the outbox): a caller that may queue the same mail
    twice, such as a fan-out retried after a crash, passes one made from what the mail is about.
    `flush=False` leaves the INSERT to the caller's next flush, so a batch of mails is written together.
    """
    _check(to=to, subject=subject, text=text, html=html)
    for name, value in (headers or {}).items():
        if name.lower() not in EXTRA_HEADERS or len(value.splitlines()) > 1 or "\r" in value or "\n" in value:
            raise ValueError(f"queue_mail: header {name} is not allowed, or not a single line")
    now = utcnow()
    message = OutboxMessage(id=new_id(), message_id=message_id or new_message_id(), created_at=now, status=PENDING,
                            attempts=0, next_attempt_at=now, recipient=to.strip(), subject=subject,
                            text_body=text, html_body=html, headers=headers or None)
    session.add(message)
    if flush:
        session.flush()
    return message


def _check(**values: str) -> None:
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"queue_mail: {name} is required")
    for name in ("to", "subject"):
        # Every line break Python's mail headers refuse, not only CR and LF (U+2028, NEL, VT, FF…).
        if len(values[name].splitlines()) > 1 or "\r" in values[name] or "\n" in values[name]:
            raise ValueError(f"queue_mail: {name} must be a single line")
    if "@" not in values["to"] or "," in values["to"]:
        raise ValueError("queue_mail: to must be one e-mail address")


@dataclass
class DeliveryReport:
    """What one batch (or a whole worker run) did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    def __str__(self) -> str:
        text = f"{self.claimed} claimed, {self.sent} sent, {self.retrying} to retry, {self.failed} failed"
        return text + (f", {self.released} released" if self.released else "")


def deliver_batch(session_factory: Callable[[], Session], transport: Transport, worker_id: str,
                  batch: int = 20, now: dt.datetime | None = None) -> DeliveryReport:
    """Claim up to `batch` due messages and send them, committing each outcome on its own."""
    clock = (lambda: as_utc(now)) if now is not None else utcnow
    started = time.monotonic()
    session = session_factory()
    try:
        ids = claim(session, worker_id, batch, clock())
        report = DeliveryReport(claimed=len(ids))
        for position, message_id in enumerate(ids):
            if time.monotonic() - started > LEASE.total_seconds() / 2:
                # Better to hand the rest back than to send after our lease has run out.
                report.released += release(session, ids[position:], worker_id)
                break
            outcome = _deliver_one(session, transport, worker_id, message_id, clock)
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report
    finally:
        session.close()


def _due(now: dt.datetime):  # noqa: ANN202 - an SQL expression
    return or_(
        and_(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == SENDING, OutboxMessage.locked_until < now),  # a lost worker's lease
    )


def claim(session: Session, worker_id: str, batch: int, now: dt.datetime) -> list[str]:
    """Take due messages under a lease for `worker_id` and commit; returns their ids."""
    taken = dict(status=SENDING, locked_by=worker_id, locked_until=now + LEASE,
                 attempts=OutboxMessage.attempts + 1)
    oldest_first = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.next_attempt_at)
    claimed: list[str] = []
    if session.get_bind().dialect.name == "postgresql":
        claimed = list(session.scalars(oldest_first.limit(batch).with_for_update(skip_locked=True)))
        if claimed:
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(claimed)).values(**taken)
                            .execution_options(synchronize_session=False))
    else:
        # No row locks: each UPDATE re-checks that the message is still due, so one worker wins;
        # extra candidates let a worker that loses a race still fill its batch.
        for candidate in list(session.scalars(oldest_first.limit(batch * 3))):
            result = session.execute(update(OutboxMessage).where(OutboxMessage.id == candidate, _due(now))
                                     .values(**taken).execution_options(synchronize_session=False))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(candidate)
                if len(claimed) == batch:
                    break
    session.commit()
    return claimed


def release(session: Session, ids: list[str], worker_id: str) -> int:
    """Hand claimed but unsent messages back without counting an attempt."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.locked_by == worker_id, OutboxMessage.status == SENDING)
        .values(status=PENDING, locked_by=None, locked_until=None, attempts=OutboxMessage.attempts - 1)
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


def _deliver_one(session: Session, transport: Transport, worker_id: str, message_id: str,
                 clock: Callable[[], dt.datetime]) -> str:
    message = session.get(OutboxMessage, message_id)
    if message is None:  # deleted since the claim
        return "released"
    attempts, outbox_id = message.attempts, message.message_id
    if attempts > MAX_ATTEMPTS:  # only after repeatedly lost leases: never try forever
        _finish(session, message_id, worker_id, status=FAILED, last_error="LeaseExpired")
        return "failed"
    try:
        mail = to_mail(message)
        session.rollback()  # hold no transaction open during the SMTP conversation
        transport.send(mail)
    except Exception as exc:  # any failure to hand over: record it, keep the message
        session.rollback()  # in case the failure was the database's
        summary, permanent = describe(exc)
        if permanent or attempts >= MAX_ATTEMPTS:
            _finish(session, message_id, worker_id, status=FAILED, last_error=summary)
            log.warning("mail %s failed after %d attempt(s): %s", outbox_id, attempts, summary)
            return "failed"
        retry_at = clock() + backoff(attempts)
        _finish(session, message_id, worker_id, status=PENDING, last_error=summary, next_attempt_at=retry_at)
        log.info("mail %s not sent (%s); attempt %d, next at %s", outbox_id, summary, attempts,
                 retry_at.isoformat(timespec="seconds"))
        return "retrying"
    if not _finish(session, message_id, worker_id, status=SENT, sent_at=clock(), last_error=None):
        log.warning("mail %s was sent after its lease expired; another worker may send it again", outbox_id)
    return "sent"


def _finish(session: Session, message_id: str, worker_id: str, **values: object) -> bool:
    """Record an outcome, only if this worker still holds the lease; commits."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.locked_by == worker_id,
               OutboxMessage.status == SENDING)
        .values(locked_by=None, locked_until=None, **values)
        .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def to_mail(message: OutboxMessage) -> Mail:
    """Decrypt a message for sending."""
    return Mail(message_id=message.message_id, to=message.recipient, subject=message.subject,
                text=message.text_body, html=message.html_body, date=as_utc(message.created_at),
                headers=tuple((message.headers or {}).items()))


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h, plus a little jitter."""
    delay = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return delay * (1 + random.uniform(0, JITTER))


def describe(exc: BaseException) -> tuple[str, bool]:
    """A short, personal-data-free summary of a failure, and whether retrying is pointless."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"{name} {'/'.join(map(str, codes))}", bool(codes) and all(500 <= c < 600 for c in codes)
    if isinstance(exc, smtplib.SMTPDataError):
        return f"{name} {exc.smtp_code}", 500 <= exc.smtp_code < 600  # the content itself was refused
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}", False  # sender or login refused: fix the settings, then it goes
    if isinstance(exc, CryptoError):
        return name, True  # the key is gone (shredded): the mail can never be read again
    if isinstance(exc, OSError) and exc.errno:
        return f"{name} errno {exc.errno}", False
    return name, False


def purge(session: Session, older_than: dt.timedelta = dt.timedelta(days=35),
          now: dt.datetime | None = None) -> int:
    """Delete sent and failed messages created before `older_than` ago; the caller commits."""
    cutoff = as_utc(now) - older_than if now is not None else utcnow() - older_than
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.status.in_((SENT, FAILED)),
                                                         OutboxMessage.created_at < cutoff))
    return result.rowcount  # type: ignore[attr-defined,no-any-return]

