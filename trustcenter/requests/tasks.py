"""Request work for the worker: reminders before due dates, and shredding requests nobody confirmed."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy.orm import Session

from trustcenter.accounts.erasure import ERASURE_HOOKS
from trustcenter.extensions import SESSION_INFO, db
from trustcenter.faq.current import current_content
from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry
from trustcenter.requests import fulfilment, service
from trustcenter.requests.mail import send


def init_tasks(app: Flask) -> None:
    """Register with the worker (`trustcenter worker` or the in-process thread) and the retention purge."""
    the_clock = service.Clock(app.config["WORKING_CALENDAR"], app.config["TIMEZONE"])

    def remind() -> int:
        with app.app_context():  # mail is rendered from templates, outside any request
            return service.send_due_reminders(db.session(), send, current_content().site.dpo_email,
                                              the_clock.today())

    def shred_unconfirmed() -> int:
        with app.app_context():
            return service.purge_unconfirmed(db.session())

    def purge_unconfirmed(session: Session, _older_than: dt.timedelta) -> int:
        return service.purge_unconfirmed(session)  # a day, whatever the log's retention: the link has expired

    # Whoever erases a person (a request, `trustcenter users erase`, closing an organisation) forgets their requests.
    app.extensions[SESSION_INFO].setdefault(ERASURE_HOOKS, []).append(fulfilment.forget_person)
    registry(app, WORKER_TASKS).register("request reminders", remind)
    registry(app, WORKER_TASKS).register("unconfirmed requests", shred_unconfirmed)
    registry(app, RETENTION_PURGERS).register("requests never confirmed", purge_unconfirmed)
