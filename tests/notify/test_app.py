"""Wiring: settings, production refusal, the in-process thread and `trustcenter worker`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trustcenter import notify
from trustcenter.config import ConfigError, resolve
from trustcenter.notify import FileTransport, SmtpTransport, make_transport, queue_mail, wants_thread

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"ENV": "production", "SECRET_KEY": "s" * 48, "SITE_URL": "https://trust.example.com"}


def test_smtp_settings_are_read_from_the_environment(tmp_path):
    config = resolve(None, {"TRUSTCENTER_MAIL_TRANSPORT": "smtp", "TRUSTCENTER_SMTP_HOST": "smtp.sendgrid.net",
                            "TRUSTCENTER_SMTP_PORT": "465", "TRUSTCENTER_SMTP_SSL": "yes",
                            "TRUSTCENTER_SMTP_USERNAME": "apikey", "TRUSTCENTER_SMTP_PASSWORD": "SG.x"},
                     tmp_path, ROOT)
    transport = make_transport(config, tmp_path)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.mode, transport.timeout) == ("smtp.sendgrid.net", 465,
                                                                                   "implicit", 10)


def test_development_and_testing_write_files_into_the_instance_folder(tmp_path):
    for env in ("development", "testing"):
        transport = make_transport(resolve({"ENV": env}, {}, tmp_path, ROOT), tmp_path)
        assert isinstance(transport, FileTransport) and transport.directory == tmp_path / "mail"


def test_production_refuses_smtp_without_a_host(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTCENTER_SMTP_HOST"):
        resolve(PRODUCTION, {}, tmp_path, ROOT)
    with pytest.raises(ConfigError, match="TRUSTCENTER_SMTP_HOST"):
        resolve({**PRODUCTION, "MAIL_TRANSPORT": "smtp"}, {}, tmp_path, ROOT)
    assert resolve({**PRODUCTION, "SMTP_HOST": "smtp.sendgrid.net"}, {}, tmp_path, ROOT)["SMTP_PORT"] == 587
    assert resolve({**PRODUCTION, "MAIL_TRANSPORT": "file"}, {}, tmp_path, ROOT)


def test_production_refuses_a_password_without_tls(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTCENTER_SMTP_STARTTLS"):
        resolve({**PRODUCTION, "SMTP_HOST": "mail", "SMTP_USERNAME": "u", "SMTP_STARTTLS": False}, {}, tmp_path, ROOT)


def test_unknown_transport_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="TRUSTCENTER_MAIL_TRANSPORT"):
        make_transport(resolve({"MAIL_TRANSPORT": "carrier-pigeon"}, {}, tmp_path, ROOT), tmp_path)


@pytest.mark.parametrize("env,setting,expected", [
    ("development", None, True), ("development", False, False), ("testing", None, False),
    ("testing", True, True), ("production", None, False), ("production", True, True),
])
def test_thread_runs_in_development_or_when_asked(env, setting, expected):
    assert wants_thread({"ENV": env, "MAIL_WORKER_THREAD": setting}) is expected


def test_no_thread_in_testing_by_default(app, client):
    notify.init_app(app)
    client.get("/")
    assert not app.extensions["mail_worker"].running


def test_thread_when_asked_starts_with_the_first_request_and_stops(app, client, session):
    app.config["MAIL_WORKER_THREAD"] = True
    notify.init_app(app)
    worker = app.extensions["mail_worker"]
    queue_mail(session, to="carol@example.com", subject="Welcome", text="Hi", html="<p>Hi</p>")
    session.commit()
    assert not worker.running

    client.get("/")
    try:
        assert worker.running
        folder = Path(app.instance_path) / "mail"
        deadline = time.monotonic() + 5
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(list(folder.glob("*.eml"))) == 1
    finally:
        worker.stop()
    assert not worker.running
