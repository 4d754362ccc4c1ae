"""Purging old entries leaves a signed checkpoint, so the rest still verifies; tampering is caught."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from trustcenter.audit import AuditCheckpoint, AuditEntry, AuditHead, AuditLogBroken, purge, record
from tests.audit.helpers import check, fill, tamper


@pytest.fixture
def aged_log(session, clock) -> None:
    """Entries 1-4 written 40 days ago, 5-6 written today."""
    clock.days_ago(40)
    fill(session, 4)
    clock.real()
    fill(session, 2)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def purge_now(session, keys, **kwargs):
    result = purge(session, keys.audit_signing, **kwargs)
    session.commit()
    return result


def test_purge_deletes_old_entries_and_the_rest_still_verifies(session, keys, aged_log):
    result = purge_now(session, keys)
    assert (result.purged, result.upto_id) == (4, 4)
    remaining = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
    assert remaining == [5, 6, 7]
    checkpoint = session.get(AuditCheckpoint, result.checkpoint_id)
    assert (checkpoint.upto_id, checkpoint.purged_count) == (4, 4)
    verified = check(session, keys)
    assert verified.ok and verified.checked == 3


def test_the_purge_is_itself_recorded(session, keys, aged_log):
    result = purge_now(session, keys)
    entry = session.get(AuditEntry, 7)
    assert (entry.action, entry.subject_type, entry.subject_id) == ("retention.purged", "audit_checkpoint",
                                                                   str(result.checkpoint_id))
    assert entry.details["purged_count"] == 4 and entry.details["upto_id"] == 4


def test_purge_with_nothing_old_does_nothing(session, keys, clock):
    fill(session, 3)
    head = session.get(AuditHead, 1).last_hash
    result = purge_now(session, keys)
    assert (result.purged, result.checkpoint_id) == (0, None)
    assert count(session, AuditEntry) == 3 and count(session, AuditCheckpoint) == 0
    assert session.get(AuditHead, 1).last_hash == head
    assert purge_now(session, keys).purged == 0


def test_purge_of_an_empty_log_does_nothing(session, keys):
    assert purge_now(session, keys).purged == 0
    assert check(session, keys).ok


def test_purge_deletes_only_a_prefix(session, keys, clock):
    """An old entry after a young one (clock stepped back) waits until the young one is old too."""
    clock.days_ago(40)
    fill(session, 2)
    clock.days_ago(1)
    fill(session, 1)
    clock.days_ago(50)
    fill(session, 1)
    clock.real()
    assert purge_now(session, keys).upto_id == 2
    assert session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all() == [3, 4, 5]
    assert check(session, keys).ok


def test_repeated_purges_chain_their_checkpoints(session, keys, clock, aged_log):
    purge_now(session, keys)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=40)
    second = purge_now(session, keys, now=later)
    assert (second.upto_id, second.purged) == (7, 3)
    assert count(session, AuditCheckpoint) == 2
    assert session.scalars(select(AuditEntry.id)).all() == [8]
    assert check(session, keys).ok
    record(session, "login.success")
    session.commit()
    assert check(session, keys).ok and check(session, keys).checked == 2


@pytest.mark.parametrize("column, value", [
    ("purged_count", 3), ("upto_id", 3), ("upto_hash", "ab" * 32), ("signature", "ab" * 64),
])
def test_a_tampered_checkpoint_is_detected(session, keys, aged_log, column, value):
    purge_now(session, keys)
    tamper(session, f"UPDATE audit_checkpoints SET {column} = :value", value=value)
    result = check(session, keys)
    assert not result.ok and "checkpoint" in result.reason and "signature" in result.reason


def test_a_checkpoint_moved_past_deleted_entries_is_detected(session, keys, aged_log):
    purge_now(session, keys)
    tamper(session, "DELETE FROM audit_entries WHERE id = 5")
    tamper(session, "UPDATE audit_checkpoints SET upto_id = 5")
    assert not check(session, keys).ok


def test_entries_deleted_right_after_a_checkpoint_are_detected(session, keys, aged_log):
    purge_now(session, keys)
    tamper(session, "DELETE FROM audit_entries WHERE id = 5")
    result = check(session, keys)
    assert (result.ok, result.first_broken_id) == (False, 5)


def test_a_removed_checkpoint_is_detected(session, keys, aged_log):
    purge_now(session, keys)
    purge_now(session, keys, now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=40))
    first = session.scalar(select(func.min(AuditCheckpoint.id)))
    tamper(session, "DELETE FROM audit_checkpoints WHERE id = :id", id=first)
    assert "signature" in check(session, keys).reason
    tamper(session, "DELETE FROM audit_checkpoints")
    assert "missing" in check(session, keys).reason


def test_purge_refuses_a_broken_log(session, keys, aged_log):
    tamper(session, "UPDATE audit_entries SET action = 'login.failure' WHERE id = 2")
    with pytest.raises(AuditLogBroken, match="entry 2"):
        purge(session, keys.audit_signing)
    session.rollback()
    assert count(session, AuditEntry) == 6 and count(session, AuditCheckpoint) == 0


def test_purge_needs_an_aware_now(session, keys, aged_log):
    with pytest.raises(ValueError):
        purge(session, keys.audit_signing, now=dt.datetime(2030, 1, 1))
    session.rollback()
