"""Running the checks, storing every run, and reading the latest result of each claim.

Other code (pages, the attestation PDF) reads `current_results`; the worker and
staff call `run_checks`. Every run is kept, so the history shows when a claim
stopped or started holding.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustcenter.db import as_utc, utcnow
from trustcenter.evidence import checks_service, checks_storage
from trustcenter.evidence.claims import (
    AUDIT,
    CLAIMS,
    ENCRYPTION,
    KEYS,
    NOTIFICATION,
    RETENTION,
    TITLES,
    TRANSIT,
    TWO_FACTOR,
    anchors_of,
    public_summary,
)
from trustcenter.evidence.models import SCHEDULE, EvidenceResult, EvidenceRun, WorkerHeartbeat
from trustcenter.evidence.probe import FAILING, NOT_CHECKED, Check, Outcome, Probe

log = logging.getLogger(__name__)
INTERVAL = dt.timedelta(minutes=15)
CHECKS: dict[str, Check] = {
    ENCRYPTION: checks_storage.encryption_at_rest,
    KEYS: checks_storage.no_development_keys,
    TRANSIT: checks_service.https,
    AUDIT: checks_storage.audit_chain,
    RETENTION: checks_storage.retention,
    TWO_FACTOR: checks_service.two_factor,
    NOTIFICATION: checks_service.notification_path,
}


@dataclass(frozen=True)
class CheckResult:
    """The latest word on one claim: passing, failing or not checked, in words, and when."""

    key: str
    title: str
    status: str
    summary: str
    checked_at: dt.datetime | None
    anchors: tuple[str, ...]
    details: str = "{}"  # JSON text: counts and settings, never personal data

    @property
    def public_summary(self) -> str:
        """What visitors and customers read (`summary` is for staff: it may name hosts, tables or counts)."""
        return public_summary(self.key, self.status)


def _result_of(row: EvidenceResult) -> CheckResult:
    return CheckResult(row.check_key, TITLES.get(row.check_key, row.check_key), row.status, row.summary,
                       as_utc(row.checked_at), anchors_of(row.check_key), row.details)


def never_checked(key: str) -> CheckResult:
    return CheckResult(key, TITLES[key], NOT_CHECKED, "Not checked yet: no run has included this check.", None,
                       anchors_of(key))


def current_results(session: Session) -> list[CheckResult]:
    """The latest stored result of every check, in the fixed order, a placeholder for any never run."""
    newest = select(func.max(EvidenceResult.id)).group_by(EvidenceResult.check_key)
    rows = {row.check_key: row for row in session.scalars(select(EvidenceResult).where(EvidenceResult.id.in_(newest)))}
    return [_result_of(rows[c.key]) if c.key in rows else never_checked(c.key) for c in CLAIMS]


def results_digest(results: list[CheckResult]) -> str:
    """A stable digest of each check's key and status, for cache keys and documents."""
    text = "\n".join(f"{r.key}:{r.status}" for r in sorted(results, key=lambda r: r.key))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def history(session: Session, per_check: int = 10) -> dict[str, list[CheckResult]]:
    """The last `per_check` results of each check, newest first."""
    found: dict[str, list[CheckResult]] = {}
    for claim in CLAIMS:
        rows = session.scalars(select(EvidenceResult).where(EvidenceResult.check_key == claim.key)
                               .order_by(EvidenceResult.id.desc()).limit(per_check))
        found[claim.key] = [_result_of(row) for row in rows]
    return found


def latest_run_id(session: Session) -> int:
    """The id of the newest finished run (0 before the first): what public pages are cached by."""
    return session.scalar(select(func.max(EvidenceRun.id)).where(EvidenceRun.finished_at.is_not(None))) or 0


def run_checks(app: Flask, session: Session, now: dt.datetime | None = None, trigger: str = "staff",
               run: EvidenceRun | None = None) -> list[CheckResult]:
    """Run every check, store the results as one run (flushed, not committed) and return them."""
    now = now or utcnow()
    if run is None:
        run = EvidenceRun(trigger=trigger, started_at=now)
        session.add(run)
        session.flush()
    probe = Probe(app, session, now, *_previous_head(session))
    for key, check in CHECKS.items():
        outcome = _safely(check, probe, key)
        session.add(EvidenceResult(run_id=run.id, check_key=key, status=outcome.status, summary=outcome.summary[:400],
                                   details=json.dumps(outcome.details, sort_keys=True, default=str), checked_at=now))
    run.finished_at = utcnow()
    session.flush()
    return current_results(session)


def _safely(check: Check, probe: Probe, key: str) -> Outcome:
    """A check that breaks reports itself failing, by the error's class only (messages may hold values)."""
    try:
        with probe.session.begin_nested():  # a failed query must not spoil the run's transaction
            return check(probe)
    except Exception as error:  # noqa: BLE001 - a broken check must never hide the others
        log.warning("evidence check %s failed: %s", key, type(error).__name__)
        return Outcome(FAILING, f"The check itself failed ({type(error).__name__}); treat the claim as unproven.",
                       {"error": type(error).__name__})


def _previous_head(session: Session) -> tuple[str | None, dt.datetime | None]:
    """The audit head the newest passing audit check saw, and when: a witness when none is shipped."""
    row = session.scalars(select(EvidenceResult).where(EvidenceResult.check_key == AUDIT,
                                                       EvidenceResult.status == "passing")
                          .order_by(EvidenceResult.id.desc()).limit(1)).first()
    if row is None:
        return None, None
    return json.loads(row.details).get("head"), as_utc(row.checked_at)


def claim_scheduled_run(session: Session, now: dt.datetime | None = None) -> EvidenceRun | None:
    """A new scheduled run when the newest run is 15 minutes old; None when it is not, or another worker won."""
    now = now or utcnow()
    last = session.execute(select(EvidenceRun.id, EvidenceRun.started_at).order_by(EvidenceRun.id.desc())
                           .limit(1)).first()
    if last is not None and now - as_utc(last.started_at) < INTERVAL:
        return None
    run = EvidenceRun(trigger=SCHEDULE, follows=last.id if last else 0, started_at=now)
    session.add(run)
    try:
        session.commit()  # the unique `follows` lets one worker of many win
    except IntegrityError:
        session.rollback()
        return None
    return run


def beat(session: Session, now: dt.datetime | None = None, name: str = checks_service.WORKER) -> None:
    """Record that a worker went round its loop (committed)."""
    now = now or utcnow()
    found = session.get(WorkerHeartbeat, name)
    if found is None:
        session.add(WorkerHeartbeat(name=name, beat_at=now))
    else:
        found.beat_at = now
    try:
        session.commit()
    except IntegrityError:  # another worker made the row first: its beat will do
        session.rollback()


def purge_runs(session: Session, older_than: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Delete runs started before `older_than` ago, with their results; the caller commits.

    The history is for seeing what changed lately, and it is kept as long as the logs (35 days).
    """
    cutoff = (now or utcnow()) - older_than
    old_runs = select(EvidenceRun.id).where(EvidenceRun.started_at < cutoff)
    session.execute(delete(EvidenceResult).where(EvidenceResult.run_id.in_(old_runs)))
    result = session.execute(delete(EvidenceRun).where(EvidenceRun.started_at < cutoff))
    return result.rowcount  # type: ignore[attr-defined,no-any-return]
