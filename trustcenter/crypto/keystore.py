"""Envelope encryption: master key → tenant key → data key → value.

`KeyService` creates, unwraps, caches, rotates and destroys keys in the key
store, a database of its own reached through its own engine. It never shares
a session or a transaction with the data it protects, so sealing and opening
values can never flush, lock or roll back the caller's work.

Unwrapped keys are cached in memory for `cache_seconds` (0 disables the
cache), so a page that decrypts many values unwraps each key once;
destroying a key drops it from this process's cache at once (other processes
within `cache_seconds`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from trustcenter.crypto import aead
from trustcenter.crypto.aead import Header, Place
from trustcenter.crypto.clock import new_id, utcnow
from trustcenter.crypto.errors import CryptoError, DecryptionFailed, KeyDestroyed, KeyNotFound
from trustcenter.crypto.keys import RootKeys
from trustcenter.crypto.models import DataKey, DestroyedKey, SystemKey, TenantKey

_NONCE_START = aead.HEADER.size
_BODY_START = _NONCE_START + aead.NONCE_BYTES
ACTIVE, ROTATING, RETIRED, DESTROYED = "active", "rotating", "retired", "destroyed"
# The pseudo-tenant that owns the service's own encrypted records.
SYSTEM_TENANT = "system"
PERSON, TENANT = "person", "tenant"


def _tenant_place(org_id: str, version: int) -> Place:
    return Place("tenant_keys", "wrapped", f"{org_id}/v{version}")


def _place_text(encoded_place: bytes) -> str:
    """`str(place)` from `place.encoded`, for error messages."""
    parts = encoded_place.decode(errors="replace").split("\x1f", 2)
    return str(Place(*parts)) if len(parts) == 3 else repr(encoded_place)


def _raw_key_id(cache_id: str) -> bytes | None:
    """The 16 bytes naming a data key in its blobs; None for other cache ids (tenant keys)."""
    try:
        return uuid.UUID(cache_id).bytes
    except ValueError:
        return None


def _data_place(key_id: str) -> Place:
    return Place("data_keys", "wrapped", key_id)


class KeyService:
    """Keys for one application: its root keys and its key store."""

    def __init__(self, root: RootKeys, engine: Engine, cache_seconds: float = 60.0) -> None:
        self.root = root
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._cache: dict[str, tuple[AESGCM, int, float]] = {}
        # The same data-key entries, by the 16 bytes that name the key in a blob (`open`'s lookup).
        self._by_raw_id: dict[bytes, tuple[AESGCM, int, float]] = {}
        self._headers: dict[str, bytes] = {}
        self._system: dict[str, str] = {}
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A key-store session committed at the end of the block (rolled back on error)."""
        with self._sessions.begin() as session:
            yield session

    def blind_index(self, normalised: str) -> str:
        """HMAC-SHA256 (hex) of an already normalised value: exact lookup without storing it."""
        return self.root.blind_index_of(normalised)

    # -- tenant keys -------------------------------------------------------
    def create_tenant_key(self, org_id: str, version: int = 1, state: str = ACTIVE) -> int:
        """Store a new wrapped tenant key version; returns the version."""
        with self.transaction() as session:
            self._add_tenant_key(session, org_id, version, state)
        return version

    def _add_tenant_key(self, session: Session, org_id: str, version: int, state: str) -> TenantKey:
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

    @staticmethod
    def _active_tenant_key(session: Session, org_id: str) -> TenantKey:
        key = session.scalars(select(TenantKey).where(TenantKey.org_id == org_id, TenantKey.state == ACTIVE)).first()
        if key is None:
            raise KeyNotFound(f"tenant:{org_id}", "tenant key")
        return key

    @staticmethod
    def _tenant_key(session: Session, org_id: str, version: int) -> TenantKey:
        key = session.scalars(select(TenantKey).where(TenantKey.org_id == org_id,
                                                      TenantKey.version == version)).first()
        if key is None:
            raise KeyNotFound(f"tenant:{org_id}:v{version}", "tenant key")
        return key

    def has_tenant(self, org_id: str) -> bool:
        with self.transaction() as session:
            return session.scalar(select(func.count()).select_from(TenantKey)
                                  .where(TenantKey.org_id == org_id)) != 0

    def tenant_versions(self, org_id: str) -> list[tuple[int, str]]:
        """(version, state) of every tenant key version of `org_id`, oldest first."""
        with self.transaction() as session:
            rows = session.execute(select(TenantKey.version, TenantKey.state)
                                   .where(TenantKey.org_id == org_id).order_by(TenantKey.version))
            return [(version, state) for version, state in rows]

    # -- data keys ---------------------------------------------------------
    def create_data_key(self, org_id: str, purpose: str = PERSON, tenant_version: int | None = None) -> str:
        """A fresh data key under the tenant's active key (or `tenant_version`); returns its id."""
        with self.transaction() as session:
            return self._add_data_key(session, org_id, purpose, tenant_version)

    def _add_data_key(self, session: Session, org_id: str, purpose: str, tenant_version: int | None) -> str:
        tenant_key = (self._tenant_key(session, org_id, tenant_version) if tenant_version is not None
                      else self._active_tenant_key(session, org_id))
        key_id = new_id()
        raw = aead.new_key()
        wrapped = aead.seal(self._tenant_aead(tenant_key), Header(uuid.UUID(key_id), tenant_key.version), raw,
                            _data_place(key_id))
        session.add(DataKey(id=key_id, org_id=org_id, tenant_key_version=tenant_key.version, purpose=purpose,
                            wrapped=wrapped))
        self._remember(key_id, AESGCM(raw), tenant_key.version)
        return key_id

    def data_aead(self, key_id: str) -> tuple[AESGCM, int]:
        """The unwrapped data key and its tenant-key version; raises naming the key id."""
        cached = self._cached(key_id)
        if cached:
            return cached[0], cached[1]
        with self.transaction() as session:
            data_key = session.get(DataKey, key_id)
            if data_key is None:
                if session.get(DestroyedKey, key_id) is not None:
                    raise KeyDestroyed(key_id)
                raise KeyNotFound(key_id, "data key")
            return self._unwrap(session, data_key)

    def data_aeads(self, key_ids: Iterable[str]) -> None:
        """Unwrap into the cache, in one key-store query, those of `key_ids` not cached yet.

        For work that is about to open values under many keys (an export reads every request's):
        the keys left out (destroyed, unknown) raise later, when a value under them is opened.
        """
        missing = sorted({key_id for key_id in key_ids if key_id and not self._cached(key_id)})
        if not missing:
            return
        with self.transaction() as session:
            for data_key in session.scalars(select(DataKey).where(DataKey.id.in_(missing))):
                self._unwrap(session, data_key)

    def _unwrap(self, session: Session, data_key: DataKey) -> tuple[AESGCM, int]:
        tenant = self._tenant_cipher(session, data_key.org_id, data_key.tenant_key_version)
        raw = aead.open_sealed(tenant, data_key.wrapped, _data_place(data_key.id))
        version = data_key.tenant_key_version
        return self._remember(data_key.id, AESGCM(raw), version), version

    def _tenant_cipher(self, session: Session, org_id: str, version: int) -> AESGCM:
        """The tenant key version, from the cache when it is there (its row is read only to unwrap it)."""
        cached = self._cached(f"tenant:{org_id}:{version}")
        if cached:
            return cached[0]
        return self._tenant_aead(self._tenant_key(session, org_id, version))

    def data_key_org(self, key_id: str) -> str | None:
        with self.transaction() as session:
            return session.scalar(select(DataKey.org_id).where(DataKey.id == key_id))

    def is_destroyed(self, key_id: str) -> bool:
        """True when the data key was crypto-shredded (the data it sealed is erased)."""
        with self.transaction() as session:
            return session.get(DestroyedKey, key_id) is not None

    def system_data_key(self, purpose: str) -> str:
        """The data key sealing the service's own records of `purpose` (audit, outbox, …), made on first use."""
        key_id = self._system.get(purpose)
        if key_id is not None:
            return key_id
        for attempt in range(3):
            try:
                key_id = self._find_or_make_system_key(purpose)
                break
            except IntegrityError:
                # Another process made the service's tenant key or this purpose's key first: use theirs.
                if attempt == 2:
                    raise
        self._system[purpose] = key_id
        return key_id

    def _find_or_make_system_key(self, purpose: str) -> str:
        with self.transaction() as session:
            row = session.get(SystemKey, purpose)
            if row is None:
                if not session.scalar(select(func.count()).select_from(TenantKey)
                                      .where(TenantKey.org_id == SYSTEM_TENANT)):
                    self._add_tenant_key(session, SYSTEM_TENANT, 1, ACTIVE)
                row = SystemKey(purpose=purpose, data_key_id=self._add_data_key(session, SYSTEM_TENANT, purpose, None))
                session.add(row)
            return row.data_key_id

    # -- values ------------------------------------------------------------
    # Sealing and opening values is the hot path (every personal field read or written), so the
    # blob layout from `aead` is applied inline here with cached headers.
    def seal(self, plaintext: bytes, key_id: str, place: Place) -> bytes:
        cipher, version = self.data_aead(key_id)
        header = self._headers.get(key_id) or Header(uuid.UUID(key_id), version).pack()
        nonce = os.urandom(aead.NONCE_BYTES)
        return header + nonce + cipher.encrypt(nonce, plaintext, header + place.encoded)

    def open(self, blob: bytes, place: Place) -> bytes:
        return self.open_at(blob, place.encoded)

    def open_at(self, blob: bytes, encoded_place: bytes) -> bytes:
        """`open` with the place given as its `Place.encoded` bytes.

        Encrypted attributes open every value through here: no `Place` and no
        key-id string is built per value while the data key is cached.
        """
        if len(blob) < aead.MIN_LENGTH or blob[0] != aead.FORMAT_VERSION:
            aead.read_header(blob, _place_text(encoded_place))  # raises, naming what is wrong
        raw_id = blob[1:17]
        entry = self._by_raw_id.get(raw_id)
        if entry is not None and entry[2] > time.monotonic():
            cipher = entry[0]
        else:
            cipher = self.data_aead(str(uuid.UUID(bytes=raw_id)))[0]
        try:
            return cipher.decrypt(blob[_NONCE_START:_BODY_START], blob[_BODY_START:],
                                  blob[:_NONCE_START] + encoded_place)
        except InvalidTag:
            raise DecryptionFailed(str(uuid.UUID(bytes=raw_id)), _place_text(encoded_place)) from None

    # -- destruction and rotation -----------------------------------------
    def destroy_data_key(self, key_id: str) -> None:
        """Crypto-shred: delete the wrapped key, and the keys it replaced in rotations (which still open
        older backups); nothing sealed under any of them, in any copy, can be read again."""
        try:
            with self.transaction() as session:
                data_key = session.get(DataKey, key_id)
                if data_key is None:
                    if session.get(DestroyedKey, key_id) is not None:
                        return  # already erased
                    raise KeyNotFound(key_id, "data key")
                if data_key.org_id == SYSTEM_TENANT:
                    raise CryptoError("the service's own data keys protect the audit log and mail; "
                                      "they are never erased")
                chain = [key_id, *self._predecessors(session, key_id)]
                session.add_all(DestroyedKey(id=dead, org_id=data_key.org_id) for dead in chain)
                session.execute(delete(DataKey).where(DataKey.id.in_(chain)))
        except IntegrityError:  # destroyed at the same moment by another process: just as gone
            if not self.is_destroyed(key_id):
                raise
            chain = [key_id]
        for dead in chain:
            self.forget(dead)

    @staticmethod
    def _predecessors(session: Session, key_id: str) -> list[str]:
        """The retired keys a rotation replaced, directly or not, by `key_id`."""
        found: list[str] = []
        frontier = [key_id]
        while frontier:
            frontier = list(session.scalars(select(DataKey.id).where(DataKey.replaced_by.in_(frontier))))
            found += frontier
        return found

    def retire_data_key(self, key_id: str, successor_id: str) -> None:
        """A rotation moved everything under `key_id` to `successor_id`: keep the old key for backups only."""
        with self.transaction() as session:
            session.execute(update(DataKey).where(DataKey.id == key_id)
                            .values(retired_at=utcnow(), replaced_by=successor_id))

    def purge_retired(self, older_than: dt.timedelta) -> int:
        """Delete keys retired by rotations longer ago than backups are kept, and tenant key versions
        nothing is wrapped under any more; returns how many data keys went."""
        cutoff = utcnow() - older_than
        with self.transaction() as session:
            count = session.execute(delete(DataKey).where(DataKey.retired_at < cutoff)).rowcount or 0
            in_use = select(DataKey.id).where(DataKey.org_id == TenantKey.org_id,
                                              DataKey.tenant_key_version == TenantKey.version).exists()
            session.execute(update(TenantKey).where(TenantKey.state == RETIRED, TenantKey.wrapped.is_not(None),
                                                    ~in_use).values(wrapped=None, destroyed_at=utcnow()))
        self.forget()
        return count

    def destroy_tenant(self, org_id: str) -> int:
        """Crypto-shred a whole tenant: every version of its key and every data key under it."""
        if org_id == SYSTEM_TENANT:
            raise CryptoError("the service's own keys are never erased")
        with self.transaction() as session:
            ids = list(session.scalars(select(DataKey.id).where(DataKey.org_id == org_id)))
            session.add_all(DestroyedKey(id=key_id, org_id=org_id) for key_id in ids)
            session.execute(delete(DataKey).where(DataKey.org_id == org_id))
            for tenant_key in session.scalars(select(TenantKey).where(TenantKey.org_id == org_id)):
                tenant_key.wrapped, tenant_key.state, tenant_key.destroyed_at = None, DESTROYED, utcnow()
                self.forget(f"tenant:{org_id}:{tenant_key.version}")
        for key_id in ids:
            self.forget(key_id)
        return len(ids)

    def rewrap_tenant_keys(self) -> int:
        """Rewrap every live tenant key under the current master key (no data is re-encrypted)."""
        current = self.root.master.current_id
        count = 0
        with self.transaction() as session:
            live = select(TenantKey).where(TenantKey.wrapped.is_not(None), TenantKey.master_key_id != current)
            for tenant_key in session.scalars(live):
                assert tenant_key.wrapped is not None
                place = _tenant_place(tenant_key.org_id, tenant_key.version)
                raw = aead.open_sealed(self.root.master.aead(tenant_key.master_key_id), tenant_key.wrapped, place)
                header = aead.read_header(tenant_key.wrapped, place)
                tenant_key.wrapped = aead.seal(self.root.master.aead(current), header, raw, place)
                tenant_key.master_key_id = current
                count += 1
        return count

    # -- cache -------------------------------------------------------------
    def _cached(self, cache_id: str) -> tuple[AESGCM, int, float] | None:
        entry = self._cache.get(cache_id)
        if entry and entry[2] > time.monotonic():
            return entry
        return None

    def _remember(self, cache_id: str, cipher: AESGCM, version: int) -> AESGCM:
        if self.cache_seconds <= 0:
            return cipher  # every seal and open goes to the key store
        entry = (cipher, version, time.monotonic() + self.cache_seconds)
        with self._lock:
            self._cache[cache_id] = entry
            if not cache_id.startswith("tenant:"):
                key_id = uuid.UUID(cache_id)
                self._by_raw_id[key_id.bytes] = entry
                self._headers[cache_id] = Header(key_id, version).pack()
        return cipher

    def forget(self, cache_id: str | None = None) -> None:
        """Drop one key (or every key) from this process's cache."""
        with self._lock:
            if cache_id is None:
                self._cache.clear()
                self._by_raw_id.clear()
                self._headers.clear()
            else:
                self._cache.pop(cache_id, None)
                self._headers.pop(cache_id, None)
                raw_id = _raw_key_id(cache_id)
                if raw_id is not None:
                    self._by_raw_id.pop(raw_id, None)
