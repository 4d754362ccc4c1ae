"""Changing, deleting or inserting entries behind the service's back is detected, at the right entry."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from trustcenter.audit import AuditEntry, AuditHead, AuditLogError, record
from trustcenter.audit.chain import entry_hash, head_message, sign
from trustcenter.crypto import Sealed
from tests.audit.helpers import check, fill, raw_details, tamper


@pytest.fixture
def log(session) -> list[int]:
    """Six committed entries."""
    return fill(session, 6)


def assert_broken_at(session, keys, entry_id: int, *words: str) -> None:
    result = check(session, keys)
    assert not result.ok
    assert result.first_broken_id == entry_id, result
    for word in words:
        assert word in result.reason


@pytest.mark.parametrize("sql", [
    "UPDATE audit_entries SET action = 'login.failure' WHERE id = 3",
    "UPDATE audit_entries SET actor_id = 'someone-else' WHERE id = 3",
    "UPDATE audit_entries SET org_id = 'org-2' WHERE id = 3",
    "UPDATE audit_entries SET actor_label = 'system' WHERE id = 3",
    "UPDATE audit_entries SET prev_hash = hash WHERE id = 3",
])
def test_a_changed_column_is_detected(session, keys, log, sql):
    tamper(session, sql)
    assert_broken_at(session, keys, 3, "altered")


def test_a_changed_time_is_detected(session, keys, log):
    at = session.scalar(select(AuditEntry.at).where(AuditEntry.id == 4))
    tamper(session, "UPDATE audit_entries SET at = :at WHERE id = 4", at=at - dt.timedelta(seconds=1))
    assert_broken_at(session, keys, 4, "altered")


def test_changed_details_ciphertext_is_detected(session, keys, log):
    blob = bytearray(raw_details(session, 5))
    blob[-1] ^= 0x01
    tamper(session, "UPDATE audit_entries SET details = :details WHERE id = 5", details=bytes(blob))
    assert_broken_at(session, keys, 5, "altered")


def test_a_deleted_entry_in_the_middle_is_detected(session, keys, log):
    tamper(session, "DELETE FROM audit_entries WHERE id = 3")
    assert_broken_at(session, keys, 3, "entry 3 is missing")
    assert check(session, keys).checked == 2


def test_deleted_first_entries_are_detected(session, keys, log):
    tamper(session, "DELETE FROM audit_entries WHERE id <= 2")
    assert_broken_at(session, keys, 1, "entries 1-2 are missing")


def test_a_truncated_tail_is_detected_by_the_head(session, keys, log):
    tamper(session, "DELETE FROM audit_entries WHERE id >= 5")
    assert_broken_at(session, keys, 5, "truncated")


def forge_after(session, last_id: int) -> dict:
    """A plausible row after `last_id`: right id, right prev_hash, correctly computed hash."""
    last = session.execute(select(AuditEntry.hash, AuditEntry.data_key_id).where(AuditEntry.id == last_id)).one()
    row = dict(id=last_id + 1, at=dt.datetime.now(dt.timezone.utc), actor_id=None, actor_label="system",
               action="keys.rotate_master", subject_type=None, subject_id=None, org_id=None,
               data_key_id=last.data_key_id, details=raw_details(session, last_id), prev_hash=last.hash)
    row["hash"] = entry_hash(SimpleNamespace(**row, details_sealed=Sealed(row["details"])))
    return row


INSERT = ("INSERT INTO audit_entries (id, at, actor_id, actor_label, action, subject_type, subject_id, org_id, "
          "data_key_id, details, prev_hash, hash) VALUES (:id, :at, :actor_id, :actor_label, :action, "
          ":subject_type, :subject_id, :org_id, :data_key_id, :details, :prev_hash, :hash)")


def test_an_inserted_entry_with_a_plausible_hash_is_detected(session, keys, log):
    tamper(session, INSERT, **forge_after(session, 6))
    assert_broken_at(session, keys, 7, "not covered by the signed head")


def test_an_inserted_entry_with_a_moved_head_is_detected_by_the_head_signature(session, keys, log):
    forged = forge_after(session, 6)
    tamper(session, INSERT, **forged)
    tamper(session, "UPDATE audit_head SET last_id = 7, last_hash = :hash", hash=forged["hash"])
    assert_broken_at(session, keys, 7, "signature")


def test_a_rewritten_chain_is_detected_without_the_signing_key(session, keys, log):
    """Recomputing every later hash is easy; signing the new head needs the audit key."""
    tamper(session, "UPDATE audit_entries SET action = 'login.failure' WHERE id = 5")
    prev_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.id == 4))
    for entry_id in (5, 6):
        table = AuditEntry.__table__
        row = session.execute(select(table).where(table.c.id == entry_id)).one()._asdict()
        row["prev_hash"] = prev_hash
        prev_hash = entry_hash(SimpleNamespace(**row, details_sealed=row["details"]))
        tamper(session, "UPDATE audit_entries SET prev_hash = :prev, hash = :hash WHERE id = :id",
               prev=row["prev_hash"], hash=prev_hash, id=entry_id)
    forged = sign(Ed25519PrivateKey.generate(), head_message(6, prev_hash))
    tamper(session, "UPDATE audit_head SET last_hash = :hash, signature = :sig", hash=prev_hash, sig=forged)
    assert_broken_at(session, keys, 6, "signature")


def test_an_entry_before_the_start_is_detected(session, keys, log):
    forged = forge_after(session, 6)
    tamper(session, INSERT, **{**forged, "id": 0})
    assert_broken_at(session, keys, 0, "before the start")


def test_a_deleted_head_is_detected_and_blocks_appending(session, keys, log):
    tamper(session, "DELETE FROM audit_head")
    assert_broken_at(session, keys, 6, "head row is missing")
    with pytest.raises(AuditLogError, match="head row is missing"):
        record(session, "login.success")
    session.rollback()
    assert session.get(AuditHead, 1) is None


def test_verification_does_not_need_the_data_key(app, session, keys, log):
    """Shredding the audit data key makes details unreadable but leaves the chain verifiable."""
    from trustcenter.crypto.models import DataKey

    service = app.extensions["keys"]
    lost = session.scalar(select(AuditEntry.data_key_id).limit(1))
    with service.transaction() as store:  # the service never erases its own keys; lose it by hand
        store.delete(store.get(DataKey, lost))
    service.forget()
    assert check(session, keys).ok
