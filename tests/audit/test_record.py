"""Appending builds a valid chain in the caller's transaction; details are sealed; search pages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from tests.conftest import new_session
from trustcenter.audit import AuditEntry, AuditHead, record, search
from trustcenter.audit.chain import GENESIS_HASH, entry_hash
from tests.audit.helpers import check, fill, raw_details

IP = "203.0.113.7"


def test_appending_builds_a_valid_chain(session, keys):
    ids = fill(session, 5)
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert ids == [1, 2, 3, 4, 5] == [e.id for e in entries]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))
    assert all(entry_hash(e) == e.hash for e in entries)
    head = session.get(AuditHead, 1)
    assert (head.last_id, head.last_hash) == (5, entries[-1].hash)
    assert check(session, keys).ok and check(session, keys).checked == 5


def test_an_empty_log_verifies(session, keys):
    result = check(session, keys)
    assert (result.ok, result.checked) == (True, 0)


def test_entries_read_back_with_aware_utc_times_and_decrypted_details(session):
    entry = record(session, "export.downloaded", actor_id="u-1", actor_label="customer_admin",
                   subject_type="export", subject_id="exp-1", org_id="org-1", ip=IP, details={"format": "csv"})
    session.commit()
    session.expunge_all()
    loaded = session.get(AuditEntry, entry.id)
    assert loaded.at.tzinfo == dt.timezone.utc
    assert loaded.details == {"format": "csv", "ip": IP}
    assert (loaded.actor_label, loaded.org_id, loaded.subject_id) == ("customer_admin", "org-1", "exp-1")


def test_details_and_ip_are_not_stored_in_clear(session):
    record(session, "personal_data.viewed", actor_label="staff", ip=IP,
           details={"field": "postal_address", "request": "req-sensitive-4711"})
    session.commit()
    blob = raw_details(session, 1)
    for clear in (IP.encode(), b"postal_address", b"req-sensitive-4711"):
        assert clear not in blob
    row = session.execute(text("SELECT * FROM audit_entries")).one()
    assert IP not in repr(row) and "req-sensitive-4711" not in repr(row)


def test_record_flushes_but_leaves_the_commit_to_the_caller(session, keys):
    fill(session, 2)
    record(session, "mfa.enabled", actor_label="staff")
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 3  # flushed
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    assert session.get(AuditHead, 1).last_id == 2
    assert record(session, "mfa.enabled", actor_label="staff").id == 3
    session.commit()
    assert check(session, keys).ok


def test_a_session_holding_an_old_head_still_appends_after_the_newest(app, session, keys):
    fill(session, 1)
    head = session.get(AuditHead, 1)  # held, so the identity map keeps the now outdated head
    other = new_session()
    try:
        fill(other, 2)
    finally:
        other.close()
    assert record(session, "login.failure").id == 4
    session.commit()
    assert head.last_id == 4 and check(session, keys).ok


@pytest.mark.parametrize("key", ["password", "new_password", "reset_token", "totp_secret", "Token"])
def test_details_that_look_like_secrets_are_refused(session, key):
    with pytest.raises(ValueError, match="secrets"):
        record(session, "login.failure", details={key: "hunter2"})


def test_overlong_fields_and_missing_action_are_refused(session):
    with pytest.raises(ValueError):
        record(session, "x" * 65)
    with pytest.raises(ValueError):
        record(session, "")
    with pytest.raises(ValueError):
        record(session, "login.success", actor_id="u" * 37)
    with pytest.raises(ValueError):
        record(session, "login.success", ip=IP, details={"ip": "198.51.100.1"})


def test_search_filters_newest_first(session, clock):
    clock.days_ago(3)
    record(session, "login.success", actor_id="u-1", org_id="org-1")
    clock.days_ago(2)
    record(session, "login.failure", actor_id="u-2", org_id="org-2")
    clock.days_ago(1)
    record(session, "login.success", actor_id="u-2", org_id="org-1")
    session.commit()
    assert [e.id for e in search(session)] == [3, 2, 1]
    assert [e.id for e in search(session, action="login.success")] == [3, 1]
    assert [e.id for e in search(session, actor_id="u-2")] == [3, 2]
    assert [e.id for e in search(session, org_id="org-1", action="login.success")] == [3, 1]
    now = dt.datetime.now(dt.timezone.utc)
    assert [e.id for e in search(session, since=now - dt.timedelta(days=2, hours=1))] == [3, 2]
    assert [e.id for e in search(session, until=now - dt.timedelta(days=1, hours=1))] == [2, 1]


def test_search_pages_by_id(session):
    fill(session, 7)
    first = search(session, limit=3)
    second = search(session, before_id=first[-1].id, limit=3)
    third = search(session, before_id=second[-1].id, limit=3)
    assert [[e.id for e in page] for page in (first, second, third)] == [[7, 6, 5], [4, 3, 2], [1]]
    assert len(search(session, limit=0)) == 1


def test_search_refuses_naive_times(session):
    with pytest.raises(ValueError, match="timezone-aware"):
        search(session, since=dt.datetime(2026, 1, 1))
