"""Wrapped keys: one key per tenant (per version), one data key per person."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trustcenter.db import Base, new_id, utcnow


class TenantKey(Base):
    """A tenant's key-encryption key, wrapped by a master key. `wrapped` is NULL once destroyed."""

    __tablename__ = "tenant_keys"
    __table_args__ = (UniqueConstraint("org_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # active, rotating, retired, destroyed
    master_key_id: Mapped[str] = mapped_column(String(64))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DataKey(Base):
    """A data key for one person (or a tenant's own records), wrapped by a tenant key version."""

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    tenant_key_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))  # person, tenant
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
