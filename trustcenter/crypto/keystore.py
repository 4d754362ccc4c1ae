"""Envelope encryption: master key → tenant key → data key → value.

`KeyService` creates, unwraps, caches, rotates and destroys keys. Unwrapped
keys are cached in memory for `cache_seconds`, so a page that decrypts many
values unwraps each key once; destroying a key drops it from this process's
cache at once (other processes within `cache_seconds`).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustcenter.crypto import aead
from trustcenter.crypto.aead import Header, Place
from trustcenter.crypto.errors import DecryptionFailed, KeyDestroyed, KeyNotFound
from trustcenter.crypto.keys import RootKeys
from trustcenter.crypto.models import DataKey, TenantKey
from trustcenter.db import utcnow

_NONCE_START = aead.HEADER.size
_BODY_START = _NONCE_START + aead.NONCE_BYTES
ACTIVE, ROTATING, RETIRED, DESTROYED = "active", "rotating", "retired", "destroyed"
# The pseudo-tenant that owns the service's own encrypted records.
SYSTEM_TENANT = "system"


def _tenant_place(org_id: str, version: int) -> Place:
    return Place("tenant_keys", "wrapped", f"{org_id}/v{version}")


def _data_place(key_id: str) -> Place:
    return Place("data_keys", "wrapped", key_id)


class KeyService:
    def __init__(self, root: RootKeys, session_factory: Callable[[], Session], cache_seconds: float = 60.0) -> None:
        self.root = root
        self.session_factory = session_factory
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[AESGCM, int, float]] = {}
        self._headers: dict[str, bytes] = {}
        self._ids: dict[bytes, str] = {}
        self._lock = threading.Lock()

    # -- tenant keys -------------------------------------------------------
    def create_tenant_key(self, session: Session, org_id: str, version: int = 1, state: str = ACTIVE) -> TenantKey:
        master_id = self.root.master.current_id
        key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tenant:{org_id}:{version}")
        blob = aead.seal(self.root.master.aead(master_id), Header(key_id, version), aead.new_key(),
                         _tenant_place(org_id, version))
        tenant_key = TenantKey(org_id=org_id, version=version, state=state, master_key_id=master_id, wrapped=blob)
        session.add(tenant_key)
        session.flush()
        return tenant_key

    def _tenant_aead(self, tenant_key: TenantKey) -> AESGCM:
        cache_id = f"tenant:{tenant_key.org_id}:{tenant_key.version}"
        cached = self._cached(cache_id)
        if cached:
            return cached[0]
        if tenant_key.wrapped is None:
            raise KeyDestroyed(cache_id)
        master = self.root.master.aead(tenant_key.master_key_id)
        raw = aead.open_sealed(master, tenant_key.wrapped, _tenant_place(tenant_key.org_id, tenant_key.version))
        return self._remember(cache_id, AESGCM(raw), tenant_key.version)

    def active_tenant_key(self, session: Session, org_id: str) -> TenantKey:
        key = session.scalars(select(TenantKey).where(TenantKey.org_id == org_id, TenantKey.state == ACTIVE)).first()
        if key is None:
            raise KeyNotFound(f"tenant:{org_id}", "tenant key")
        return key

    def tenant_key(self, session: Session, org_id: str, version: int) -> TenantKey:
        key = session.scalars(select(TenantKey).where(TenantKey.org_id == org_id,
                                                      TenantKey.version == version)).first()
        if key is None:
            raise KeyNotFound(f"tenant:{org_id}:v{version}", "tenant key")
        return key

    # -- data keys ---------------------------------------------------------
    def create_data_key(self, session: Session, org_id: str, purpose: str = "person",
                        tenant_key: TenantKey | None = None) -> DataKey:
        tenant_key = tenant_key or self.active_tenant_key(session, org_id)
        data_key = DataKey(id=str(uuid.uuid4()), org_id=org_id, tenant_key_version=tenant_key.version,
                           purpose=purpose)
        raw = aead.new_key()
        data_key.wrapped = aead.seal(self._tenant_aead(tenant_key), Header(uuid.UUID(data_key.id), tenant_key.version),
                                     raw, _data_place(data_key.id))
        session.add(data_key)
        session.flush()
        self._remember(data_key.id, AESGCM(raw), tenant_key.version)
        return data_key

    def data_aead(self, key_id: str, session: Session | None = None) -> tuple[AESGCM, int]:
        """The unwrapped data key and its tenant-key version; raises naming the key id."""
        cached = self._cached(key_id)
        if cached:
            return cached[0], cached[1]
        own = session is None
        session = session or self.session_factory()
        try:
            data_key = session.get(DataKey, key_id)
            if data_key is None:
                raise KeyNotFound(key_id, "data key")
            if data_key.wrapped is None:
                raise KeyDestroyed(key_id)
            tenant_key = self.tenant_key(session, data_key.org_id, data_key.tenant_key_version)
            raw = aead.open_sealed(self._tenant_aead(tenant_key), data_key.wrapped, _data_place(key_id))
        finally:
            if own:
                session.close()
        return self._remember(key_id, AESGCM(raw), data_key.tenant_key_version), data_key.tenant_key_version

    def system_data_key(self, session: Session, purpose: str) -> str:
        """A data key for the service's own records (audit log, outbox), created on first use."""
        key_id = self._system_key_id(session, purpose)
        if key_id is not None:
            return key_id
        try:
            # A savepoint, so a concurrent first use costs a retry, not the caller's transaction.
            with session.begin_nested():
                tenant = session.scalars(select(TenantKey).where(TenantKey.org_id == SYSTEM_TENANT,
                                                                 TenantKey.state == ACTIVE)).first()
                if tenant is None:
                    tenant = self.create_tenant_key(session, SYSTEM_TENANT)
                return self.create_data_key(session, SYSTEM_TENANT, purpose, tenant_key=tenant).id
        except IntegrityError:
            key_id = self._system_key_id(session, purpose)
            if key_id is None:
                raise
            return key_id

    def _system_key_id(self, session: Session, purpose: str) -> str | None:
        return session.scalar(select(DataKey.id).where(
            DataKey.org_id == SYSTEM_TENANT, DataKey.purpose == purpose, DataKey.wrapped.is_not(None))
            .order_by(DataKey.created_at).limit(1))

    # -- values ------------------------------------------------------------
    # Sealing and opening values is the hot path (every personal field read or written), so the
    # blob layout from `aead` is applied inline here with cached headers and raw-id lookups.
    def seal(self, plaintext: bytes, key_id: str, place: Place, session: Session | None = None) -> bytes:
        entry = self._cache.get(key_id)
        cipher = entry[0] if entry is not None and entry[2] > time.monotonic() else self.data_aead(key_id, session)[0]
        header = self._headers[key_id]
        nonce = os.urandom(aead.NONCE_BYTES)
        return header + nonce + cipher.encrypt(nonce, plaintext, header + place.encoded)

    def open(self, blob: bytes, place: Place, session: Session | None = None) -> bytes:
        if len(blob) < aead.MIN_LENGTH or blob[0] != aead.FORMAT_VERSION:
            aead.read_header(blob, place)  # raises, naming what is wrong
        raw_id = blob[1:17]
        key_id = self._ids.get(raw_id) or str(uuid.UUID(bytes=raw_id))
        entry = self._cache.get(key_id)
        cipher = entry[0] if entry is not None and entry[2] > time.monotonic() else self.data_aead(key_id, session)[0]
        try:
            return cipher.decrypt(blob[_NONCE_START:_BODY_START], blob[_BODY_START:],
                                  blob[:_NONCE_START] + place.encoded)
        except InvalidTag:
            raise DecryptionFailed(key_id, str(place)) from None

    # -- destruction and rotation -----------------------------------------
    def destroy_data_key(self, session: Session, key_id: str) -> None:
        """Crypto-shred: without the wrapped key, nothing sealed under it can be read again."""
        data_key = session.get(DataKey, key_id)
        if data_key is None:
            raise KeyNotFound(key_id, "data key")
        data_key.wrapped = None
        data_key.destroyed_at = utcnow()
        self.forget(key_id)

    def destroy_tenant(self, session: Session, org_id: str) -> int:
        """Crypto-shred a whole tenant: every version of its key and every data key under it."""
        count = 0
        for data_key in session.scalars(select(DataKey).where(DataKey.org_id == org_id)):
            data_key.wrapped, data_key.destroyed_at = None, data_key.destroyed_at or utcnow()
            self.forget(data_key.id)
            count += 1
        for tenant_key in session.scalars(select(TenantKey).where(TenantKey.org_id == org_id)):
            tenant_key.wrapped, tenant_key.state, tenant_key.destroyed_at = None, DESTROYED, utcnow()
            self.forget(f"tenant:{org_id}:{tenant_key.version}")
        return count

    def rewrap_tenant_keys(self, session: Session) -> int:
        """Rewrap every live tenant key under the current master key (no data is re-encrypted)."""
        current = self.root.master.current_id
        count = 0
        live = select(TenantKey).where(TenantKey.wrapped.is_not(None), TenantKey.master_key_id != current)
        for tenant_key in session.scalars(live):
            place = _tenant_place(tenant_key.org_id, tenant_key.version)
            raw = aead.open_sealed(self.root.master.aead(tenant_key.master_key_id), tenant_key.wrapped, place)
            header = aead.read_header(tenant_key.wrapped, place)
            tenant_key.wrapped = aead.seal(self.root.master.aead(current), header, raw, place)
            tenant_key.master_key_id = current
            count += 1
        return count

    def next_tenant_version(self, session: Session, org_id: str) -> int:
        latest = session.scalar(select(func.max(TenantKey.version)).where(TenantKey.org_id == org_id))
        return (latest or 0) + 1

    # -- cache -------------------------------------------------------------
    def _cached(self, cache_id: str) -> tuple[AESGCM, int, float] | None:
        entry = self._cache.get(cache_id)
        if entry and entry[2] > time.monotonic():
            return entry
        return None

    def _remember(self, cache_id: str, cipher: AESGCM, version: int) -> AESGCM:
        with self._lock:
            self._cache[cache_id] = (cipher, version, time.monotonic() + self.cache_seconds)
            if not cache_id.startswith("tenant:"):
                # Packed headers and raw-id lookups spare the hot path from parsing UUIDs.
                key = uuid.UUID(cache_id)
                self._headers[cache_id] = Header(key, version).pack()
                self._ids[key.bytes] = cache_id
        return cipher

    def forget(self, cache_id: str | None = None) -> None:
        with self._lock:
            if cache_id is None:
                self._cache.clear()
            else:
                self._cache.pop(cache_id, None)
