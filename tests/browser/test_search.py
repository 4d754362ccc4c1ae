"""Live FAQ search: htmx swaps results in place, and the form still works without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

BACKUP_QUESTIONS = (
    "For what period is your data stored in backups?",
    "Where do we store backups?",
)


def type_query(page: Page, query: str) -> None:
    """Type like a person, so htmx's `input changed delay:250ms` trigger fires once at the end."""
    page.locator("#search-q").press_sequentially(query, delay=50)


def expect_backup_results(page: Page) -> None:
    results = page.locator("#search-results")
    expect(results.locator(".result-count")).to_have_text("2 questions match “backup”")
    questions = results.locator(".result-question")
    expect(questions).to_have_text(list(BACKUP_QUESTIONS))
    expect(results).not_to_contain_text(re.compile("password", re.IGNORECASE))


@pytest.mark.parametrize("path", ["/faq/search", "/faq"])
def test_typing_swaps_results_in_without_reloading(page: Page, live_server: str, path: str) -> None:
    page.goto(f"{live_server}{path}")
    expect(page.locator("#search-results .result")).to_have_count(0)
    page.evaluate("window.__noReload = 42")

    type_query(page, "backup")

    expect_backup_results(page)
    # Each result highlights the term at least once, in its question.
    expect(page.locator("#search-results .result-question mark")).to_have_count(2)
    assert page.locator("#search-results mark").count() >= 2
    # A full page load would have discarded the marker set on the old window.
    assert page.evaluate("window.__noReload") == 42
    if path == "/faq/search":  # the page is the results: the address bar holds a shareable URL for them
        expect(page).to_have_url(re.compile(r"/faq/search\?q=backup$"))
    else:  # the FAQ stays below the results: its address stays, so reload and anchors show the same page
        expect(page).to_have_url(re.compile(r"/faq$"))


@pytest.mark.parametrize("path", ["/faq/search", "/faq"])
def test_the_address_a_reload_and_the_back_button_agree_after_a_search(page: Page, live_server: str,
                                                                         path: str) -> None:
    page.goto(f"{live_server}/")
    page.goto(f"{live_server}{path}")
    type_query(page, "backup")
    expect_backup_results(page)
    shown_faq = page.locator(".faq-body").count()
    page.reload()
    if path == "/faq/search":
        expect_backup_results(page)
    else:
        expect(page.locator("#search-results .result")).to_have_count(0)
    assert page.locator(".faq-body").count() == shown_faq
    if path == "/faq":
        page.get_by_role("navigation", name="Contents").get_by_role("link").first.click()
        expect(page).to_have_url(re.compile(r"/faq#"))
    page.go_back()  # to the page as it was before: its address and what it shows agree
    expect(page).to_have_url(re.compile(r"/faq$" if path == "/faq" else r"/faq/search$"))
    if path == "/faq/search":
        expect(page.locator("#search-results .result")).to_have_count(0)


def test_a_query_without_matches_says_so(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/faq/search")
    page.evaluate("window.__noReload = 42")

    type_query(page, "zzzzqqq")

    results = page.locator("#search-results")
    expect(results).to_contain_text("No questions match “zzzzqqq”")
    expect(results.locator(".result")).to_have_count(0)
    assert page.evaluate("window.__noReload") == 42


def test_search_works_without_javascript(browser: Browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/faq/search")
        expect(page.locator("#search-results .result")).to_have_count(0)

        page.locator("#search-q").fill("backup")
        with page.expect_navigation():
            page.locator("#search-q").press("Enter")

        expect(page).to_have_url(re.compile(r"/faq/search\?q=backup$"))
        expect(page.locator("#search-q")).to_have_value("backup")
        expect_backup_results(page)
    finally:
        context.close()
