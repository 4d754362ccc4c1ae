"""The staff page and its button, and the words beside FAQ answers, through the page cache."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import select

from tests.conftest import close_app, csrf_token_from
from tests.evidence.conftest import beat, run_now
from trustcenter import create_app
from trustcenter.audit.models import AuditEntry
from trustcenter.evidence.models import EvidenceRun


def test_staff_see_every_check_with_details_and_history(app, auth, client, people):
    run_now(app)
    run_now(app)
    auth.login(people["staff"])
    page = client.get("/staff/evidence")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for title in ("Personal data is encrypted at rest", "The audit log is complete and untampered",
                  "Breach notifications can go out now"):
        assert title in html
    assert "This deployment runs in testing mode without HTTPS." in html
    assert html.count("Recent results:") >= 7 * 2  # each check's history table (region and caption)
    assert 'aria-current="page">Evidence' in html


@pytest.mark.parametrize("who", ["staff", "dpo", "admin"])
def test_run_checks_now_runs_stores_and_audits(app, auth, client, people, session, who):
    auth.login(people[who])
    token = csrf_token_from(client.get("/staff/evidence").get_data(as_text=True))
    response = client.post("/staff/evidence/run", data={"csrf_token": token})
    assert response.status_code == 303 and response.location.endswith("/staff/evidence?ran=1")
    assert session.scalar(select(EvidenceRun.trigger)) == "staff"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "evidence.checked")).one()
    assert entry.actor_id == people[who].user_id
    page = client.get(response.location).get_data(as_text=True)
    assert re.search(r"Checks finished: \d passing, \d failing, \d not checked", page)


def test_the_button_with_htmx_swaps_the_results_only(app, auth, client, people):
    auth.login(people["staff"])
    token = csrf_token_from(client.get("/staff/evidence").get_data(as_text=True))
    response = client.post("/staff/evidence/run", data={"csrf_token": token}, headers={"HX-Request": "true"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="evidence-results">')
    assert "Checks finished:" in html and "<html" not in html


def test_the_button_needs_a_csrf_token(app, auth, client, people, session):
    auth.login(people["staff"])
    assert client.post("/staff/evidence/run", data={}).status_code == 400
    assert session.scalar(select(EvidenceRun.id)) is None


@pytest.mark.parametrize("who", ["a_admin", "a_member"])
def test_customers_get_404(app, auth, client, people, session, who):
    auth.login(people[who])
    assert client.get("/staff/evidence").status_code == 404
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    assert client.post("/staff/evidence/run", data={"csrf_token": token}).status_code == 404
    assert session.scalar(select(EvidenceRun.id)) is None


def test_anonymous_visitors_are_sent_to_sign_in(client, session):
    response = client.get("/staff/evidence")
    assert response.status_code == 302 and "/account/login" in response.location
    assert client.post("/staff/evidence/run").status_code == 400  # no CSRF token, no session
    assert session.scalar(select(EvidenceRun.id)) is None


def claim_line(html: str, anchor: str) -> str:
    """The evidence note of the answer at `anchor`, as text."""
    start = html.index(f'id="{anchor}"')
    note = html[start:html.index("</article>", start)]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", note))


def test_faq_answers_show_results_in_words_with_the_time(app, client, published):
    beat(app)
    checked = run_now(app)["notification-path"].checked_at
    html = client.get("/faq/data-breach").get_data(as_text=True)
    line = claim_line(html, "breach-notification-mechanism")
    assert "Not checked Breach notifications can go out now" in line
    assert "This deployment has not checked this itself yet" in line
    assert f'<time datetime="{checked:%Y-%m-%dT%H:%M:%SZ}">' in html
    assert "Last checked" in line
    never = client.get("/faq/security").get_data(as_text=True)
    assert "Failing No development or default key is in use" in claim_line(never, "password-complexity")


def test_the_password_answer_shows_what_the_software_enforces(client, published):
    line = claim_line(client.get("/faq/security").get_data(as_text=True), "password-complexity")
    assert "What the software enforces" in line
    assert "at least 12 and at most 128 characters" in line and "Argon2id" in line
    assert "commonly used passwords" in line
    assert "Not checked Two-factor authentication is enforced" in line and "Never checked yet" in line


def test_a_new_result_replaces_the_cached_faq_page_in_every_process(app, app_config, client, published):
    beat(app)
    run_now(app)
    other = create_app(app_config)  # a second process's application, with its own page cache
    try:
        other.extensions["evidence_version"].refresh_seconds = 0.5
        visitor = other.test_client()
        first = visitor.get("/faq/data-breach").get_data(as_text=True)
        assert "Not checked Breach notifications" in claim_line(first, "breach-customer-notification")
        assert len(other.extensions["page_cache"]) == 1
        beat(app, dt.timedelta(minutes=10))  # the worker stopped
        run_now(app)  # in the first application: the second learns of it from the database
        time.sleep(0.6)
        second = visitor.get("/faq/data-breach").get_data(as_text=True)
        line = claim_line(second, "breach-customer-notification")
        assert "Failing Breach notifications can go out now" in line
        assert "a notification could not go out now" in line
        assert visitor.get("/faq/data-breach").get_data(as_text=True) == second  # cached again
        assert len(other.extensions["page_cache"]) == 2
    finally:
        close_app(other)


def test_the_public_reads_what_failed_and_staff_read_the_particulars(app, auth, client, people, published,
                                                                    monkeypatch):
    """A failing check's own summary may name the mail server or a table: staff see it, visitors do not."""
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "mail.internal.example")
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens there
    beat(app)
    result = run_now(app)["notification-path"]
    assert result.status == "failing" and "mail.internal.example" in result.summary
    public = app.test_client().get("/faq/data-breach").get_data(as_text=True)
    assert "mail.internal.example" not in public
    assert "a notification could not go out now" in claim_line(public, "breach-customer-notification")
    auth.login(people["staff"])
    assert "mail.internal.example" in client.get("/staff/evidence").get_data(as_text=True)
