"""Online re-keying of a tenant: resumable, one data key at a time."""

from __future__ import annotations

from typing import Callable, Iterator

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustcenter.crypto.clock import utcnow
from trustcenter.crypto.errors import CryptoError
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
            DataKey.org_id == org_id, DataKey.tenant_key_version != target_version)))


def rekey_one(session: Session, old_key_id: str, target_version: int) -> int:
    """Move everything sealed under one data key to a fresh key under `target_version`.

    The rows are committed under the new key before the old key is destroyed,
    so an interruption leaves every value readable.
    """
    service = keys_of(session)
    with service.transaction() as keystore:
        old = keystore.get(DataKey, old_key_id)
        if old is None:
            return 0
        org_id, purpose = old.org_id, old.purpose
    new_key_id = service.create_data_key(org_id, purpose, tenant_version=target_version)
    moved = 0
    for model in REGISTRY:
        for row in session.scalars(select(model).where(model.data_key_id == old_key_id)).all():
            reseal(row, new_key_id)
            moved += 1
    session.commit()
    with service.transaction() as keystore:  # retired by rotation, not erased: no tombstone
        keystore.delete(keystore.get(DataKey, old_key_id))
    service.forget(old_key_id)
    return moved


def finish(service: KeyService, org_id: str, target_version: int) -> None:
    """Retire and destroy the old tenant key versions; the target becomes active."""
    with service.transaction() as keystore:
        keystore.execute(update(TenantKey).where(
            TenantKey.org_id == org_id, TenantKey.version != target_version, TenantKey.wrapped.is_not(None))
            .values(state=RETIRED, wrapped=None, destroyed_at=utcnow()))
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
