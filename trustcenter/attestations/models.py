"""Signed documents as issued: what each covers in the clear (for /verify), the PDF itself sealed."""

from __future__ import annotations

import datetime as dt
from enum import Enum

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.crypto import encrypted
from trustcenter.db import Base, new_id, utcnow


class Kind(str, Enum):
    POSTURE = "posture"
    CERTIFICATE = "certificate"
    REQUEST_REGISTER = "request_register"
    BREACH_REGISTER = "breach_register"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    Kind.POSTURE: "Security and GDPR posture attestation",
    Kind.CERTIFICATE: "Request fulfilment certificate",
    Kind.REQUEST_REGISTER: "Rights-request register",
    Kind.BREACH_REGISTER: "Breach register",
}


class Attestation(Base):
    """One signed PDF. Tenant documents are sealed under the tenant's key (or the request's), so erasing
    them erases the copy too; the DPO's registers under the service's own key."""

    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_kind_org_issued", "kind", "org_id", "issued_at"),)
    __system_key__ = "attestations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # Printed on the document and typed into /verify; random, so codes cannot be guessed in turn.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    # The same inputs (kind, tenant, content version, evidence results, period…) make the same document:
    # it is generated once and served from here afterwards.
    cache_key: Mapped[str] = mapped_column(String(64), index=True)
    # What the document covers, without personal data: /verify shows it to whoever holds the code.
    title: Mapped[str] = mapped_column(String(200))
    content_version: Mapped[str | None] = mapped_column(String(64))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    signer: Mapped[str] = mapped_column(String(200))
    signer_fingerprint: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    data_key_id: Mapped[str] = mapped_column(String(36))

    # The organisation it was prepared for, shown on /verify while the tenant exists.
    prepared_for = encrypted[str]()
    pdf = encrypted[bytes]("bytes")

    @property
    def kind_enum(self) -> Kind:
        return Kind(self.kind)

    @property
    def filename(self) -> str:
        return f"{self.kind.replace('_', '-')}-{self.issued_at:%Y%m%d}-{self.code}.pdf"
