"""Rights requests and their timelines, every personal value sealed.

A request is sealed under a data key of its own, not under its requester's:
erasing the person (their key destroyed) leaves the record the law asks for,
saying what was asked, what was done and when.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustcenter.crypto import encrypted
from trustcenter.db import Base, new_id, utcnow


class Kind(str, Enum):
    """What is asked for; the label names the article of the GDPR that gives the right."""

    QUERY = "query"
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    PORTABILITY = "portability"
    OBJECTION = "objection"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def summary(self) -> str:
        return KIND_SUMMARIES[self]


KIND_LABELS = {
    Kind.QUERY: "General data query",
    Kind.ACCESS: "Access to my data (Article 15)",
    Kind.RECTIFICATION: "Correct my data (Article 16)",
    Kind.ERASURE: "Erase my data (Article 17)",
    Kind.RESTRICTION: "Restrict processing (Article 18)",
    Kind.PORTABILITY: "Data portability (Article 20)",
    Kind.OBJECTION: "Object to processing (Article 21)",
}
KIND_SUMMARIES = {
    Kind.QUERY: "Ask our Data Protection Officer anything about how your data is handled.",
    Kind.ACCESS: "A copy of the personal data we hold about you, and how we use it.",
    Kind.RECTIFICATION: "Have data we hold about you corrected or completed.",
    Kind.ERASURE: "Have your personal data deleted, where no law requires us to keep it.",
    Kind.RESTRICTION: "Have us keep your data but stop using it, for example while its accuracy is checked.",
    Kind.PORTABILITY: "Your data in a machine-readable form, to take elsewhere.",
    Kind.OBJECTION: "Object to a use of your data, such as update e-mails.",
}


class State(str, Enum):
    """Where a request stands; see `service.TRANSITIONS` for the moves between them."""

    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    AWAITING_REQUESTER = "awaiting_requester"
    COMPLETED = "completed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    REFERRED = "referred"
    # Filed without an account: nothing happens (and no clock runs) until the address is confirmed.
    UNCONFIRMED = "unconfirmed"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATES


STATE_LABELS = {
    State.SUBMITTED: "Submitted",
    State.ACKNOWLEDGED: "Acknowledged",
    State.IN_PROGRESS: "In progress",
    State.AWAITING_REQUESTER: "Waiting for the requester",
    State.COMPLETED: "Completed",
    State.REFUSED: "Refused",
    State.WITHDRAWN: "Withdrawn",
    State.REFERRED: "Referred to the controller",
    State.UNCONFIRMED: "Waiting for the e-mail address to be confirmed",
}
OPEN_STATES = frozenset({State.SUBMITTED, State.ACKNOWLEDGED, State.IN_PROGRESS, State.AWAITING_REQUESTER})
# In one fixed order, so every query says `state IN (...)` as the partial indexes below do.
OPEN_STATE_VALUES = tuple(sorted(state.value for state in OPEN_STATES))
_OPEN = "state IN ({})".format(", ".join(f"'{value}'" for value in OPEN_STATE_VALUES))


def reference_of(request_id: str) -> str:
    """A request's short reference, "R-1A2B3C4D", from its id."""
    return f"R-{request_id[:8].upper()}"


class RightsRequest(Base):
    """One request from one person, with the dates the GDPR clock needs."""

    __tablename__ = "rights_requests"
    __table_args__ = (
        # The staff queue: open requests by due date, and each tenant's own list.
        Index("ix_rights_requests_queue", "state", "due_on", "id"),
        Index("ix_rights_requests_due", "due_on", "id"),
        Index("ix_rights_requests_org_received", "org_id", "received_at"),
        # The open queue in due order whatever the filters (the open states lie in four ranges of the queue
        # index, which cannot give them in due order), and the open requests nobody has taken yet.
        Index("ix_rights_requests_open_due", "due_on", "id", postgresql_where=text(_OPEN), sqlite_where=text(_OPEN)),
        Index("ix_rights_requests_open_unassigned_due", "due_on", "id",
              postgresql_where=text(f"{_OPEN} AND assignee_id IS NULL"),
              sqlite_where=text(f"{_OPEN} AND assignee_id IS NULL")),
        # "Nobody assigned" over all states, where a large customer's many closed requests would be sifted.
        Index("ix_rights_requests_unassigned_due", "due_on", "id", postgresql_where=text("assignee_id IS NULL"),
              sqlite_where=text("assignee_id IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # The requester's organisation; for someone without an account, the provider's.
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    requester_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default=State.SUBMITTED.value)
    # Blind index of the requester's address, and of what they asked: identical open requests are flagged.
    requester_index: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    duplicate_of: Mapped[str | None] = mapped_column(String(36))
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # Set when staff refer the request to the customer holding the data as controller (Art. 28(3)(e)).
    referred_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)

    # The clock: received_on is the local date of receipt; due_on follows from it (requests.clock).
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    extension_months: Mapped[int] = mapped_column(Integer, default=0)
    paused_days: Mapped[int] = mapped_column(Integer, default=0)
    paused_since: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Reminders to staff before the due date, each sent once.
    reminded_7_days: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_1_day: Mapped[bool] = mapped_column(Boolean, default=False)

    requester_email = encrypted[str]()
    requester_name = encrypted[str]()
    # What the form asked for this kind of request, as the requester gave it.
    details = encrypted[dict]("json")
    # Shown to the requester when the request closes: what was done, or why it was refused.
    outcome = encrypted[str]()
    extension_reason = encrypted[str]()

    @property
    def kind_enum(self) -> Kind:
        return Kind(self.kind)

    @property
    def state_enum(self) -> State:
        return State(self.state)

    @property
    def reference(self) -> str:
        """What people quote in mail and on the phone."""
        return reference_of(self.id)


class RequestEvent(Base):
    """One step on a request's timeline: a change of state, a message, an extension, a download."""

    __tablename__ = "request_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))  # the request's own key
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # "requester", a provider role, or "system"
    actor_label: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    state_from: Mapped[str | None] = mapped_column(String(24))
    state_to: Mapped[str | None] = mapped_column(String(24))
    # Internal notes between staff are kept from the requester.
    visible_to_requester: Mapped[bool] = mapped_column(Boolean, default=True)

    body = encrypted[str]()


class RequestLink(Base):
    """A link mailed to someone without an account: to confirm a request (once), or to follow it.

    Only the token's hash is stored, so a copy of the database opens no request.
    """

    __tablename__ = "request_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # confirm, follow
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RequestAttachment(Base):
    """A file sent on a request's thread, sealed under the request's key like the thread itself."""

    __tablename__ = "request_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("request_events.id", ondelete="CASCADE"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))
    media_type: Mapped[str] = mapped_column(String(64))  # found from the content, never from the name
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    filename = encrypted[str]()
    content = encrypted[bytes]("bytes")

    # Declared so the unit of work writes the event before its file.
    event: Mapped[RequestEvent] = relationship()
