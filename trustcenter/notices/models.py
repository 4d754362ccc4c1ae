"""Incidents, the notices published about them, and who received, read and acknowledged each one.

An incident and its notices are the provider's records, sealed under a data key
of the incident's own: the register must outlive anyone named in it.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.crypto import encrypted
from trustcenter.db import Base, new_id, utcnow

AUTHORITY_HOURS = 72  # Art. 33(1): the supervisory authority within 72 hours of becoming aware


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return self.value.title()


class Status(str, Enum):
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"suspected": "Suspected", "confirmed": "Confirmed breach", "closed": "Closed"}[self.value]


class Phase(str, Enum):
    """Art. 33(4): what is known first, then updates, then the close."""

    INITIAL = "initial"
    UPDATE = "update"
    CLOSING = "closing"

    @property
    def label(self) -> str:
        return {"initial": "Initial notice", "update": "Update", "closing": "Closing notice"}[self.value]


DRAFT, AWAITING_APPROVAL, PUBLISHED = "draft", "awaiting_approval", "published"


def reference_of(incident_id: str) -> str:
    return f"I-{incident_id[:8].upper()}"


class Incident(Base):
    """A suspected or confirmed personal data breach, with what Art. 33(3) asks and the two clocks."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_aware_at", "aware_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    data_key_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default=Status.SUSPECTED.value)
    severity: Mapped[str] = mapped_column(String(16))
    # When the company became aware: both clocks start here.
    aware_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recorded_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    all_customers: Mapped[bool] = mapped_column(Boolean, default=False)
    authority_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the first notice published: "without undue delay" is measured to here.
    customers_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    title = encrypted[str](nullable=False)
    # Art. 33(3)(a)-(d): nature; categories and approximate numbers of people and records;
    # likely consequences; measures taken or proposed; and who to contact (the DPO).
    nature = encrypted[str](nullable=False)
    people_affected = encrypted[str]()
    records_affected = encrypted[str]()
    consequences = encrypted[str]()
    measures = encrypted[str]()
    contact = encrypted[str]()
    # How the authority was told (or why it was not), and the reasons for any delay (Art. 33(1)).
    authority_notification = encrypted[str]()
    delay_reasons = encrypted[str]()

    @property
    def reference(self) -> str:
        return reference_of(self.id)

    @property
    def severity_enum(self) -> Severity:
        return Severity(self.severity)

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def authority_deadline(self) -> dt.datetime:
        return self.aware_at + dt.timedelta(hours=AUTHORITY_HOURS)


class IncidentTenant(Base):
    """A customer organisation the incident affects, when it does not affect them all."""

    __tablename__ = "incident_tenants"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)


class Notice(Base):
    """One phase of what customers are told about an incident."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_state_published", "state", "published_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))  # the incident's
    phase: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default=DRAFT)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Delivery to every user of the affected customers happens in the worker, in batches:
    # the worker holding the work, until when, and when it all was queued.
    fanout_owner: Mapped[str | None] = mapped_column(String(128))
    fanout_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    fanout_done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    resent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    title = encrypted[str](nullable=False)
    body = encrypted[str](nullable=False)

    @property
    def phase_enum(self) -> Phase:
        return Phase(self.phase)


class NoticeReceipt(Base):
    """One person's copy of a notice: mailed, read, acknowledged. One row per person and notice."""

    __tablename__ = "notice_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "user_id", name="uq_notice_receipts_notice_user"),
                      Index("ix_notice_receipts_user", "user_id", "acknowledged_at"),
                      Index("ix_notice_receipts_sms_due", "sms_state", "sms_next_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    mailed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    mail_id: Mapped[str | None] = mapped_column(String(36))  # the outbox message, for its delivery status
    mails: Mapped[int] = mapped_column(Integer, default=0)  # 1, plus one per resend
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # The text message, for people who gave a mobile number while SMS is on: None (none to send),
    # pending, sending (under a worker's lease), sent or failed.
    sms_state: Mapped[str | None] = mapped_column(String(16))
    sms_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sms_next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sms_owner: Mapped[str | None] = mapped_column(String(128))
    sms_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sms_sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sms_error: Mapped[str | None] = mapped_column(String(64))  # e.g. "HTTP 400": never the number or the text


class Subscription(Base):
    """Someone who asked to hear of changes to the FAQ or the subprocessor list, by double opt-in.

    Once confirmed, the address is sealed under a data key of the subscription's own (unsubscribing shreds
    it); it is found by its blind index. `last_version_id` is the content version the subscriber last heard of.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_due", "state", "last_version_id"),)
    # Until confirmed, the address is sealed under the service's own key: asking costs no key of its own, so
    # subscribing a new address takes as long as one already subscribed (nothing to learn from the time).
    __system_key__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    address_index: Mapped[str] = mapped_column(String(64), unique=True)
    data_key_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    faq: Mapped[bool] = mapped_column(Boolean, default=True)
    subprocessors: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, confirmed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_version_id: Mapped[int | None] = mapped_column(Integer)

    email = encrypted[str](nullable=False)


class SubprocessorChange(Base):
    """A change to the subprocessor list announced ahead, with a window in which customers may object
    (Art. 28(2))."""

    __tablename__ = "subprocessor_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    data_key_id: Mapped[str] = mapped_column(String(36))
    announced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    announced_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    objections_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    subprocessor = encrypted[str](nullable=False)  # its name
    change = encrypted[str](nullable=False)  # what changes: added, replaced, a new purpose or place
    details = encrypted[str]()


class Objection(Base):
    """A customer's objection to an announced change, with the reason its administrator gave."""

    __tablename__ = "subprocessor_objections"
    __table_args__ = (UniqueConstraint("change_id", "org_id", name="uq_subprocessor_objections_change_org"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    change_id: Mapped[str] = mapped_column(ForeignKey("subprocessor_changes.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data_key_id: Mapped[str] = mapped_column(String(36))  # the organisation's
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    reason = encrypted[str](nullable=False)
