"""A rollback (newest entries deleted, an older signed head put back) caught by a head kept outside the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.audit.helpers import check, fill, tamper
from trustcenter.audit import AuditHead, Witness, purge, verify
from trustcenter.audit.cli import audit_group
from trustcenter.audit.service import HEAD_ID


def head_row(session) -> dict:
    row = session.execute(select(AuditHead.last_id, AuditHead.last_hash, AuditHead.signature)
                          .where(AuditHead.id == HEAD_ID)).one()
    return row._asdict()


def roll_back_to(session, old_head: dict) -> None:
    """What someone with write access and last night's backup of the head row could do."""
    tamper(session, "DELETE FROM audit_entries WHERE id > :last_id", last_id=old_head["last_id"])
    tamper(session, "UPDATE audit_head SET last_id = :last_id, last_hash = :last_hash, signature = :signature",
           **old_head)


def test_a_rollback_passes_the_chain_but_not_the_witness(session, keys):
    fill(session, 6)
    old_head = head_row(session)
    fill(session, 3)
    witness = Witness(head_row(session)["last_id"], head_row(session)["last_hash"])
    assert verify(session, keys.audit_verify, witness=witness).ok

    roll_back_to(session, old_head)

    assert check(session, keys).ok  # the shorter log is intact in itself: this is what the witness is for
    result = verify(session, keys.audit_verify, witness=witness)
    assert not result.ok and result.first_broken_id == 7 and "rolled back" in result.reason


def test_an_emptied_log_fails_against_the_witness(session, keys):
    fill(session, 4)
    witness = Witness(head_row(session)["last_id"], head_row(session)["last_hash"])
    tamper(session, "DELETE FROM audit_entries")
    tamper(session, "DELETE FROM audit_head")
    assert check(session, keys).ok  # indistinguishable from a new installation without the witness
    assert not verify(session, keys.audit_verify, witness=witness).ok


def test_a_witness_with_another_hash_means_a_rewrite(session, keys):
    fill(session, 5)
    witness = Witness(3, "0" * 64)
    result = verify(session, keys.audit_verify, witness=witness)
    assert not result.ok and result.first_broken_id == 3 and "rewritten" in result.reason


def test_a_witness_of_purged_entries_still_verifies(session, keys, clock):
    clock.days_ago(40)
    fill(session, 4)
    ended = Witness(head_row(session)["last_id"], head_row(session)["last_hash"])
    clock.real()
    fill(session, 2)
    purge(session, keys.audit_signing)
    session.commit()
    assert verify(session, keys.audit_verify, witness=ended).ok  # the checkpoint ends with it
    assert verify(session, keys.audit_verify, witness=Witness(2, "f" * 64)).ok  # purged, signed over
    assert not verify(session, keys.audit_verify, witness=Witness(ended.entry_id, "e" * 64)).ok


@pytest.fixture
def cli(app, runner):
    app.cli.add_command(audit_group)
    return runner


def test_head_and_verify_expect_on_the_command_line(cli, session):
    assert cli.invoke(args=["audit", "head"]).exit_code == 1  # empty log: nothing to witness
    fill(session, 3)
    old_head = head_row(session)
    fill(session, 2)
    printed = cli.invoke(args=["audit", "head"]).output.strip()
    assert printed == f"{head_row(session)['last_id']}:{head_row(session)['last_hash']}"
    assert cli.invoke(args=["audit", "verify", "--expect", printed]).exit_code == 0
    roll_back_to(session, old_head)
    rolled = cli.invoke(args=["audit", "verify", "--expect", printed])
    assert rolled.exit_code == 1 and "rolled back" in rolled.output
    refused = cli.invoke(args=["audit", "head", "--previous", printed])  # the next cron run notices
    assert refused.exit_code == 1 and "rolled back" in refused.output
    wrong = cli.invoke(args=["audit", "verify", "--expect", "five:abc"])
    assert wrong.exit_code == 2 and "expected ID:HASH" in wrong.output


def test_witness_text_round_trips():
    digest = "a" * 64
    assert str(Witness.parse(f" 12:{digest.upper()} ")) == f"12:{digest}"
    with pytest.raises(ValueError):
        Witness.parse("12-" + digest)
