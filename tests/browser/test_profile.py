"""Correcting one's details in a browser: inline errors, the lists to choose from, and no console errors."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility_signed_in import sign_in


def correct_details(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/account/profile")
    first_name = page.get_by_label("First name")
    first_name.fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Enter your first name.")).to_be_visible()
    expect(first_name).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("Your details were saved.")).to_have_count(0)

    first_name.fill("Ada")
    page.get_by_label("Country").select_option(label="Portugal")
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your details were saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/profile$"))
    page.reload()
    expect(page.get_by_label("First name")).to_have_value("Ada")
    expect(page.get_by_label("Country")).to_have_value("Portugal")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Lisbon")


def test_profile_errors_show_beside_their_fields_without_console_errors(page: Page, live_server, people,
                                                                        page_errors):
    sign_in(page, live_server, people["a_member"])
    correct_details(page, live_server)
    assert page.evaluate("typeof htmx") == "object"
    assert not page_errors, "\n".join(page_errors)


def test_profile_works_without_javascript(browser: Browser, live_server, people):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live_server, people["b_member"])
        correct_details(page, live_server)
    finally:
        context.close()
