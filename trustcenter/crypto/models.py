"""The key store's tables: wrapped tenant keys, wrapped data keys, and tombstones of destroyed keys.

They live in a database of their own (`TRUSTCENTER_KEYSTORE_URL`), apart from
the data they protect: a backup of the main database holds no key, so a key
destroyed here is gone from every backup too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, LargeBinary, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trustcenter.crypto.clock import utcnow


class KeyStoreBase(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    })


class TenantKey(KeyStoreBase):
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


class DataKey(KeyStoreBase):
    """A data key for one person (or a tenant's or the service's own records), wrapped by a tenant key."""

    __tablename__ = "data_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    tenant_key_version: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(32))  # person, tenant, or the service's own: audit, outbox, …
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set by a tenant rotation: the key opens backups taken before it until retention deletes it,
    # and erasing the person destroys it with its successor.
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[str | None] = mapped_column(String(36), index=True)


class DestroyedKey(KeyStoreBase):
    """That a data key existed and was destroyed, and when: no key material, only the fact.

    It lets a ciphertext whose key is gone say "erased" rather than "unknown key",
    also in a main-database backup restored after the erasure.
    """

    __tablename__ = "destroyed_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(36), index=True)
    destroyed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SystemKey(KeyStoreBase):
    """Which data key seals the service's own records of one purpose (audit, outbox, …); one per purpose."""

    __tablename__ = "system_keys"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    data_key_id: Mapped[str] = mapped_column(String(36))
