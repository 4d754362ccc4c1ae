"""Incidents: recorded by staff through the form, the 72-hour clock, delay reasons, and the breach register."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select, text

from tests.notices.conftest import load_incident, post_form, record_incident, signed_in, when
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.models import Incident
from trustcenter.notices.service import NoticeError


def test_staff_record_an_incident_sealed_with_both_clocks_shown(app, people):
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, [people["a_admin"].org_id], aware_hours_ago=10)
    page = staff.get(f"/staff/incidents/{incident_id}").get_data(as_text=True)
    assert "Backup bucket readable" in page and "Tenant A Ltd" in page
    assert "62 h left to tell the authority" in page
    assert "Customers not told yet: 10.0 h since aware" in page
    with app.app_context():
        raw = db.session().execute(text("SELECT title, nature FROM incidents")).one()
        assert b"Backup bucket" not in bytes(raw[0]) and b"storage bucket" not in bytes(raw[1])
        assert "incident.recorded" in db.session().scalars(select(AuditEntry.action)).all()
    assert "Backup bucket readable" in staff.get("/staff/incidents").get_data(as_text=True)


def test_a_missing_customer_choice_or_a_future_time_is_explained(app, people):
    staff = signed_in(app, people["staff"])
    response = post_form(staff, "/staff/incidents/new", "/staff/incidents/new", {
        "title": "T", "aware_at": "2026-01-01T10:00", "severity": "low", "nature": "N", "scope": "chosen"})
    assert response.status_code == 422 and "Choose at least one customer" in response.get_data(as_text=True)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    response = post_form(staff, "/staff/incidents/new", "/staff/incidents/new", {
        "title": "T", "aware_at": when(future), "severity": "low", "nature": "N", "scope": "all"})
    assert response.status_code == 422 and "in the future" in response.get_data(as_text=True)


def test_customers_never_reach_incidents(app, people):
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, None)
    customer = signed_in(app, people["a_admin"])
    for path in ("/staff/incidents", f"/staff/incidents/{incident_id}", "/staff/incidents/register",
                 "/staff/incidents/register.csv"):
        assert customer.get(path).status_code == 404, path


AWARE = dt.datetime(2026, 3, 27, 22, 15, tzinfo=dt.timezone.utc)  # the clocks go forward two days later


@pytest.mark.parametrize("hours,left", [(0, 72.0), (71.5, 0.5), (72, 0.0), (80, -8.0)])
def test_the_authority_clock_runs_72_hours_from_awareness(hours, left):
    incident = Incident(aware_at=AWARE)
    clock = service.clock_of(incident, now=AWARE + dt.timedelta(hours=hours))
    assert clock.authority_deadline == dt.datetime(2026, 3, 30, 22, 15, tzinfo=dt.timezone.utc)
    assert clock.authority_hours_left == pytest.approx(left)
    assert clock.hours_to_customers == pytest.approx(hours) and not clock.customers_told


def test_telling_the_authority_late_needs_the_reasons(app, people):
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, None, aware_hours_ago=100)
    with app.app_context():
        session = db.session()
        incident = session.get(Incident, incident_id)
        actor = service.Actor(session.get(service.User, people["staff"].user_id))
        told = incident.aware_at + dt.timedelta(hours=80)
        with pytest.raises(NoticeError, match=r"reasons for the delay \(Article 33\(1\)\)"):
            service.record_authority_notification(session, actor, incident, told, "Online form, ref 123", "")
        session.rollback()
        with pytest.raises(NoticeError, match="before the company became aware"):
            service.record_authority_notification(session, actor, incident, incident.aware_at - dt.timedelta(hours=1),
                                                  "Form", "")
        session.rollback()
    page = f"/staff/incidents/{incident_id}"
    told = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=20)
    response = post_form(staff, page, f"{page}/authority", {"notified_at": when(told), "how": "ICO online form",
                                                            "delay_reasons": "Scope took four days to establish."})
    assert response.status_code == 303
    stored = load_incident(app, incident_id)
    assert stored.authority_notification == "ICO online form"
    assert stored.delay_reasons == "Scope took four days to establish."
    assert "Authority told" in staff.get(page).get_data(as_text=True)


def register_csv(client, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/staff/incidents/register.csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "no-store" in response.headers["Cache-Control"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_register_lists_every_incident_filters_and_downloads(app, people):
    staff = signed_in(app, people["staff"])
    old = record_incident(staff, None, aware_hours_ago=24 * 40, severity="low", title="=HYPERLINK(\"x\")")
    recent = record_incident(staff, [people["b_admin"].org_id], aware_hours_ago=3, severity="critical",
                             title="Laptop stolen")
    rows = register_csv(staff)
    assert [r["title"] for r in rows] == ["Laptop stolen", "'=HYPERLINK(\"x\")"]  # a formula stays text
    assert rows[0]["affected_customers"] == "Tenant B Ltd" and rows[1]["affected_customers"] == "all customers"
    assert rows[0]["severity"] == "critical" and rows[0]["nature"].startswith("A storage bucket")
    assert rows[0]["people_affected"] == "About 120 end users" and rows[0]["notices_published"] == "0"
    assert [r["title"] for r in register_csv(staff, "?severity=low")] == ["'=HYPERLINK(\"x\")"]
    since = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    assert [r["reference"] for r in register_csv(staff, f"?since={since}")] == [f"I-{recent[:8].upper()}"]
    until = (dt.date.today() - dt.timedelta(days=30)).isoformat()
    assert [r["reference"] for r in register_csv(staff, f"?until={until}")] == [f"I-{old[:8].upper()}"]
    page = staff.get(f"/staff/incidents/register?since={since}").get_data(as_text=True)
    assert "Laptop stolen" in page and "HYPERLINK" not in page and "register.csv?since=" in page
    fragment = staff.get(f"/staff/incidents/register?since={since}", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="register"')
    assert staff.get("/staff/incidents/register?since=yesterday").status_code == 400


def test_the_register_takes_dates_at_the_ends_of_the_calendar(app, people):
    staff = signed_in(app, people["staff"])
    record_incident(staff, None)
    assert len(register_csv(staff, "?since=0001-01-01&until=9999-12-31")) == 1


def test_a_closed_incident_and_a_recorded_notification_stay_as_recorded(app, people):
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, None, aware_hours_ago=10)
    page = f"/staff/incidents/{incident_id}"
    told = when(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    post_form(staff, page, f"{page}/authority", {"notified_at": told, "how": "ICO form, ref 1"})
    post_form(staff, page, f"{page}/authority", {"notified_at": told, "how": "Changed afterwards"})
    assert "recorded already" in staff.get(page).get_data(as_text=True)
    assert load_incident(app, incident_id).authority_notification == "ICO form, ref 1"
    post_form(staff, page, f"{page}/close", {})
    closed_at = load_incident(app, incident_id).closed_at
    post_form(staff, "/staff/incidents", f"{page}/close", {})
    assert load_incident(app, incident_id).closed_at == closed_at
    response = post_form(staff, "/staff/incidents", f"/staff/incidents/{incident_id}/edit", {
        "title": "Changed", "aware_at": told, "severity": "low", "status": "confirmed", "nature": "N",
        "scope": "all"})
    assert "closed" in response.get_data(as_text=True) or response.status_code == 303
    assert load_incident(app, incident_id).title == "Backup bucket readable"


@pytest.mark.parametrize("title", ["Two\r\nlines", "Paragraph\u2029separator", "Line\u2028separator", "Bell\x07"])
def test_a_title_is_one_line_of_text(app, people, title):
    staff = signed_in(app, people["staff"])
    response = post_form(staff, "/staff/incidents/new", "/staff/incidents/new", {
        "title": title, "aware_at": when(dt.datetime.now(dt.timezone.utc)), "severity": "low", "nature": "N",
        "scope": "all"})
    assert response.status_code == 422 and "must be one line of text" in response.get_data(as_text=True)


def test_an_incident_long_ago_is_refused_and_editing_keeps_its_time(app, people):
    staff = signed_in(app, people["staff"])
    response = post_form(staff, "/staff/incidents/new", "/staff/incidents/new", {
        "title": "Old", "aware_at": "0001-01-01T00:00", "severity": "low", "nature": "N", "scope": "all"})
    assert response.status_code == 422 and "too far back" in response.get_data(as_text=True)
    incident_id = record_incident(staff, None, aware_hours_ago=5)
    edit = staff.get(f"/staff/incidents/{incident_id}/edit").get_data(as_text=True)
    aware = load_incident(app, incident_id).aware_at
    assert f'value="{aware.strftime("%Y-%m-%dT%H:%M")}"' in edit


def test_downloading_the_register_is_audited(app, people):
    staff = signed_in(app, people["staff"])
    record_incident(staff, None)
    register_csv(staff)
    with app.app_context():
        assert "incident.register_downloaded" in db.session().scalars(select(AuditEntry.action)).all()
