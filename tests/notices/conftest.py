"""Helpers for the notice tests: incidents and notices made through the real forms."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import csrf_token_from
from tests.exports.conftest import signed_in  # noqa: F401 - re-exported for the notice tests
from trustcenter.extensions import db
from trustcenter.notices.models import Incident, Notice


def post_form(client, page: str, action: str, data: dict):
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_token_from(html)})


def when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def record_incident(client, tenants: list[str] | None, aware_hours_ago: float = 2, severity: str = "high",
                    title: str = "Backup bucket readable", **extra: str) -> str:
    aware = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=aware_hours_ago)
    data = {"title": title, "aware_at": when(aware), "severity": severity,
            "nature": "A storage bucket holding backups was readable without credentials.",
            "people_affected": "About 120 end users", "scope": "all" if tenants is None else "chosen",
            "tenants": tenants or [], **extra}
    response = post_form(client, "/staff/incidents/new", "/staff/incidents/new", data)
    match = re.search(r"/staff/incidents/([0-9a-f-]{36})$", response.location or "")
    assert response.status_code == 303 and match, response.get_data(as_text=True)[-2000:]
    return match.group(1)


def draft_notice(client, incident_id: str, title: str = "Backups were exposed", phase: str = "initial") -> str:
    page = f"/staff/incidents/{incident_id}"
    response = post_form(client, page, f"{page}/notices", {
        "phase": phase, "title": title, "body": "What happened.\n\nWhat you should do."})
    assert response.status_code == 303
    return latest_notice(client.application, incident_id).id


def latest_notice(app, incident_id: str) -> Notice:
    from sqlalchemy import select

    with app.app_context():
        notice = db.session().scalars(select(Notice).where(Notice.incident_id == incident_id)
                                      .order_by(Notice.created_at.desc())).first()
        assert notice is not None
        _ = (notice.title, notice.body)
        return notice


def load_incident(app, incident_id: str) -> Incident:
    with app.app_context():
        incident = db.session().get(Incident, incident_id)
        _ = (incident.title, incident.nature, incident.delay_reasons, incident.authority_notification)
        return incident


def publish(client, incident_id: str, notice_id: str):
    page = f"/staff/incidents/{incident_id}"
    return post_form(client, page, f"{page}/notices/{notice_id}/publish", {})
