"""Account work the mail worker does between deliveries: answering queued password-reset requests."""

from __future__ import annotations

from flask import Flask

from trustcenter.accounts import onboarding, service
from trustcenter.accounts.mail import send
from trustcenter.extensions import db
from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry


def init_tasks(app: Flask) -> None:
    """Register with the worker (`trustcenter worker` or the in-process thread) and the retention purge."""

    def handle_reset_requests() -> int:
        with app.app_context():  # mail is rendered from templates, outside any request
            return onboarding.process_reset_requests(db.session(), send)

    registry(app, WORKER_TASKS).register("password-reset requests", handle_reset_requests)
    purgers = registry(app, RETENTION_PURGERS)
    purgers.register("password-reset requests never handled", onboarding.purge_reset_requests)
    purgers.register("sign-out records of expired sessions", service.purge_ended_sessions)
