"""Evidence at start-up: the worker's heartbeat and scheduled checks, the page cache's evidence version,
and the note beside FAQ answers."""

from __future__ import annotations

import time
from typing import Callable

from flask import Flask

from trustcenter.evidence import service
from trustcenter.evidence.display import evidence_note
from trustcenter.evidence.models import SCHEDULE
from trustcenter.evidence.version import EvidenceVersion
from trustcenter.extensions import db
from trustcenter.pagecache import KEY_PARTS
from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry

HEARTBEAT_SECONDS = 30.0
VERSION = "evidence_version"


class Heartbeat:
    """The worker task that records the loop is alive, writing at most every `every` seconds per process."""

    def __init__(self, app: Flask, every: float = HEARTBEAT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.every, self.clock = app, every, clock
        self.last: float | None = None

    def __call__(self) -> int:
        if self.last is not None and self.clock() - self.last < self.every:
            return 0
        with self.app.app_context():
            service.beat(db.session())
        self.last = self.clock()
        return 1


def init_tasks(app: Flask) -> None:
    """Register the worker tasks, the page cache's evidence version and the `evidence_note` template global."""
    with app.app_context():
        version = EvidenceVersion(db.engine)
    app.extensions[VERSION] = version
    app.extensions.setdefault(KEY_PARTS, []).append(version)
    app.add_template_global(evidence_note)

    def scheduled_checks() -> int:
        """Run every check when the last run is 15 minutes old; one worker of many wins each turn."""
        with app.app_context():
            session = db.session()
            run = service.claim_scheduled_run(session)
            if run is None:
                return 0
            service.run_checks(app, session, trigger=SCHEDULE, run=run)
            session.commit()
        version.expire()
        return 1

    registry(app, WORKER_TASKS).register("worker heartbeat", Heartbeat(app))
    registry(app, WORKER_TASKS).register("evidence checks", scheduled_checks)
    registry(app, RETENTION_PURGERS).register("evidence runs", service.purge_runs)
