"""A FAQ claim in a real browser: failing when the worker stops and staff run the checks, passing again once the
worker is back; the page a visitor sees comes through the page cache."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility_signed_in import sign_in
from tests.conftest import run_worker_tasks
from tests.evidence.conftest import beat


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False}


def run_checks(staff: Page, live_server: str) -> None:
    staff.goto(f"{live_server}/staff/evidence")
    staff.get_by_role("button", name="Run checks now").click()
    expect(staff.get_by_text("Checks finished:")).to_be_visible()


def claim(visitor: Page, live_server: str):
    visitor.goto(f"{live_server}/faq/data-breach")
    return visitor.locator("#breach-notification-mechanism .evidence li")


def test_a_claim_fails_when_the_worker_stops_and_passes_when_it_runs_again(page: Page, browser: Browser, app,
                                                                             live_server, people, published,
                                                                             page_errors):
    app.extensions["evidence_version"].refresh_seconds = 1.0  # other processes would take up to 15 s
    run_worker_tasks(app)  # the worker goes round once: heartbeat and the first scheduled run
    visitor = browser.new_page()  # anonymous: served from the page cache
    expect(claim(visitor, live_server)).to_contain_text("Passing")
    expect(claim(visitor, live_server)).to_contain_text("The last check confirmed this.")
    expect(claim(visitor, live_server)).not_to_contain_text("127.0.0.1")  # particulars are for staff

    sign_in(page, live_server, people["staff"])
    beat(app, dt.timedelta(minutes=7))  # the worker stopped seven minutes ago
    run_checks(page, live_server)
    notification = page.locator("section", has=page.get_by_role("heading", name="Breach notifications can go out now"))
    expect(notification.get_by_role("heading")).to_contain_text("Failing")
    expect(notification).to_contain_text("The worker last ran 7 minutes ago")
    expect(claim(visitor, live_server)).to_contain_text("Failing")
    expect(claim(visitor, live_server)).to_contain_text("a notification could not go out now")
    expect(claim(visitor, live_server).locator("time")).to_have_attribute("datetime", re.compile(r"Z$"))

    beat(app)  # the worker is back
    run_checks(page, live_server)
    expect(notification.get_by_role("heading")).to_contain_text("Passing")
    expect(claim(visitor, live_server)).to_contain_text("Passing")
    expect(claim(visitor, live_server)).not_to_contain_text("Failing")
    visitor.close()
    assert not page_errors, page_errors
