"""Transports: SMTP with STARTTLS and login, implicit TLS, plain; `.eml` files for development."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from trustcenter.notify import FileTransport, Mail, SmtpTransport
from tests.notify.conftest import SmtpServer, free_port

MAIL = Mail(message_id="<0b0e6f52-3a0c-4a55-9a1e-7c1c1f0f2b11@trustcenter>", to="bob@example.com",
            subject="Reset your password", text="Follow the link.", html="<p>Follow the link.</p>",
            date=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))


class Credentials:
    def __init__(self, username: bytes, password: bytes) -> None:
        self.expected, self.seen = (username, password), []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.seen.append(auth_data.login)
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected, handled=False)


@pytest.fixture
def starttls_server(server_tls):
    credentials = Credentials(b"apikey", b"SG.test-key")
    server = SmtpServer(free_port(), tls_context=server_tls, require_starttls=True,
                        authenticator=credentials, auth_require_tls=True).start()
    server.credentials = credentials
    yield server
    server.stop()


def test_starttls_with_login_like_a_relay(starttls_server, client_tls):
    transport = SmtpTransport("127.0.0.1", starttls_server.port, "apikey", "SG.test-key", starttls=True,
                              ssl=False, timeout=5, tls_context=client_tls)
    transport.send(MAIL)

    [received] = starttls_server.mailbox.messages
    assert received["Message-ID"] == MAIL.message_id
    assert received["Date"] == "Sun, 01 Mar 2026 12:00:00 +0000"
    assert starttls_server.credentials.seen == [b"apikey"]


def test_wrong_password_is_an_smtp_error(starttls_server, client_tls):
    transport = SmtpTransport("127.0.0.1", starttls_server.port, "apikey", "wrong", starttls=True,
                              ssl=False, timeout=5, tls_context=client_tls)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        transport.send(MAIL)
    assert starttls_server.mailbox.messages == []


def test_an_untrusted_certificate_is_refused(starttls_server):
    transport = SmtpTransport("127.0.0.1", starttls_server.port, "apikey", "SG.test-key", timeout=5)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        transport.send(MAIL)


def test_implicit_tls(server_tls, client_tls):
    server = SmtpServer(free_port(), ssl_context=server_tls).start()
    try:
        SmtpTransport("127.0.0.1", server.port, starttls=True, ssl=True, timeout=5, tls_context=client_tls).send(MAIL)
    finally:
        server.stop()
    assert [m["Subject"] for m in server.mailbox.messages] == ["Reset your password"]


def test_plain_smtp_without_username_does_not_log_in(smtp_server):
    smtp_server.transport().send(MAIL)
    assert len(smtp_server.mailbox.messages) == 1


def test_non_ascii_subject_and_bodies_survive(smtp_server):
    mail = Mail(message_id="<5d1c2f2e-8a77-4a07-a3a1-2f0f4c3b9e10@trustcenter>", to="zoë@example.com",
                subject="Bestätigen Sie Ihren Zugang – Schritt 2", text="Grüße", html="<p>Grüße ✓</p>",
                date=MAIL.date)
    smtp_server.transport().send(mail)
    [received] = smtp_server.mailbox.messages
    assert received["Subject"] == mail.subject
    assert received.get_body(("html",)).get_content().strip() == "<p>Grüße ✓</p>"


def test_repr_hides_the_password():
    transport = SmtpTransport("smtp.sendgrid.net", 587, "apikey", "SG.very-secret")
    assert "SG.very-secret" not in repr(transport)
    assert "bob@example.com" not in repr(MAIL)


def test_file_transport_writes_a_private_parseable_eml(tmp_path, caplog):
    transport = FileTransport(tmp_path / "mail", sender="Example <privacy@example.com>")
    with caplog.at_level(logging.INFO, logger="trustcenter.notify"):
        transport.send(MAIL)
        transport.send(MAIL)  # a retry overwrites, it does not add

    [path] = (tmp_path / "mail").glob("*.eml")
    assert path.stat().st_mode & 0o077 == 0
    message = BytesParser(policy=default_policy).parsebytes(path.read_bytes())
    assert message["From"] == "Example <privacy@example.com>"
    assert message["To"] == "bob@example.com"
    assert message["Message-ID"] == MAIL.message_id
    assert message.get_body(("plain",)).get_content().strip() == "Follow the link."
    assert message.get_body(("html",)).get_content().strip() == "<p>Follow the link.</p>"
    assert f"mail to bob@example.com written to {path}" in caplog.text
    assert "Follow the link" not in caplog.text


def test_the_envelope_goes_to_the_stored_address_only(smtp_server):
    """Whatever a header parser makes of the To field, the SMTP envelope names the address as stored."""
    import datetime as dt

    from trustcenter.notify import Mail

    import smtplib

    tricky = "=?utf-8?q?attacker=40evil.example=2c?=alice@corp.example"  # decodes to two recipients
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp_server.transport().send(Mail(message_id="<envelope@test>", to=tricky, subject="Reset", text="link",
                                          html="<p>link</p>", date=dt.datetime.now(dt.timezone.utc)))
    assert list(refused.value.recipients) == [tricky]  # the stored text went on the envelope, undecoded
    assert smtp_server.mailbox.envelopes == []  # and nothing reached attacker@evil.example
