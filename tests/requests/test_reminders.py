"""Staff are reminded 7 days and 1 day before a request is due, once each, by the worker."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from tests.conftest import run_worker_tasks
from tests.requests.conftest import file_request, outbox, request_id_from
from trustcenter.extensions import db
from trustcenter.requests.models import RightsRequest
from trustcenter.requests.service import Clock


def due_in(app, request_id: str, days: int, **values) -> None:
    with app.app_context():
        db.session().execute(update(RightsRequest).where(RightsRequest.id == request_id).values(
            due_on=Clock().today() + dt.timedelta(days=days), **values))
        db.session().commit()


def reminders(app) -> list[str]:
    return [m.subject for m in outbox(app) if " is due " in m.subject]


def test_each_reminder_is_sent_once(app, auth, client, people):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "access", {}))
    run_worker_tasks(app)
    assert reminders(app) == []  # a month to go

    due_in(app, request_id, 6)
    run_worker_tasks(app)
    run_worker_tasks(app)
    assert len(reminders(app)) == 1

    due_in(app, request_id, 1)
    run_worker_tasks(app)
    run_worker_tasks(app)
    assert len(reminders(app)) == 2
    [mail] = [m for m in outbox(app) if " is due " in m.subject][-1:]
    assert "in 1 day" in mail.text_body and "/staff/requests/" in mail.text_body


def test_paused_and_closed_requests_are_not_chased(app, auth, client, people):
    auth.login(people["a_member"])
    paused = request_id_from(file_request(client, "access", {}))
    closed = request_id_from(file_request(client, "query", {"question": "Closed one"}))
    due_in(app, paused, 2, state="awaiting_requester", paused_since=Clock().today())
    due_in(app, closed, 2, state="withdrawn")
    run_worker_tasks(app)
    assert reminders(app) == []
