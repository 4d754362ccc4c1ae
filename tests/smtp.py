"""A real SMTP server (aiosmtpd) on a free loopback port, collecting what it accepts."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from trustcenter.notify import SmtpTransport


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message; refuses addresses in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []  # each accepted message's RCPT TO addresses
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=default_policy).parsebytes(envelope.content)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def count_by_message_id(self) -> Counter[str]:
        with self._lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)


class SmtpServer:
    """Start, stop and restart an aiosmtpd controller on one fixed port."""

    def __init__(self, port: int, **options: Any) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def transport(self, **options: Any) -> SmtpTransport:
        return SmtpTransport("127.0.0.1", self.port, starttls=False, timeout=5, **options)
