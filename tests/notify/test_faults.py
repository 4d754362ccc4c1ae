"""Fault tests: SMTP down, a crash after the server accepted, two workers racing for the same mail."""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import func, select

from tests.conftest import new_session
from trustcenter.notify import deliver_batch
from trustcenter.notify.models import PENDING, SENT, OutboxMessage
from trustcenter.db import as_utc
from tests.notify.test_outbox import deliver, later, queue, reload


def test_smtp_down_keeps_the_mail_and_delivers_it_once_when_back(session, smtp_down):
    message = queue(session)
    session.commit()
    transport = smtp_down.transport()

    report = deliver(transport)

    assert (report.claimed, report.retrying, report.sent) == (1, 1, 0)
    stored = reload(message.message_id)
    assert stored.status == PENDING and stored.attempts == 1
    assert as_utc(stored.next_attempt_at) > dt.datetime.now(dt.timezone.utc)
    assert stored.last_error.startswith("ConnectionRefusedError")
    assert stored.locked_by is None

    smtp_down.start()
    assert deliver(transport).claimed == 0  # not due yet: the backoff is respected
    report = deliver(transport, now=later(hours=2))

    assert report.sent == 1
    assert smtp_down.mailbox.count_by_message_id() == {message.message_id: 1}
    assert reload(message.message_id).status == SENT
    assert deliver(transport, now=later(hours=4)).claimed == 0


class AcceptedThenCrashed:
    """Sends, then fails as if the worker died before recording it: the one window left."""

    def __init__(self, inner) -> None:
        self.inner, self.crashed = inner, False

    def send(self, mail) -> None:
        self.inner.send(mail)
        if not self.crashed:
            self.crashed = True
            raise ConnectionResetError("lost after the server accepted")


def test_a_retry_after_the_unrecorded_window_reuses_the_message_id(session, smtp_server):
    message = queue(session)
    session.commit()
    transport = AcceptedThenCrashed(smtp_server.transport())

    deliver(transport)
    deliver(transport, now=later(hours=2))

    # The receiving side gets the same Message-ID twice and can drop the second copy.
    assert smtp_server.mailbox.count_by_message_id() == {message.message_id: 2}
    assert reload(message.message_id).status == SENT


def unsent() -> int:
    with new_session() as fresh:
        return fresh.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != SENT))


def test_two_workers_deliver_thirty_mails_exactly_once(session, smtp_server):
    queued = {queue(session, to=f"person{n}@example.com", n=n).message_id for n in range(30)}
    session.commit()
    transport = smtp_server.transport()
    start = threading.Barrier(2)
    sent: dict[str, int] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait(timeout=5)
            total, deadline = 0, time.monotonic() + 30
            while time.monotonic() < deadline:
                report = deliver_batch(new_session, transport, name, batch=3)
                total += report.sent
                if not report.claimed and not unsent():
                    break
            sent[name] = total
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    assert sum(sent.values()) == 30
    counts = smtp_server.mailbox.count_by_message_id()
    assert set(counts) == queued
    assert set(counts.values()) == {1}
    with new_session() as fresh:
        assert set(fresh.scalars(select(OutboxMessage.status))) == {SENT}
