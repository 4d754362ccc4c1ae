"""Online re-keying of a tenant: resumable, one person at a time."""

from __future__ import annotations

from typing import Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.crypto.fields import REGISTRY, reseal
from trustcenter.crypto.errors import CryptoError
from trustcenter.crypto.keystore import ACTIVE, RETIRED, ROTATING, SYSTEM_TENANT, KeyService
from trustcenter.crypto.models import DataKey, TenantKey
from trustcenter.db import utcnow


def start_or_resume(service: KeyService, session: Session, org_id: str) -> TenantKey:
    """The tenant key version being rotated to, created on the first run."""
    if org_id == SYSTEM_TENANT:
        # Audit entries are hash-chained over their ciphertexts: re-encrypting them would break the chain.
        raise CryptoError("the service's own key is protected by master-key rotation, not tenant rotation")
    target = session.scalars(select(TenantKey).where(TenantKey.org_id == org_id,
                                                     TenantKey.state == ROTATING)).first()
    if target is None:
        service.active_tenant_key(session, org_id)  # fails clearly for an unknown tenant
        target = service.create_tenant_key(session, org_id, service.next_tenant_version(session, org_id),
                                           state=ROTATING)
        session.commit()
    return target


def pending_data_keys(session: Session, org_id: str, target_version: int) -> list[str]:
    rows = session.scalars(select(DataKey.id).where(
        DataKey.org_id == org_id, DataKey.wrapped.is_not(None), DataKey.tenant_key_version != target_version))
    return list(rows)


def rekey_one(service: KeyService, session: Session, old_key_id: str, target: TenantKey) -> int:
    """Move everything sealed under one data key to a fresh key under `target`; one transaction."""
    old = session.get(DataKey, old_key_id)
    assert old is not None
    new = service.create_data_key(session, old.org_id, old.purpose, tenant_key=target)
    moved = 0
    for model in REGISTRY:
        for row in session.scalars(select(model).where(model.data_key_id == old_key_id)).all():
            reseal(row, new.id)
            moved += 1
    service.destroy_data_key(session, old_key_id)
    session.commit()
    return moved


def finish(service: KeyService, session: Session, org_id: str, target: TenantKey) -> None:
    """Retire and destroy the old tenant key versions; the target becomes active."""
    for key in session.scalars(select(TenantKey).where(TenantKey.org_id == org_id, TenantKey.id != target.id,
                                                       TenantKey.wrapped.is_not(None))):
        key.state, key.wrapped, key.destroyed_at = RETIRED, None, utcnow()
        service.forget(f"tenant:{org_id}:{key.version}")
    target.state = ACTIVE
    session.commit()


def rotate_tenant(service: KeyService, session: Session, org_id: str,
                  progress: Callable[[Iterator[str]], Iterator[str]] = lambda it: it) -> int:
    """Re-key a tenant; safe to interrupt and run again, which resumes where it stopped."""
    target = start_or_resume(service, session, org_id)
    moved = 0
    for key_id in progress(iter(pending_data_keys(session, org_id, target.version))):
        moved += rekey_one(service, session, key_id, target)
    finish(service, session, org_id, target)
    return moved
