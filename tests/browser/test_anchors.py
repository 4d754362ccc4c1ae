"""Deep links into the FAQ land on the right question, below the sticky header."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


def expect_not_under_header(page: Page, target: Locator) -> None:
    """The target's top edge is visible: not hidden behind the sticky site header."""
    expect(target).to_be_in_viewport()
    header_bottom = page.locator(".site-header").bounding_box()
    box = target.bounding_box()
    assert header_bottom is not None and box is not None
    visible_from = max(0.0, header_bottom["y"] + header_bottom["height"])
    assert box["y"] >= visible_from - 1, (
        f"top of {target} at y={box['y']:.0f} is hidden under the header ending at y={visible_from:.0f}"
    )


def wait_for_scroll_to_settle(page: Page) -> None:
    """`scroll-behavior: smooth` animates jumps; wait until the offset holds still for 150 ms."""
    page.evaluate(
        """() => new Promise(resolve => {
             let last = window.scrollY, still = 0;
             const tick = () => {
               if (window.scrollY === last) { still += 1; } else { still = 0; last = window.scrollY; }
               if (still >= 3) { resolve(); } else { setTimeout(tick, 50); }
             };
             setTimeout(tick, 50);
           })"""
    )


def test_question_anchor_scrolls_into_view_and_is_target(page: Page, live_server: str) -> None:
    question = page.locator("#backup-retention")
    page.goto(f"{live_server}/faq")
    expect(question).not_to_be_in_viewport()  # the control: without a hash it starts off-screen

    page.goto(f"{live_server}/faq#backup-retention")

    expect(question).to_be_in_viewport()
    expect(page.locator(":target")).to_have_id("backup-retention")
    expect(question).to_contain_text("For what period is your data stored in backups?")
    wait_for_scroll_to_settle(page)
    expect_not_under_header(page, question)


def test_contents_link_moves_hash_and_scrolls_to_section(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/faq")
    section = page.locator("section#security")
    expect(section).not_to_be_in_viewport()
    page.evaluate("window.__noReload = 42")

    page.locator("nav.toc").get_by_role("link", name="Security", exact=True).click()

    expect(page).to_have_url(re.compile(r"/faq#security$"))
    expect(section).to_be_in_viewport()
    expect(page.locator(":target")).to_have_id("security")
    assert page.evaluate("window.__noReload") == 42  # an in-page jump, not a reload
    wait_for_scroll_to_settle(page)
    expect_not_under_header(page, section.get_by_role("heading", level=2))


def test_search_result_link_opens_the_question_in_the_faq(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/faq/search?q=backup")

    page.locator("#search-results").get_by_role("link", name="Where do we store backups?").click()

    expect(page).to_have_url(re.compile(r"/faq#backup-location$"))
    question = page.locator("#backup-location")
    expect(question).to_be_in_viewport()
    expect(page.locator(":target")).to_have_id("backup-location")
    wait_for_scroll_to_settle(page)
    expect_not_under_header(page, question)
