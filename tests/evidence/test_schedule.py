"""The worker runs the checks every 15 minutes, one worker of many at a time, and keeps a heartbeat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from tests.evidence.conftest import run_now
from trustcenter.evidence import service
from trustcenter.db import as_utc
from trustcenter.evidence.models import EvidenceResult, EvidenceRun, WorkerHeartbeat
from trustcenter.evidence.tasks import Heartbeat
from trustcenter.evidence.version import EvidenceVersion
from trustcenter.extensions import db
from trustcenter.registry import WORKER_TASKS, registry


def task(app, name: str):
    return dict(registry(app, WORKER_TASKS).items())[name]


def runs(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(EvidenceRun))


def test_the_worker_runs_the_checks_only_when_15_minutes_have_passed(app, session):
    scheduled = task(app, "evidence checks")
    assert scheduled() == 1 and runs(session) == 1
    assert scheduled() == 0 and runs(session) == 1  # the last run is fresh
    session.execute(update(EvidenceRun).values(started_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=14)))
    session.commit()
    assert scheduled() == 0 and runs(session) == 1
    session.execute(update(EvidenceRun).values(started_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=16)))
    session.commit()
    assert scheduled() == 1 and runs(session) == 2
    assert [r.trigger for r in session.scalars(select(EvidenceRun))] == ["schedule", "schedule"]
    assert all(r.finished_at is not None for r in session.scalars(select(EvidenceRun)))


def test_a_run_by_staff_also_counts_as_the_last_run(app, session):
    run_now(app)
    assert task(app, "evidence checks")() == 0 and runs(session) == 1


def test_of_two_workers_claiming_the_same_turn_one_wins(app, session):
    from tests.conftest import new_session

    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    session.add(EvidenceRun(trigger="schedule", follows=0, started_at=old, finished_at=old))
    session.commit()
    first, second = new_session(), new_session()
    try:
        # Both read the same last run before either inserts: the unique `follows` decides.
        for worker in (first, second):
            worker.scalar(select(EvidenceRun.id))
        claimed = [service.claim_scheduled_run(worker) for worker in (first, second)]
    finally:
        first.close()
        second.close()
    assert sum(run is not None for run in claimed) == 1
    assert runs(session) == 2


def test_a_lost_race_is_refused_by_the_database(app, session):
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    session.add(EvidenceRun(trigger="schedule", follows=0, started_at=old, finished_at=old))
    session.commit()
    last = session.scalar(select(EvidenceRun.id))
    session.add(EvidenceRun(trigger="schedule", follows=last, started_at=old))  # another worker's claim
    session.commit()
    session.execute(update(EvidenceRun).values(started_at=old))
    session.commit()
    # The newest run is old enough, and its successor slot is free: this worker claims it.
    assert service.claim_scheduled_run(session) is not None
    # A worker that read the state before that claim would try `follows=last` again, and lose.
    from sqlalchemy.exc import IntegrityError

    session.add(EvidenceRun(trigger="schedule", follows=last, started_at=old))
    try:
        session.commit()
        raise AssertionError("a second claim of the same turn was accepted")
    except IntegrityError:
        session.rollback()


def test_the_heartbeat_writes_at_most_every_30_seconds(app, session):
    clock = [1000.0]
    heartbeat = Heartbeat(app, clock=lambda: clock[0])
    assert heartbeat() == 1
    first = session.get(WorkerHeartbeat, "worker").beat_at
    clock[0] += 29
    assert heartbeat() == 0
    clock[0] += 2
    assert heartbeat() == 1
    session.expire_all()
    assert session.get(WorkerHeartbeat, "worker").beat_at >= first


def test_the_registered_heartbeat_task_records_the_worker(app, session):
    task(app, "worker heartbeat")()
    beat = session.get(WorkerHeartbeat, "worker")
    assert beat is not None


def test_the_evidence_version_is_read_at_most_every_15_seconds(app):
    clock = [0.0]
    with app.app_context():
        version = EvidenceVersion(db.engine, clock=lambda: clock[0])
    assert version() == 0
    run_now(app)
    clock[0] += 14
    assert version() == 0  # not read again yet
    clock[0] += 1
    newest = version()
    assert newest > 0
    run_now(app)
    version.expire()
    assert version() > newest


def test_runs_older_than_the_log_retention_are_purged_with_their_results(app, runner, session):
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    run_now(app, now=old)
    with app.app_context():
        db.session().execute(update(EvidenceRun).values(started_at=old))
        db.session().commit()
    recent = run_now(app)
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 0, result.output
    assert runs(session) == 1
    kept = session.scalars(select(EvidenceResult.checked_at)).all()
    assert len(kept) == len(recent) and all(at > old for at in map(as_utc, kept))
    assert {r.key: r.status for r in service.current_results(session)} == {k: r.status for k, r in recent.items()}
