"""Confirming it is you before a sensitive change, and the audit log's filter errors, in a real browser."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Page, expect

from tests.browser.test_accounts import sign_in
from tests.conftest import PASSWORD
from trustcenter.access import PROOF_SESSION_KEY


def staff_signed_in(page: Page, live_server: str, staff) -> None:
    sign_in(page, live_server, staff.email, PASSWORD)
    page.get_by_label("Authentication code").fill(pyotp.TOTP(staff.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/$"))


def age_the_proof(page: Page, app) -> None:
    """Rewrite the browser's signed session cookie as if the sign-in were an hour old."""
    name = app.config["SESSION_COOKIE_NAME"]
    serializer = app.session_interface.get_signing_serializer(app)
    [cookie] = [c for c in page.context.cookies() if c["name"] == name]
    contents = serializer.loads(cookie["value"])
    contents[PROOF_SESSION_KEY] = int(time.time()) - 3600
    page.context.add_cookies([{**cookie, "value": serializer.dumps(contents)}])


def test_new_recovery_codes_on_an_old_session_ask_for_the_password_first(page: Page, live_server, app, people):
    staff_signed_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/account/security")
    age_the_proof(page, app)
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page).to_have_url(re.compile(r"/account/confirm\?next=/account/security$"))
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That did not match")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/account/security$"))
    expect(page.get_by_text("You can make the change now")).to_be_visible()
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    expect(page.locator("ol.codes li")).to_have_count(10)


def test_a_bad_audit_filter_is_explained_beside_its_field(page: Page, live_server, people):
    staff_signed_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/staff/audit")
    label_tops = {round(page.locator(f'label[for="{name}"]').bounding_box()["y"]) for name in ("action", "since", "until")}
    assert len(label_tops) == 1, f"the filter labels do not line up: {label_tops}"
    page.get_by_label("Action").fill("not an action!")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Actions are lower-case words joined by dots")).to_be_visible()
    expect(page.get_by_label("Action")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Action").fill("login.success")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-rows")).to_contain_text("login.success")
