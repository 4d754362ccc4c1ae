"""`trustcenter worker` against a real SMTP server."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tests.conftest import csrf_token_from
from trustcenter import notify
from trustcenter.notify import queue_mail
from trustcenter.notify.cli import _stop_on_signals, worker_command


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False, "MAIL_FROM": "Example Privacy <privacy@example.com>"}


def test_worker_command_once_delivers_and_exits(app, runner, session, smtp_server):
    notify.init_app(app)
    app.cli.add_command(worker_command)
    queued = [queue_mail(session, to=f"p{n}@example.com", subject="Hello", text="t", html="<p>h</p>").message_id
              for n in range(3)]
    session.commit()

    result = runner.invoke(args=["worker", "--once", "--batch", "2", "--poll", "0.1"])

    assert result.exit_code == 0, result.output
    assert smtp_server.mailbox.count_by_message_id() == {m: 1 for m in queued}
    assert {m["From"] for m in smtp_server.mailbox.messages} == {"Example Privacy <privacy@example.com>"}


def test_worker_command_answers_password_reset_requests(app, client, runner, people, smtp_server):
    page = client.get("/account/reset")
    client.post("/account/reset", data={"email": people["a_member"].email,
                                         "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert smtp_server.mailbox.messages == []  # the web request only queued it

    result = runner.invoke(args=["worker", "--once", "--poll", "0.1"])

    assert result.exit_code == 0, result.output
    [mail] = smtp_server.mailbox.messages
    assert mail["To"] == people["a_member"].email and "Reset your" in mail["Subject"]


def test_sigterm_asks_the_worker_to_stop_after_the_current_mail():
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    previous = _stop_on_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(timeout=1)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert signal.getsignal(signal.SIGTERM) is before
