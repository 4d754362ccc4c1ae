"""A breach notice end to end in a real browser: the DPO records an incident and publishes to one tenant; its
user sees the banner and acknowledges it; the other tenant sees nothing; mail and SMS leave for real servers."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility_signed_in import audit_pages, sign_in
from tests.browser.test_accounts import wait_for_mail
from tests.sms import SmsServer
from trustcenter.accounts.models import User
from trustcenter.extensions import db

PHONE = "+447700900123"


@pytest.fixture
def app_config(app_config, smtp_server, sms_server):
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False, "MAIL_WORKER_THREAD": True, **sms_server.settings()}


def wait_for_text(sms_server: SmsServer, to: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in list(sms_server.received):
            if received.form.get("To") == to:
                return received
        time.sleep(0.2)
    raise AssertionError(f"no text to {to} within {timeout} s")


def record_and_publish(dpo: Page, live_server: str) -> None:
    dpo.goto(f"{live_server}/staff/incidents")
    dpo.get_by_role("link", name="Record an incident").click()
    dpo.get_by_label("Short title").fill("Support mailbox exposed")
    aware = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    dpo.get_by_label("When the company became aware (UTC)").fill(aware.strftime("%Y-%m-%dT%H:%M"))
    dpo.get_by_label("Severity").select_option(label="High")
    dpo.get_by_label("Nature of the breach").fill("A support mailbox was readable by a former contractor.")
    dpo.get_by_label("Only those chosen").check()
    dpo.get_by_label("Tenant A Ltd").check()
    dpo.get_by_role("button", name="Record the incident").click()
    expect(dpo.get_by_text(re.compile(r"Incident I-[0-9A-F]{8} recorded"))).to_be_visible()
    expect(dpo.get_by_text(re.compile(r"6[89] h left to tell the authority"))).to_be_visible()
    dpo.get_by_label("Title", exact=True).fill("Support mailbox exposed")
    dpo.get_by_label("Notice", exact=True).fill("A support mailbox was readable.\n\nReset the passwords you sent us.")
    dpo.get_by_role("button", name="Save the draft").click()
    dpo.get_by_role("button", name="Publish to the affected customers").click()
    expect(dpo.get_by_text("Published. Affected customers see it now")).to_be_visible()
    expect(dpo.get_by_text(re.compile(r"Customers told after"))).to_be_visible()


def test_the_dpo_publishes_and_only_the_affected_tenant_is_told(page: Page, browser: Browser, live_server, app,
                                                               people, smtp_server, sms_server, axe_source,
                                                               page_errors):
    with app.app_context():
        db.session().get(User, people["a_member"].user_id).phone = PHONE
        db.session().commit()
    sign_in(page, live_server, people["dpo"])
    record_and_publish(page, live_server)
    incident_page = page.url

    member_context = browser.new_context(viewport={"width": 390, "height": 844})
    other_context = browser.new_context()
    try:
        member = member_context.new_page()
        sign_in(member, live_server, people["a_member"])
        banner = member.get_by_role("region", name="Important notice about your data")
        expect(banner).to_be_visible()
        expect(banner.get_by_role("link", name="Initial notice: Support mailbox exposed")).to_be_visible()
        member.goto(f"{live_server}/account/requests")  # every page of the customer area
        expect(banner).to_be_visible()
        banner.get_by_role("button", name="Acknowledge").click()  # htmx: the entry goes, no reload
        expect(banner.get_by_role("link")).to_have_count(0)
        member.reload()
        expect(member.get_by_role("region", name="Important notice about your data")).to_have_count(0)
        member.goto(f"{live_server}/account/notices")
        expect(member.get_by_text("Acknowledged", exact=False)).to_be_visible()

        other = other_context.new_page()
        sign_in(other, live_server, people["b_member"])
        expect(other.get_by_role("region", name="Important notice about your data")).to_have_count(0)
        other.goto(f"{live_server}/account/notices")
        expect(other.get_by_text("No notices.", exact=False)).to_be_visible()
    finally:
        member_context.close()
        other_context.close()

    mail = wait_for_mail(smtp_server, people["a_member"].email, "Initial notice: Support mailbox exposed")
    assert "Reset the passwords you sent us." in mail.get_body(("plain",)).get_content()
    wait_for_mail(smtp_server, people["a_admin"].email, "Initial notice")
    assert not [m for m in smtp_server.mailbox.messages if str(m["To"]).startswith("b.")]
    text = wait_for_text(sms_server, PHONE)
    assert "Support mailbox exposed" in text.form["Body"] and "/account/notices/" in text.form["Body"]

    page.goto(incident_page)
    page.get_by_role("link", name="Who has it").click()
    expect(page.get_by_text("1 acknowledged")).to_be_visible()
    audit_pages(page, live_server, [incident_page.replace(live_server, ""), page.url.replace(live_server, ""),
                                    "/staff/incidents/register"], axe_source, page_errors, role="dpo")


def test_the_banner_works_without_javascript(browser: Browser, live_server, app, people):
    with app.app_context():
        from trustcenter.notices import service
        from trustcenter.notices.models import Phase, Severity

        session = db.session()
        staff, dpo = (service.Actor(session.get(User, people[k].user_id)) for k in ("staff", "dpo"))
        incident = service.record_incident(session, staff, service.Facts("Lost laptop", "Encrypted laptop lost"),
                                           Severity.LOW, dt.datetime.now(dt.timezone.utc), None)
        notice = service.draft_notice(session, staff, incident, Phase.INITIAL, "Lost laptop", "It was encrypted.")
        service.publish(session, dpo, incident, notice)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, people["b_admin"])
        page.goto(f"{live_server}/account/profile")
        banner = page.get_by_role("region", name="Important notice about your data")
        banner.get_by_role("button", name="Acknowledge").click()
        expect(page).to_have_url(re.compile(r"/account/profile$"))
        expect(page.get_by_text("your acknowledgement is recorded")).to_be_visible()
        expect(page.get_by_role("region", name="Important notice about your data")).to_have_count(0)
    finally:
        context.close()
