"""Verification names a corrupted row, whatever was written into it, instead of crashing on it.

Each corruption is written as the database at hand accepts it: SQLite stores
any value in any column, PostgreSQL enforces column types, so some kinds take
another form there (text into a timestamp is refused, 'infinity' is not).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from trustcenter.audit import purge
from trustcenter.audit.cli import audit_group
from tests.audit.helpers import check, fill, tamper

# Clear columns that may be NULL get a value, so that setting them to NULL changes something.
CLEAR = {"actor_id": "0b7c1f1e-5d5e-4a37-9d4e-2f1f3c0a9b11", "subject_type": "person", "subject_id": "42",
         "org_id": "6d1f4a2e-2b7c-4c1e-9a53-3c1d2e4f5a60"}

# kind -> backend -> (SET clause applied to entry 3, words the report must contain)
ENTRY_CORRUPTIONS = {
    "unparseable time": {
        "sqlite": [("at = at || 'x'", "not a timestamp"), ("at = 'infinity'", "not a timestamp"),
                   ("at = ''", "not a timestamp"), ("at = 'yesterday'", "not a timestamp")],
        "postgresql": [("at = 'infinity'", "not a timestamp"), ("at = '-infinity'", "not a timestamp"),
                       ("at = '10000-01-01 00:00:00+00'", "not a timestamp"),
                       ("at = '0044-03-15 00:00:00+00 BC'", "not a timestamp")],
    },
    "wrong type": {
        "sqlite": [("at = 20260301", "not a timestamp"), ("at = 1.5", "not a timestamp"),
                   ("at = X'00ff'", "not a timestamp"), ("action = X'ff'", "not text"),
                   ("action = CAST(X'ff' AS TEXT)", "not text"), ("actor_label = 42", "altered"),
                   ("details = 'not bytes'", "not a ciphertext"), ("details = 42", "not a ciphertext"),
                   ("prev_hash = X'00'", "not a SHA-256 hash"), ("hash = 7", "not a SHA-256 hash")],
        "postgresql": [("action = 42", "altered"), ("actor_label = 1.5", "altered"),
                       ("subject_id = CAST(at AS TEXT)", "altered")],
    },
    "null": {
        backend: [(f"{column} = NULL", "altered") for column in CLEAR] for backend in ("sqlite", "postgresql")
    },
    "garbage ciphertext": {
        "sqlite": [("details = substr(details, 1, 5)", "altered"), ("details = X''", "altered"),
                   ("details = X'deadbeef'", "altered"), ("details = zeroblob(70000)", "altered")],
        "postgresql": [("details = substr(details, 1, 5)", "altered"), ("details = decode('', 'hex')", "altered"),
                       ("details = decode('deadbeef', 'hex')", "altered")],
    },
    "wrong-length hash": {
        "sqlite": [("hash = substr(hash, 1, 63)", "not a SHA-256 hash"), ("prev_hash = ''", "not a SHA-256 hash"),
                   ("hash = hash || hash", "not a SHA-256 hash")],
        "postgresql": [("hash = substr(hash, 1, 63)", "not a SHA-256 hash"),
                       ("prev_hash = ''", "not a SHA-256 hash")],
    },
    "non-hex hash": {
        backend: [("hash = 'g' || substr(hash, 2)", "not a SHA-256 hash"),
                  ("prev_hash = upper(prev_hash)", "not a SHA-256 hash"),
                  ("hash = 'not a hash'", "not a SHA-256 hash")] for backend in ("sqlite", "postgresql")
    },
    "another table's row": {  # the head row's values landed in the entry's columns (a botched restore)
        "sqlite": [("(at, actor_label, action, details, hash) = "
                    "(SELECT last_id, id, last_hash, signature, signature FROM audit_head)", "corrupt")],
        "postgresql": [("(at, actor_label, action, details, hash) = (SELECT now(), CAST(id AS TEXT), last_hash, "
                        "decode(signature, 'hex'), substr(signature, 1, 64) FROM audit_head)", "altered")],
    },
}

# backend -> (SET clause applied to the head row, words the report must contain); the log has 6 entries.
HEAD_CORRUPTIONS = {
    "sqlite": [("last_id = 'six'", "not a whole number"), ("last_id = X'06'", "not a whole number"),
               ("last_id = 6.5", "not a whole number"), ("last_hash = X'00'", "not a SHA-256 hash"),
               ("last_hash = 'g' || substr(last_hash, 2)", "not a SHA-256 hash"), ("signature = 42", "signature")],
    "postgresql": [("last_hash = upper(last_hash)", "not a SHA-256 hash"), ("signature = ''", "signature"),
                   ("last_id = 99", "signature")],
}

# backend -> (SET clause applied to the checkpoint over entries 1-3, entry blamed, words the report must contain)
CHECKPOINT_CORRUPTIONS = {
    "sqlite": [("upto_id = 'three'", 1, "not a whole number"), ("created_at = created_at || 'x'", 4, "timestamp"),
               ("purged_count = X'03'", 4, "not a whole number"), ("upto_hash = 7", 4, "SHA-256"),
               ("signature = 7", 4, "invalid signature")],
    "postgresql": [("created_at = 'infinity'", 4, "not a timestamp"), ("upto_hash = upper(upto_hash)", 4, "SHA-256"),
                   ("signature = ''", 4, "invalid signature")],
}


@pytest.fixture
def cli(app, runner):
    app.cli.add_command(audit_group)
    return runner


def fresh_log(session, count: int = 6) -> None:
    """Start again from an empty log, so each corruption meets an intact one."""
    for table in ("audit_entries", "audit_checkpoints", "audit_head"):
        tamper(session, f"DELETE FROM {table}")
    fill(session, count, **CLEAR)


def assert_reported(result, entry_id: int, *words: str) -> None:
    """Exit 1 with the entry named, and no exception: the runner keeps a crash's exception instead of printing it."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"Audit log broken at entry {entry_id}: " in result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output


