"""Root keys: master keys (wrap tenant keys), the blind-index key, the audit signing key.

They come from `TRUSTCENTER_*` environment variables or from files in
`instance/keys/`. Development generates them there (ids start with `dev-`);
production refuses to start without configured keys, or with development ones.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trustcenter.crypto.errors import KeyConfigurationError, KeyNotFound

MASTER_ENV = "TRUSTCENTER_MASTER_KEY"
INDEX_ENV = "TRUSTCENTER_BLIND_INDEX_KEY"
AUDIT_ENV = "TRUSTCENTER_AUDIT_SIGNING_KEY"
MASTER_FILE = "master.keys"
INDEX_FILE = "blind_index.key"
AUDIT_FILE = "audit_signing.key"
DEV_PREFIX = "dev-"
# Generated index and audit key files start with this, so production can tell them apart.
DEV_FILE_MARK = "dev:"


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def decode_key(text: str, name: str) -> bytes:
    text = text.strip().removeprefix(DEV_FILE_MARK)
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        raise KeyConfigurationError(f"{name} is not valid base64") from None
    if len(raw) != 32:
        raise KeyConfigurationError(f"{name} must be 32 bytes (256 bits), not {len(raw)}")
    return raw


def parse_master_keys(text: str, source: str) -> list[tuple[str, bytes]]:
    """`id:base64` entries separated by commas or lines; the first is the current key."""
    entries = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        key_id, sep, encoded = part.replace(" ", ":", 1).partition(":")
        if not sep or not key_id:
            raise KeyConfigurationError(f"{source}: each master key must be written as ID:BASE64")
        entries.append((key_id, decode_key(encoded, f"{source} key {key_id}")))
    if not entries:
        raise KeyConfigurationError(f"{source} holds no master key")
    return entries


@dataclass
class MasterKeyRing:
    """Master keys by id; `current_id` wraps new tenant keys, the rest only unwrap."""

    # Key bytes never appear in a repr, so a stray log line or traceback cannot print them.
    keys: dict[str, bytes] = field(repr=False)
    current_id: str
    _aead: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def aead(self, key_id: str) -> AESGCM:
        cipher = self._aead.get(key_id)
        if cipher is None:
            if key_id not in self.keys:
                raise KeyNotFound(key_id, "master key")
            cipher = self._aead[key_id] = AESGCM(self.keys[key_id])
        return cipher


@dataclass(frozen=True)
class RootKeys:
    master: MasterKeyRing
    blind_index: bytes = field(repr=False)
    audit_signing: Ed25519PrivateKey = field(repr=False)

    @property
    def audit_verify(self) -> Ed25519PublicKey:
        return self.audit_signing.public_key()

    def blind_index_of(self, normalised: str) -> str:
        """HMAC-SHA256 (hex) of a value its caller has normalised: exact lookup without storing the value."""
        return hmac.new(self.blind_index, normalised.encode(), hashlib.sha256).hexdigest()

    @property
    def uses_development_keys(self) -> bool:
        return any(k.startswith(DEV_PREFIX) for k in self.master.keys)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return  # another process of the same instance made it first: everyone uses that one
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def generate_development_keys(key_dir: Path) -> None:
    """Create any missing key file in `key_dir`, marked as development keys."""
    if not (key_dir / MASTER_FILE).exists():
        key_id = f"{DEV_PREFIX}{dt.date.today():%Y%m%d}-{secrets.token_hex(3)}"
        _write_secret(key_dir / MASTER_FILE, f"{key_id}:{encode_key(AESGCM.generate_key(bit_length=256))}\n")
    for name in (INDEX_FILE, AUDIT_FILE):
        if not (key_dir / name).exists():
            _write_secret(key_dir / name, DEV_FILE_MARK + encode_key(secrets.token_bytes(32)) + "\n")


def load_root_keys(environ: Mapping[str, str], key_dir: Path, production: bool) -> RootKeys:
    """Read root keys from the environment, falling back to files in `key_dir`."""
    sources = {
        MASTER_ENV: environ.get(MASTER_ENV) or _read(key_dir / MASTER_FILE),
        INDEX_ENV: environ.get(INDEX_ENV) or _read(key_dir / INDEX_FILE),
        AUDIT_ENV: environ.get(AUDIT_ENV) or _read(key_dir / AUDIT_FILE),
    }
    for name, value in sources.items():
        if not value or not value.strip():
            raise KeyConfigurationError(
                f"{name} is not set and {key_dir} has no key file for it. "
                "Generate keys with `trustcenter keys generate` and configure them."
            )
    entries = parse_master_keys(sources[MASTER_ENV] or "", MASTER_ENV)
    ring = MasterKeyRing(dict(entries), entries[0][0])
    seed = decode_key(sources[AUDIT_ENV] or "", AUDIT_ENV)
    root = RootKeys(ring, decode_key(sources[INDEX_ENV] or "", INDEX_ENV),
                    Ed25519PrivateKey.from_private_bytes(seed))
    if production:
        refuse_development_keys(root, sources, key_dir)
    return root


def refuse_development_keys(root: RootKeys, sources: Mapping[str, str | None], key_dir: Path) -> None:
    """Production never runs on a key that development generated, whichever setting it came through."""
    if root.uses_development_keys:
        raise KeyConfigurationError(
            f"{MASTER_ENV} contains a development key (id starting with '{DEV_PREFIX}'); "
            "production needs its own keys."
        )
    dev_folder = _is_development_folder(key_dir)
    for name, file_name in ((INDEX_ENV, INDEX_FILE), (AUDIT_ENV, AUDIT_FILE)):
        value = (sources[name] or "").strip()
        on_file = (_read(key_dir / file_name) or "").strip()
        # Compared as keys, not text: `export X=$(cat file)` drops the mark and the newline.
        same_as_dev_file = bool(on_file) and dev_folder and _same_key(value, on_file, name)
        if value.startswith(DEV_FILE_MARK) or same_as_dev_file:
            raise KeyConfigurationError(
                f"{name} is a development key from {key_dir}; production needs its own key "
                f"(`trustcenter keys generate`), set in {name} or in a key folder without development keys."
            )


def _is_development_folder(key_dir: Path) -> bool:
    """A key folder development generated: a master key with a development id, or a marked file."""
    master = _read(key_dir / MASTER_FILE) or ""
    ids = [part.strip().replace(" ", ":", 1).partition(":")[0] for part in master.replace("\n", ",").split(",")]
    marked = any((_read(key_dir / name) or "").strip().startswith(DEV_FILE_MARK) for name in (INDEX_FILE, AUDIT_FILE))
    return marked or any(key_id.startswith(DEV_PREFIX) for key_id in ids)


def _same_key(a: str, b: str, name: str) -> bool:
    try:
        return hmac.compare_digest(decode_key(a, name), decode_key(b, name))
    except KeyConfigurationError:
        return False


def new_master_key_entry(prefix: str = "mk") -> str:
    """A fresh `id:base64` master key entry for configuration."""
    key_id = f"{prefix}-{dt.date.today():%Y%m%d}-{secrets.token_hex(3)}"
    return f"{key_id}:{encode_key(AESGCM.generate_key(bit_length=256))}"
