"""`trustcenter audit verify` and `trustcenter retention purge`: messages, exit codes, and their own audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from trustcenter.audit import AuditEntry
from trustcenter.audit.cli import audit_group, retention_group
from tests.audit.helpers import fill, tamper


@pytest.fixture
def cli(app, runner):
    app.cli.add_command(audit_group)
    app.cli.add_command(retention_group)
    return runner


def actions(session) -> list[str]:
    return session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_verify_reports_an_intact_log_and_records_itself(cli, session):
    fill(session, 3)
    result = cli.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit log intact: 3 entries verified" in result.output
    assert actions(session)[-1] == "audit.verified"
    assert "Audit log intact: 4 entries verified" in cli.invoke(args=["audit", "verify"]).output


def test_verify_reports_the_broken_entry_and_exits_1(cli, session):
    fill(session, 4)
    tamper(session, "UPDATE audit_entries SET action = 'login.failure' WHERE id = 2")
    result = cli.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "Audit log broken at entry 2: " in result.output
    assert actions(session)[-1] == "audit.verified"


def test_purge_reports_what_it_purged(cli, session, clock):
    clock.days_ago(40)
    fill(session, 3)
    clock.real()
    result = cli.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 3 audit entries older than 35 days (up to entry 3, checkpoint" in result.output
    assert actions(session) == ["retention.purged"]
    assert "intact: 1 entries" in cli.invoke(args=["audit", "verify"]).output


def test_purge_with_nothing_old_says_so_and_records_the_run(cli, session, clock):
    clock.days_ago(10)
    fill(session, 2)
    clock.real()
    result = cli.invoke(args=["retention", "purge", "--days", "35"])
    assert result.exit_code == 0, result.output
    assert "Nothing to purge: no audit entries older than 35 days." in result.output
    assert actions(session)[-1] == "retention.purged"
    assert "Purged 2 audit entries older than 7 days" in cli.invoke(args=["retention", "purge", "--days", "7"]).output


def test_purge_refuses_a_broken_log(cli, session, clock):
    clock.days_ago(40)
    fill(session, 3)
    clock.real()
    tamper(session, "DELETE FROM audit_entries WHERE id = 2")
    result = cli.invoke(args=["retention", "purge"])
    assert result.exit_code == 1
    assert "Refusing to purge: audit log broken at entry 2" in result.output
    assert session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[:2] == [1, 3]


def test_purge_rejects_nonsense_days(cli):
    assert cli.invoke(args=["retention", "purge", "--days", "0"]).exit_code == 2


def test_purge_also_deletes_old_sent_mail(app, cli, session):
    import datetime as dt

    from trustcenter.extensions import db
    from trustcenter.notify import queue_mail
    from trustcenter.notify.models import SENT, OutboxMessage

    with app.app_context():
        own = db.session()
        for age_days in (40, 5):
            message = queue_mail(own, to="old@example.com", subject="s", text="t", html="<p>h</p>")
            message.status = SENT
            message.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=age_days)
        own.commit()
    result = cli.invoke(args=["retention", "purge"])
    assert "Purged 1 sent or failed mails older than 35 days." in result.output
    session.expire_all()
    assert len(session.scalars(select(OutboxMessage)).all()) == 1
