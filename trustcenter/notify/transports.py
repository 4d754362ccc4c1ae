"""How a mail leaves: SMTP (STARTTLS, implicit TLS or plain) or `.eml` files for development."""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl as tls
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_FROM = "Trust Center <no-reply@localhost>"


@dataclass(frozen=True)
class Mail:
    """A decrypted outbox message, ready to send; never logged."""

    message_id: str
    to: str
    subject: str
    text: str
    html: str
    date: dt.datetime
    headers: tuple[tuple[str, str], ...] = ()  # extra ones, such as List-Unsubscribe

    def __repr__(self) -> str:  # keep addresses and content out of tracebacks and logs
        return f"<Mail {self.message_id}>"


class Transport(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand the mail over, or raise; must be safe to call again with the same mail."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML preferred by capable readers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.date.astimezone(dt.timezone.utc))
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class SmtpTransport:
    """Delivers through an SMTP server or relay, one connection per message."""

    def __init__(self, host: str, port: int = 587, username: str | None = None, password: str | None = None,
                 starttls: bool = True, ssl: bool = False, timeout: float = 10, *,
                 sender: str = DEFAULT_FROM, tls_context: tls.SSLContext | None = None) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self._password = username, password
        self.starttls, self.implicit_tls = starttls and not ssl, ssl
        self.sender = sender
        self.tls_context = tls_context

    def __repr__(self) -> str:
        return f"<SmtpTransport {self.host}:{self.port} tls={self.mode}>"

    @property
    def mode(self) -> str:
        return "implicit" if self.implicit_tls else "starttls" if self.starttls else "none"

    def _context(self) -> tls.SSLContext:
        # Loading the system CA store takes a while: once per transport, not per mail.
        if self.tls_context is None:
            self.tls_context = tls.create_default_context()
        return self.tls_context

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            try:
                client.starttls(context=self._context())  # raises if the server does not offer it
            except BaseException:
                client.close()
                raise
        return client

    def send(self, mail: Mail) -> None:
        client = self._connect()
        try:
            if self.username:
                client.login(self.username, self._password or "")
            # The envelope recipient is the stored address itself, never what a parser makes of the To header.
            client.send_message(build_message(mail, self.sender), to_addrs=[mail.to])
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


class FileTransport:
    """Writes each mail as an `.eml` file, so developers can read it without an SMTP server."""

    def __init__(self, directory: str | os.PathLike[str], sender: str = DEFAULT_FROM) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def __repr__(self) -> str:
        return f"<FileTransport {self.directory}>"

    def path_for(self, mail: Mail) -> Path:
        name = mail.message_id.strip("<>").split("@", 1)[0]
        return self.directory / f"{mail.date.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S}-{name}.eml"

    def send(self, mail: Mail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(mail)
        partial = path.with_suffix(".part")
        # Written privately, then renamed: a reader never sees half a mail.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(build_message(mail, self.sender).as_bytes())
        os.replace(partial, path)
        log.info("mail to %s written to %s", mail.to, path)
