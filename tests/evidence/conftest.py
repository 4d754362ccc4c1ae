"""Helpers for the evidence tests: run the checks as the worker or staff would, and read one result."""

from __future__ import annotations

import datetime as dt
import json

from flask import Flask
from sqlalchemy import update

from trustcenter.evidence import service
from trustcenter.evidence.models import WorkerHeartbeat
from trustcenter.evidence.service import CheckResult
from trustcenter.extensions import db


def run_now(app: Flask, now: dt.datetime | None = None) -> dict[str, CheckResult]:
    """Run every check (as staff would, without HTTP), commit, and return the results by key."""
    with app.app_context():
        session = db.session()
        results = service.run_checks(app, session, now=now)
        session.commit()
    return {r.key: r for r in results}


def details(result: CheckResult) -> dict:
    return json.loads(result.details)


def beat(app: Flask, ago: dt.timedelta = dt.timedelta()) -> None:
    """Record a worker heartbeat `ago` in the past."""
    with app.app_context():
        session = db.session()
        service.beat(session, dt.datetime.now(dt.timezone.utc) - ago)
        session.execute(update(WorkerHeartbeat).values(beat_at=dt.datetime.now(dt.timezone.utc) - ago))
        session.commit()
