"""Signing in, joining by invitation and resetting a password, in a real browser with real mail."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD


@pytest.fixture
def app_config(app_config, smtp_server):
    """Deliver mail over SMTP to the test server through the in-app delivery thread."""
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False, "MAIL_WORKER_THREAD": True}


def wait_for_mail(smtp_server, to: str, subject_part: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(smtp_server.mailbox.messages):
            if message["To"] == to and subject_part in message["Subject"]:
                return message
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} about {subject_part!r} within {timeout} s")


def link_from(message, live_server: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    path = re.search(r"https?://[^/\s]+(/account/\S+)", text).group(1)
    return live_server + path


def sign_in(page: Page, live_server: str, email: str, password: str) -> None:
    page.goto(f"{live_server}/account/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_staff_sign_in_with_password_and_totp(page: Page, live_server, people):
    staff = people["staff"]
    sign_in(page, live_server, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/account/login/verify$"))
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not valid")).to_be_visible()
    page.get_by_label("Authentication code").fill(pyotp.TOTP(staff.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="Hello, FirstStaff")).to_be_visible()
    page.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Requests", level=1)).to_be_visible()  # the day's work comes first
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.locator("#audit-rows")).to_contain_text("login.success")


def test_invited_colleague_joins_through_the_mail(page: Page, browser: Browser, live_server, people, smtp_server):
    sign_in(page, live_server, people["a_admin"].email, PASSWORD)
    expect(page.get_by_role("heading", name="Hello, FirstAAdmin")).to_be_visible()
    page.get_by_role("link", name="Your team").click()
    page.get_by_label("Colleague's e-mail address").fill("joiner@a.example")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="joiner@a.example")).to_contain_text("Invited")
    mail = wait_for_mail(smtp_server, "joiner@a.example", "invited")
    assert mail.get_body(preferencelist=("html",)) is not None

    joiner = browser.new_context().new_page()
    joiner.goto(link_from(mail, live_server))
    expect(joiner.get_by_role("heading", name="Join Tenant A Ltd")).to_be_visible()
    joiner.get_by_label("First name").fill("Jo")
    joiner.get_by_label("Last name").fill("Iner")
    joiner.get_by_label("Password").fill("short")
    joiner.get_by_role("button", name="Create my account").click()
    expect(joiner.get_by_text("Use 12 to 128 characters")).to_be_visible()
    joiner.get_by_label("Password").fill("a sensible long passphrase")
    joiner.get_by_role("button", name="Create my account").click()
    expect(joiner.get_by_role("heading", name="Hello, Jo")).to_be_visible()

    page.goto(f"{live_server}/account/team")
    expect(page.get_by_role("cell", name="joiner@a.example")).to_be_visible()


def test_password_reset_through_the_mail(page: Page, live_server, people, smtp_server):
    member = people["b_member"]
    page.goto(f"{live_server}/account/login")
    page.get_by_role("link", name="Forgotten your password?").click()
    # The link is boosted: wait for the swap, or the sign-in form's own e-mail field gets filled.
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("E-mail address").fill(member.email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    mail = wait_for_mail(smtp_server, member.email, "Reset")
    page.goto(link_from(mail, live_server))
    page.get_by_label("New password").fill("my brand new passphrase")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()
    sign_in(page, live_server, member.email, "my brand new passphrase")
    expect(page.get_by_role("heading", name="Hello, FirstBMember")).to_be_visible()
    wait_for_mail(smtp_server, member.email, "password was changed")
