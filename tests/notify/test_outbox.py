"""The outbox against a real SMTP server: exactly once, nothing lost, nothing readable at rest."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, text, update

from tests.conftest import new_session
from trustcenter.notify import deliver_batch, queue_mail
from trustcenter.notify.models import FAILED, PENDING, SENDING, SENT, OutboxMessage
from trustcenter.db import as_utc
from trustcenter.notify.outbox import MAX_ATTEMPTS, purge

ALICE = "alice.liddell@example.com"
SUBJECT = "Your invitation to the Example trust center"


def queue(session, to: str = ALICE, subject: str = SUBJECT, n: int = 0) -> OutboxMessage:
    return queue_mail(session, to=to, subject=subject, text=f"Hello Alice, number {n}.",
                      html=f"<p>Hello <b>Alice</b>, number {n}.</p>")


def deliver(transport, now: dt.datetime | None = None, worker: str = "test-worker", batch: int = 20):
    return deliver_batch(new_session, transport, worker, batch=batch, now=now)


def reload(message_id: str) -> OutboxMessage:
    with new_session() as fresh:
        return fresh.scalars(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()


def later(**delta: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)


def test_queued_mail_is_delivered_once_with_text_and_html(session, smtp_server):
    message = queue(session)
    session.commit()

    report = deliver(smtp_server.transport())

    assert (report.claimed, report.sent) == (1, 1)
    [received] = smtp_server.mailbox.messages
    assert received["To"] == ALICE
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == message.message_id
    assert received["From"] == "Trust Center <no-reply@localhost>"
    assert received.get_content_type() == "multipart/alternative"
    assert received.get_body(("plain",)).get_content().strip() == "Hello Alice, number 0."
    assert "<b>Alice</b>" in received.get_body(("html",)).get_content()
    stored = reload(message.message_id)
    assert stored.status == SENT and stored.attempts == 1 and stored.sent_at is not None
    assert stored.locked_by is None and stored.last_error is None
    assert deliver(smtp_server.transport()).claimed == 0  # nothing left, nothing sent twice
    assert len(smtp_server.mailbox.messages) == 1


def test_message_id_is_a_unique_rfc5322_id(session):
    first, second = queue(session), queue(session)
    assert first.message_id != second.message_id
    assert first.message_id.startswith("<") and first.message_id.endswith("@trustcenter>")


def test_queue_mail_flushes_but_never_commits(session):
    queue(session)
    with new_session() as other:
        assert other.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_mail_queued_in_a_rolled_back_transaction_is_never_sent(session, smtp_server):
    queue(session)
    session.rollback()

    assert deliver(smtp_server.transport()).claimed == 0
    assert smtp_server.mailbox.messages == []
    with new_session() as fresh:
        assert fresh.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("missing", ["to", "subject", "text", "html"])
def test_every_part_of_a_mail_is_required(session, missing):
    fields = {"to": ALICE, "subject": SUBJECT, "text": "t", "html": "<p>h</p>", missing: "  "}
    with pytest.raises(ValueError, match=missing):
        queue_mail(session, **fields)


@pytest.mark.parametrize("to,subject", [(ALICE, "Hi\r\nBcc: eve@example.com"), ("a@example.com\nBcc: eve@x", "Hi"),
                                        ("a@example.com, eve@example.com", "Hi"), ("not-an-address", "Hi")])
def test_header_injection_and_several_recipients_are_refused(session, to, subject):
    with pytest.raises(ValueError):
        queue_mail(session, to=to, subject=subject, text="t", html="<p>h</p>")


def test_recipient_subject_and_bodies_are_not_stored_in_clear(session, database_url):
    message = queue(session)
    session.commit()
    assert message.recipient == ALICE  # readable through the model...

    with session.connection() as connection:  # ...but not in the table
        rows = connection.execute(text("SELECT * FROM mail_outbox")).all()
    dump = b"".join(bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                    for row in rows for value in row)
    for secret in (ALICE, "alice.liddell", SUBJECT, "invitation", "Hello Alice"):
        assert secret.encode() not in dump
    assert message.message_id.encode() in dump  # the Message-ID is an identifier, not personal data


def test_a_lease_left_by_a_killed_worker_expires_and_the_mail_is_sent_once(session, smtp_server):
    message = queue(session)
    session.commit()
    _pretend_claimed(message.id, by="killed-worker", until=later(minutes=-1))

    report = deliver(smtp_server.transport())

    assert report.sent == 1
    assert smtp_server.mailbox.count_by_message_id() == {message.message_id: 1}
    stored = reload(message.message_id)
    assert stored.status == SENT and stored.attempts == 2


def test_a_live_lease_is_left_alone(session, smtp_server):
    message = queue(session)
    session.commit()
    _pretend_claimed(message.id, by="busy-worker", until=later(minutes=4))

    assert deliver(smtp_server.transport()).claimed == 0
    assert smtp_server.mailbox.messages == []
    assert reload(message.message_id).status == SENDING


def _pretend_claimed(row_id: str, by: str, until: dt.datetime) -> None:
    with new_session() as other:
        other.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                      .values(status=SENDING, locked_by=by, locked_until=until, attempts=1))
        other.commit()


def test_a_recipient_refused_for_good_fails_at_once_without_personal_data(session, smtp_server):
    smtp_server.mailbox.refuse.add(ALICE)
    message = queue(session)
    session.commit()

    report = deliver(smtp_server.transport())

    assert (report.failed, report.retrying) == (1, 0)
    stored = reload(message.message_id)
    assert stored.status == FAILED and stored.attempts == 1
    assert stored.last_error == "SMTPRecipientsRefused 550"


def test_retries_stop_after_max_attempts(session, smtp_down):
    message = queue(session)
    session.commit()
    transport, now = smtp_down.transport(), later()

    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver(transport, now=now)
        assert report.claimed == 1
        stored = reload(message.message_id)
        assert stored.attempts == attempt
        now = as_utc(stored.next_attempt_at) + dt.timedelta(seconds=1)

    assert stored.status == FAILED
    assert stored.last_error.startswith("ConnectionRefusedError")
    assert deliver(transport, now=now + dt.timedelta(days=1)).claimed == 0


def test_sent_and_failed_mail_is_purged_after_retention(session, smtp_server):
    sent, waiting = queue(session, n=1), queue(session, n=2)
    session.commit()
    deliver(smtp_server.transport(), batch=1)

    assert purge(session, now=later(days=34)) == 0
    assert purge(session, now=later(days=36)) == 1
    session.commit()
    assert {m.message_id: m.status for m in session.scalars(select(OutboxMessage))} == {waiting.message_id: PENDING}
    assert sent.message_id in smtp_server.mailbox.count_by_message_id()


def test_a_failing_task_does_not_hold_up_the_mail(session, smtp_server):
    from trustcenter.notify import run_worker

    message = queue(session)
    session.commit()
    calls = []

    def broken() -> int:
        calls.append(1)
        raise RuntimeError("this task is broken")

    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(new_session, smtp_server.transport(), "w"),
                              kwargs={"poll": 0.05, "stop_event": stop, "tasks": [broken]})
    thread.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while not smtp_server.mailbox.messages and dt.datetime.now() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert calls and smtp_server.mailbox.count_by_message_id() == {message.message_id: 1}
