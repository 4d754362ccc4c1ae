"""The mail outbox: messages queued in the same transaction as the change that caused them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.crypto import encrypted
from trustcenter.db import Base, new_id, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


def new_message_id() -> str:
    """An RFC 5322 Message-ID; stable across retries, so receivers can drop duplicates."""
    return f"<{uuid.uuid4()}@trustcenter>"


class OutboxMessage(Base):
    """One e-mail: addresses and content sealed under the service's "outbox" data key."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_claim", "status", "next_attempt_at"),)
    __system_key__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    message_id: Mapped[str] = mapped_column(String(255), unique=True, default=new_message_id)
    data_key_id: Mapped[str] = mapped_column(String(36))

    recipient = encrypted[str](nullable=False)
    subject = encrypted[str](nullable=False)
    text_body = encrypted[str](nullable=False)
    html_body = encrypted[str](nullable=False)
    # Extra headers, such as List-Unsubscribe (which holds a personal link): sealed like the rest.
    headers = encrypted[dict]("json")

    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times a worker took the message
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(128))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Exception class and SMTP code only: never an address or any content.
    last_error: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status} attempts={self.attempts}>"
