"""Online re-keying of a tenant: resumable, one data key at a time."""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterator

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustcenter.crypto.errors import CryptoError, KeyDestroyed
from trustcenter.crypto.fields import REGISTRY, keys_of, reseal
from trustcenter.crypto.keystore import ACTIVE, RETIRED, ROTATING, SYSTEM_TENANT, KeyService
from trustcenter.crypto.models import DataKey, TenantKey


def start_or_resume(service: KeyService, org_id: str) -> int:
    """The tenant key version being rotated to, created on the first run."""
    if org_id == SYSTEM_TENANT:
        # Audit entries are hash-chained over their ciphertexts: re-encrypting them would break the chain.
        raise CryptoError("the service's own key is protected by master-key rotation, not tenant rotation")
    versions = service.tenant_versions(org_id)
    rotating = [version for version, state in versions if state == ROTATING]
    if rotating:
        return rotating[0]
    if not any(state == ACTIVE for _, state in versions):
        raise CryptoError(f"organisation {org_id} has no active tenant key")
    return service.create_tenant_key(org_id, max(version for version, _ in versions) + 1, state=ROTATING)


def pending_data_keys(service: KeyService, org_id: str, target_version: int) -> list[str]:
    with service.transaction() as keystore:
        return list(keystore.scalars(select(DataKey.id).where(
            DataKey.org_id == org_id, DataKey.tenant_key_version != target_version, DataKey.retired_at.is_(None))))


def rekey_one(session: Session, old_key_id: str, target_version: int) -> int:
    """Move everything sealed under one data key to a fresh key under `target_version`.

    The rows are locked while they are re-sealed and committed under the new key
    before the old key is deleted, so an interruption leaves every value
    readable. A key destroyed meanwhile (an erasure) is left alone: re-sealing
    would bring the erased values back under a live key. Writers that loaded a
    row before it moved fail on the `data_key_id` version check instead of
    sealing under the old key.
    """
    service = keys_of(session)
    with service.transaction() as keystore:
        old = keystore.get(DataKey, old_key_id)
        if old is None or old.retired_at is not None:
            return 0  # destroyed (erased) or already moved by an earlier run
        org_id, purpose = old.org_id, old.purpose
    rows = _locked_rows(session, old_key_id)
    if service.is_destroyed(old_key_id):
        session.rollback()
        return 0
    new_key_id = service.create_data_key(org_id, purpose, tenant_version=target_version)
    try:
        for row in rows:
            reseal(row, new_key_id)
        session.commit()
    except KeyDestroyed:  # erased while we worked: leave its rows as they are
        session.rollback()
        return 0
    # Kept, retired, so backups taken before the rotation stay readable until they expire.
    service.retire_data_key(old_key_id, new_key_id)
    return len(rows)


def _locked_rows(session: Session, key_id: str) -> list[object]:
    """Every row sealed under `key_id`, locked against other writers until the transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks; a first write takes the database's write lock for the whole transaction.
        for model in REGISTRY:
            session.execute(update(model).where(model.data_key_id == key_id).values(data_key_id=model.data_key_id)
                            .execution_options(synchronize_session=False))
    return [row for model in REGISTRY
            for row in session.scalars(select(model).where(model.data_key_id == key_id).with_for_update()
                                       .execution_options(populate_existing=True)).all()]


def finish(service: KeyService, org_id: str, target_version: int) -> None:
    """Retire the old tenant key versions (destroyed by `purge_retired` once backups have expired); the
    target becomes active."""
    with service.transaction() as keystore:
        keystore.execute(update(TenantKey).where(
            TenantKey.org_id == org_id, TenantKey.version != target_version, TenantKey.wrapped.is_not(None))
            .values(state=RETIRED))
        keystore.execute(update(TenantKey).where(TenantKey.org_id == org_id, TenantKey.version == target_version)
                         .values(state=ACTIVE))
    service.forget()


def rotate_tenant(session: Session, org_id: str,
                  progress: Callable[[Iterator[str]], Iterator[str]] = lambda it: it) -> int:
    """Re-key a tenant; safe to interrupt and run again, which resumes where it stopped."""
    service = keys_of(session)
    target = start_or_resume(service, org_id)
    moved = 0
    for key_id in progress(iter(pending_data_keys(service, org_id, target))):
        moved += rekey_one(session, key_id, target)
    finish(service, org_id, target)
    return moved


def purge_retired(session: Session, older_than: dt.timedelta) -> int:
    """Retention: delete the keys rotations retired longer ago than backups are kept; the caller commits."""
    return keys_of(session).purge_retired(older_than)
