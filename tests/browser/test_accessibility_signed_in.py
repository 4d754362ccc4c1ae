"""Every signed-in page of every role, at 1280 px and 390 px: axe-core's WCAG 2.2 AA rules, no overflow."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import RUN_AXE, WCAG_TAGS, describe
from tests.browser.screens import keep_screenshot
from tests.conftest import PASSWORD

CUSTOMER_PAGES = ["/account/", "/account/profile", "/account/security", "/account/requests", "/account/requests/new",
                  "/account/requests/new?kind=objection", "/account/exports", "/account/notices",
                  "/account/subscriptions", "/account/subprocessor-changes", "/account/attestations", "/account/team"]
WIDTHS = [(1280, 800), (390, 844)]
STAFF_PAGES = ["/staff/requests", "/staff/customers", "/staff/customers/{org}", "/staff/audit", "/staff/incidents",
               "/staff/incidents/new", "/staff/incidents/register", "/staff/subprocessor-changes", "/staff/evidence"]


def sign_in(page: Page, live_server: str, person) -> None:
    page.goto(f"{live_server}/account/login")
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if person.totp_secret:
        expect(page).to_have_url(re.compile(r"/login/verify$"))
        page.get_by_label("Authentication code").fill(pyotp.TOTP(person.totp_secret).now())
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("^Hello"))).to_be_visible()


def audit_pages(page: Page, live_server: str, paths: list[str], axe_source: str, errors: list[str],
                role: str = "") -> None:
    """Each page at a laptop's width and a phone's: status 200, no sideways scrolling, axe clean, screenshot kept."""
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            response = page.goto(f"{live_server}{path}", wait_until="load")
            assert response is not None and response.status == 200, path
            assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth"), f"{path} at {width}"
            page.evaluate(axe_source)
            results = page.evaluate(RUN_AXE, WCAG_TAGS)
            assert results["passes"] > 0
            assert not results["violations"], f"{path} at {width}:\n{describe(results['violations'])}"
            keep_screenshot(page, role, width, path)
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("who", ["a_admin", "a_member"])
def test_customer_pages_are_accessible(page: Page, live_server, people, axe_source, page_errors, who):
    sign_in(page, live_server, people[who])
    paths = CUSTOMER_PAGES if who == "a_admin" else [p for p in CUSTOMER_PAGES if p != "/account/team"]
    audit_pages(page, live_server, paths, axe_source, page_errors, role=who)


@pytest.mark.parametrize("who", ["staff", "dpo", "admin"])
def test_staff_pages_are_accessible(page: Page, live_server, people, axe_source, page_errors, who):
    sign_in(page, live_server, people[who])
    extra = {"admin": ["/staff/people"], "dpo": ["/staff/attestations"]}.get(who, [])
    paths = [p.format(org=people["a_admin"].org_id) for p in STAFF_PAGES + extra + CUSTOMER_PAGES[:3]]
    audit_pages(page, live_server, paths, axe_source, page_errors, role=who)