@pytest.mark.parametrize("kind", sorted(ENTRY_CORRUPTIONS))
def test_verify_names_a_corrupted_entry(cli, session, databases, kind):
    for change, words in ENTRY_CORRUPTIONS[kind][databases.backend]:
        fresh_log(session)
        tamper(session, f"UPDATE audit_entries SET {change} WHERE id = 3")
        result = cli.invoke(args=["audit", "verify"])
        assert_reported(result, 3, words)


def test_verify_reports_a_corrupted_head(cli, session, databases):
    for change, words in HEAD_CORRUPTIONS[databases.backend]:
        fresh_log(session)
        tamper(session, f"UPDATE audit_head SET {change}")
        assert_reported(cli.invoke(args=["audit", "verify"]), 6, words)


def test_verify_reports_a_corrupted_checkpoint(cli, session, keys, clock, databases):
    for change, entry_id, words in CHECKPOINT_CORRUPTIONS[databases.backend]:
        clock.days_ago(40)
        fresh_log(session, 3)
        clock.real()
        fill(session, 3)
        purge(session, keys.audit_signing)
        session.commit()
        tamper(session, f"UPDATE audit_checkpoints SET {change}")
        assert_reported(cli.invoke(args=["audit", "verify"]), entry_id, "checkpoint", words)


@contextmanager
def loose_entries(session):
    """Shadow audit_entries, for this session's connection only, with a copy that has no NOT NULL constraints.

    Both databases refuse NULL in required columns, but a restore into a
    hand-made schema would not: CREATE TABLE AS copies the rows and drops the
    constraints, and a temporary table is found before the real one.
    """
    session.execute(text("CREATE TEMPORARY TABLE audit_entries AS SELECT * FROM audit_entries"))
    try:
        yield
    finally:
        if session.get_bind().dialect.name == "sqlite":
            # pysqlite runs CREATE outside any transaction, so a rollback would keep the copy: drop it for good
            # (committing is harmless, only the copy was changed).
            session.execute(text("DROP TABLE temp.audit_entries"))
            session.commit()
        else:
            session.rollback()  # PostgreSQL created the copy inside the transaction


@pytest.mark.parametrize("column", ["at", "actor_label", "action", "details", "prev_hash", "hash"])
def test_null_in_a_required_column_is_named(session, keys, column):
    fresh_log(session)
    with loose_entries(session):
        session.execute(text(f"UPDATE audit_entries SET {column} = NULL WHERE id = 3"))
        result = check(session, keys)
    assert not result.ok and result.first_broken_id == 3, result
    assert f"column {column} holds NULL" in result.reason


def test_an_entry_without_a_usable_id_is_reported(session, keys, databases):
    fresh_log(session)
    for value in ["NULL"] + (["'three'", "3.5"] if databases.backend == "sqlite" else []):
        with loose_entries(session):
            session.execute(text(f"UPDATE audit_entries SET id = {value} WHERE id = 3"))
            result = check(session, keys)
        assert not result.ok and result.first_broken_id in (1, 3), result


# data_key_id only says which key opens the details; the chain leaves it out on purpose (see docs/audit.md).
FUZZED_COLUMNS = ["id", "at", "actor_id", "actor_label", "action", "subject_type", "subject_id", "org_id",
                  "details", "prev_hash", "hash"]
VALUES = st.one_of(
    st.none(),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=80),  # lone surrogates cannot even be sent
    st.datetimes().map(lambda moment: moment.isoformat(sep=" ")),
    # Timestamps PostgreSQL accepts and Python cannot hold.
    st.sampled_from(["infinity", "-infinity", "10000-01-01 00:00:00+00", "0044-03-15 00:00:00+00 BC"]),
    st.integers(-2**63, 2**63 - 1),
    st.floats(),
    st.binary(max_size=80),
    st.integers(65, 20_000).map(lambda length: "f" * length),
)


def stored(session, column: str, entry_id: int) -> object:
    """What the database holds in one cell, in a form that can be compared and never fails to load."""
    if session.get_bind().dialect.name == "sqlite":
        query = f"SELECT typeof({column}) || ':' || hex({column}) FROM audit_entries WHERE id = :id"
    else:
        query = f"SELECT CAST({column} AS TEXT) FROM audit_entries WHERE id = :id"
    return session.execute(text(query), {"id": entry_id}).first()


def write(session, column: str, entry_id: int, value: object) -> None:
    try:
        tamper(session, f"UPDATE audit_entries SET {column} = :value WHERE id = :id", value=value, id=entry_id)
    except StatementError:  # the database refused the value, so the log is as it was
        session.rollback()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry_id=st.integers(1, 4), column=st.sampled_from(FUZZED_COLUMNS), value=VALUES)
def test_verify_survives_any_value_in_any_column(session, keys, entry_id, column, value):
    fresh_log(session, 4)
    before = stored(session, column, entry_id)
    write(session, column, entry_id, value)
    changed = stored(session, column, entry_id) != before
    result = check(session, keys)
    assert result.ok is not changed, (result, before)
    if changed and column != "id":  # a moved id is blamed where the walk notices the gap
        assert result.first_broken_id == entry_id, result
