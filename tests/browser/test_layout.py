"""The header on a phone and on a wide screen, in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def test_on_a_phone_the_navigation_folds_behind_a_menu_button(page: Page, live_server, page_errors):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server}/faq")
    header = page.locator("header.site-header").bounding_box()
    assert header["height"] < 100  # one row, not three
    in_header = page.locator("header.site-header").get_by_role("link", name="Subprocessors")
    expect(in_header).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    in_header.click()
    expect(page).to_have_url(re.compile(r"/subprocessors$"))
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert page_errors == []


def test_on_a_wide_screen_the_links_are_in_a_row(page: Page, live_server, page_errors):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}/faq")
    expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Changelog")).to_be_visible()
    assert page.locator("header.site-header").bounding_box()["height"] < 90
    assert page_errors == []


def test_a_customers_people_fit_a_laptop_and_stack_as_cards_on_a_phone(page: Page, live_server, people,
                                                                       page_errors):
    from tests.browser.test_security_flows import staff_signed_in

    page.set_viewport_size({"width": 1280, "height": 800})
    staff_signed_in(page, live_server, people["staff"])
    page.goto(f"{live_server}/staff/customers/{people['a_admin'].org_id}")
    table = page.locator("table.people")
    wrap = page.locator(".table-wrap")
    assert table.evaluate("t => t.scrollWidth") <= wrap.evaluate("w => w.clientWidth")
    assert page.locator("table.people thead tr").bounding_box()["height"] < 60
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.locator("table.people tbody tr").first.evaluate("r => getComputedStyle(r).display") == "block"
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    role_cell = page.locator('table.people tbody tr td[data-label="Role"]').first
    assert "Role" in role_cell.evaluate("td => getComputedStyle(td, '::before').content")  # each value says what it is
    assert page_errors == []
