"""The chain's encodings and hashes, without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustcenter.audit import chain
from trustcenter.crypto import Sealed

UTC = dt.timezone.utc


@dataclasses.dataclass
class Entry:
    id: int = 7
    at: dt.datetime = dt.datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=UTC)
    actor_id: str | None = "0b7c1f1e-5d5e-4a37-9d4e-2f1f3c0a9b11"
    actor_label: str = "staff"
    action: str = "personal_data.viewed"
    subject_type: str | None = "person"
    subject_id: str | None = "42"
    org_id: str | None = "org-1"
    details_sealed: Sealed = Sealed(b"\x01ciphertext")
    prev_hash: str = chain.GENESIS_HASH


CHANGES = {
    "id": 8, "at": dt.datetime(2026, 3, 1, 12, 0, 0, 6, tzinfo=UTC), "actor_id": None, "actor_label": "system",
    "action": "personal_data.exported", "subject_type": "request", "subject_id": "43", "org_id": None,
    "details_sealed": Sealed(b"\x01ciphertexu"), "prev_hash": "f" * 64,
}


def test_hash_is_hex_sha256_and_deterministic():
    digest = chain.entry_hash(Entry())
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert chain.entry_hash(Entry()) == digest


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_every_field_is_covered(field):
    assert chain.entry_hash(dataclasses.replace(Entry(), **{field: CHANGES[field]})) != chain.entry_hash(Entry())


def test_field_boundaries_are_unambiguous():
    shifted = dataclasses.replace(Entry(), subject_type="person4", subject_id="2")
    assert chain.entry_hash(shifted) != chain.entry_hash(Entry())
    assert chain.entry_hash(dataclasses.replace(Entry(), org_id="")) != chain.entry_hash(Entry(org_id=None))


def test_timestamps_are_normalised_to_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    same_moment = Entry(at=dt.datetime(2026, 3, 1, 13, 0, 0, 5, tzinfo=paris))
    assert chain.entry_hash(same_moment) == chain.entry_hash(Entry())
    assert chain.iso_utc(Entry().at) == "2026-03-01T12:00:00.000005Z"
    with pytest.raises(ValueError):
        chain.iso_utc(dt.datetime(2026, 3, 1))


def test_signatures_verify_only_for_their_key_and_message():
    key = Ed25519PrivateKey.generate()
    message = chain.head_message(3, "a" * 64)
    signature = chain.sign(key, message)
    assert chain.signature_valid(key.public_key(), signature, message)
    assert not chain.signature_valid(key.public_key(), signature, chain.head_message(4, "a" * 64))
    assert not chain.signature_valid(Ed25519PrivateKey.generate().public_key(), signature, message)
    assert not chain.signature_valid(key.public_key(), "not hex", message)


def test_head_and_checkpoint_messages_cannot_be_confused():
    at = dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert chain.head_message(3, "a" * 64) != chain.checkpoint_message(3, "a" * 64, 3, at, "")
    assert chain.checkpoint_message(3, "a" * 64, 3, at, "") != chain.checkpoint_message(3, "a" * 64, 3, at, "ab")
