"""Signed-in pages, for customers and staff, pass axe-core's WCAG 2.2 AA rules too."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_accessibility import RUN_AXE, WCAG_TAGS, describe
from tests.conftest import PASSWORD

CUSTOMER_PAGES = ["/account/", "/account/profile", "/account/security", "/account/team"]
STAFF_PAGES = ["/staff/customers", "/staff/customers/{org}", "/staff/audit"]


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


def audit_pages(page: Page, live_server: str, paths: list[str], axe_source: str, errors: list[str]) -> None:
    for path in paths:
        response = page.goto(f"{live_server}{path}", wait_until="load")
        assert response is not None and response.status == 200, path
        page.evaluate(axe_source)
        results = page.evaluate(RUN_AXE, WCAG_TAGS)
        assert results["passes"] > 0
        assert not results["violations"], f"{path}:\n{describe(results['violations'])}"
    assert not errors, "\n".join(errors)


def test_customer_pages_are_accessible(page: Page, live_server, people, axe_source, page_errors):
    sign_in(page, live_server, people["a_admin"])
    audit_pages(page, live_server, CUSTOMER_PAGES, axe_source, page_errors)


@pytest.mark.parametrize("viewport", [None, {"width": 390, "height": 844}])
def test_staff_pages_are_accessible(page: Page, live_server, people, axe_source, page_errors, viewport):
    if viewport:
        page.set_viewport_size(viewport)
    sign_in(page, live_server, people["staff"])
    paths = [p.format(org=people["a_admin"].org_id) for p in STAFF_PAGES]
    audit_pages(page, live_server, paths, axe_source, page_errors)
