"""The chain's arithmetic: canonical encodings, entry hashes, head and checkpoint signatures.

Pure functions over plain values, so the same code hashes an entry being
written and a row read back for verification. Every encoding is JSON with
sorted keys and no whitespace, and names its kind and format version, so no
two different records can encode to the same bytes and a signature over one
kind of record can never be replayed as another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from trustcenter.crypto import Sealed

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64


class Linked(Protocol):
    """What an entry hash covers: an `AuditEntry` or a row selected with the same names."""

    id: int
    at: dt.datetime
    actor_id: str | None
    actor_label: str
    action: str
    subject_type: str | None
    subject_id: str | None
    org_id: str | None
    details_sealed: Sealed
    prev_hash: str


def canonical(payload: dict[str, Any]) -> bytes:
    """One byte string per payload: sorted keys, no whitespace, ASCII only."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode()


def iso_utc(moment: dt.datetime) -> str:
    """A fixed-width UTC timestamp with microseconds, the same whatever the database returned."""
    if moment.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: Linked) -> str:
    """SHA-256 (hex) over an entry's fields, its details ciphertext and the previous hash."""
    payload = {
        "kind": "audit_entry", "v": FORMAT_VERSION,
        "id": entry.id, "at": iso_utc(entry.at),
        "actor_id": entry.actor_id, "actor_label": entry.actor_label, "action": entry.action,
        "subject_type": entry.subject_type, "subject_id": entry.subject_id, "org_id": entry.org_id,
        "details": entry.details_sealed.blob.hex(), "prev_hash": entry.prev_hash,
    }
    return hashlib.sha256(canonical(payload)).hexdigest()


def head_message(last_id: int, last_hash: str) -> bytes:
    """What the head signature covers: which entry is the last one, and its hash."""
    return canonical({"kind": "audit_head", "v": FORMAT_VERSION, "last_id": last_id, "last_hash": last_hash})


def checkpoint_message(upto_id: int, upto_hash: str, purged_count: int, created_at: dt.datetime,
                       prev_signature: str) -> bytes:
    """What a checkpoint signature covers, chained to the previous checkpoint's signature."""
    return canonical({
        "kind": "audit_checkpoint", "v": FORMAT_VERSION, "upto_id": upto_id, "upto_hash": upto_hash,
        "purged_count": purged_count, "created_at": iso_utc(created_at), "prev_signature": prev_signature,
    })


def sign(signing_key: Ed25519PrivateKey, message: bytes) -> str:
    """An Ed25519 signature, hex."""
    return signing_key.sign(message).hex()


def signature_valid(verify_key: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    """True when `signature` (hex) is the signing key's signature over `message`."""
    try:
        verify_key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
