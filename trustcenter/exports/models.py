"""Exports and their stored chunks, sealed under a data key of the export's own so it can be destroyed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.crypto import encrypted
from trustcenter.db import Base, new_id, utcnow

PERSON, ORGANISATION = "person", "organisation"
QUEUED, BUILDING, READY, FAILED = "queued", "building", "ready", "failed"
IN_FLIGHT = (QUEUED, BUILDING)


class Export(Base):
    """One export: of a person's data, or of a whole customer organisation's (the controller's copy)."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    # The person exported (scope "person"); who asked (the person, an administrator, or staff for a request).
    subject_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    # Set when the export answers an access or portability request: its requester downloads it there.
    request_id: Mapped[str | None] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36))
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    step: Mapped[str] = mapped_column(String(120), default="Waiting for the worker")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    size: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The worker holding the build, and until when: a crashed worker's export is taken over.
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT


class ExportChunk(Base):
    """A piece of the ZIP (at most CHUNK_BYTES), sealed on its own: downloads stream piece by piece."""

    __tablename__ = "export_chunks"
    __table_args__ = (UniqueConstraint("export_id", "seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    export_id: Mapped[str] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(36))

    content = encrypted[bytes]("bytes")
