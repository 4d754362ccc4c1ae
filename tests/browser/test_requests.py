"""A rights request end to end in a real browser: filed by a customer, worked by staff, mailed over SMTP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_accessibility_signed_in import audit_pages, sign_in
from tests.browser.test_accounts import wait_for_mail

KINDS = {
    "General data query": lambda page: page.get_by_label("Your question").fill("Where are backups kept?"),
    "Access to my data (Article 15)": lambda page: None,
    "Correct my data (Article 16)": lambda page: (page.get_by_label("My postal address").check(),
                                                  page.get_by_label("What it should say").fill("1 New Road")),
    # Only a customer administrator is asked what to erase.
    "Erase my data (Article 17)": lambda page: page.get_by_label("My own account").check()
    if page.get_by_label("My own account").count() else None,
    "Restrict processing (Article 18)": lambda page: page.get_by_label(re.compile("I contest the accuracy")).check(),
    "Data portability (Article 20)": lambda page: None,
    "Object to processing (Article 21)": lambda page: (page.get_by_label("E-mails about changes").check(),
                                                       page.get_by_label("Your reasons").fill("Too much mail.")),
}


@pytest.fixture
def app_config(app_config, smtp_server):
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False, "MAIL_WORKER_THREAD": True}


def file(page: Page, live_server: str, kind: str) -> str:
    page.goto(f"{live_server}/account/requests/new")
    page.get_by_label(kind).check()  # htmx fetches that kind's questions; no button needed
    expect(page.get_by_role("heading", name=kind, level=2)).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind="))
    KINDS[kind](page)
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_text(re.compile(r"Request R-[0-9A-F]{8} filed"))).to_be_visible()
    return re.search(r"/account/requests/([0-9a-f-]{36})", page.url).group(1)


def test_a_customer_files_every_kind(page: Page, live_server, people, smtp_server, page_errors):
    sign_in(page, live_server, people["a_admin"])
    for kind in KINDS:
        file(page, live_server, kind)
    page.goto(f"{live_server}/account/requests")
    for kind in KINDS:
        expect(page.get_by_role("cell", name=kind)).to_be_visible()
    wait_for_mail(smtp_server, people["a_admin"].email, "We received your request")
    assert not page_errors, "\n".join(page_errors)


def test_staff_work_a_request_and_the_customer_sees_each_step(page: Page, browser: Browser, live_server, people,
                                                              smtp_server, axe_source, page_errors):
    customer = people["a_member"]
    sign_in(page, live_server, customer)
    request_id = file(page, live_server, "Access to my data (Article 15)")
    reference = page.get_by_role("heading", level=1).inner_text().split()[-1]

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    staff = context.new_page()
    try:
        sign_in(staff, live_server, people["staff"])
        staff.goto(f"{live_server}/staff/requests")
        staff.get_by_role("link", name=reference).click()

        def move(to: str, message: str = "") -> None:
            staff.get_by_label("New state").select_option(label=to)
            staff.get_by_label("Message to the requester").fill(message)
            staff.get_by_role("button", name="Save and tell the requester").click()
            expect(staff.get_by_text(f"{reference} is now {to.lower()}.", exact=False)).to_be_visible()

        move("Acknowledged")
        move("Waiting for the requester", "Which of your product accounts?")
        expect(staff.get_by_text(re.compile("Clock paused since"))).to_be_visible()

        page.reload()
        expect(page.get_by_text("Which of your product accounts?")).to_be_visible()
        expect(page.get_by_text(re.compile("Clock paused"))).to_be_visible()
        page.get_by_label("Message").fill("The main one, please.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Message sent.")).to_be_visible()

        staff.reload()
        expect(staff.get_by_text("The main one, please.")).to_be_visible()
        staff.get_by_label("Extend by").select_option(label="One month")
        staff.get_by_label(re.compile("Reason")).fill("We must search three archived systems.")
        staff.get_by_role("button", name="Extend").click()
        expect(staff.get_by_text("Deadline extended. The requester has been told the reason.")).to_be_visible()
        audit_pages(staff, live_server, [f"/staff/requests/{request_id}"], axe_source, [], role="staff")
        move("Completed", "Your data was sent to you by secure link.")

        page.reload()
        expect(page.get_by_text("We must search three archived systems.").first).to_be_visible()
        expect(page.get_by_text("Your data was sent to you by secure link.").first).to_be_visible()
        expect(page.get_by_role("heading", name="Write to us")).to_have_count(0)
        audit_pages(page, live_server, [f"/account/requests/{request_id}"], axe_source, page_errors,
                    role="a_member")
    finally:
        context.close()

    for subject in ("We received your request", "acknowledged", "waiting for the requester", "we need more time",
                    "completed"):
        wait_for_mail(smtp_server, customer.email, subject)


def test_a_customer_refused_reads_why_and_where_to_complain(page: Page, browser: Browser, live_server, people,
                                                            smtp_server):
    sign_in(page, live_server, people["b_member"])
    request_id = file(page, live_server, "Erase my data (Article 17)")
    context = browser.new_context()
    staff = context.new_page()
    try:
        sign_in(staff, live_server, people["dpo"])
        staff.goto(f"{live_server}/staff/requests/{request_id}")
        staff.get_by_label("New state").select_option(label="Refused")
        staff.get_by_role("button", name="Save and tell the requester").click()
        expect(staff.get_by_text("Give the reason for the refusal")).to_be_visible()
        staff.get_by_label("New state").select_option(label="Refused")
        staff.get_by_label("Message to the requester").fill("Invoices must be kept for six years.")
        staff.get_by_role("button", name="Save and tell the requester").click()
        # Wait for the answer: closing the browser first would abandon the request in flight.
        expect(staff.get_by_text(re.compile(r"is now refused\."))).to_be_visible()
    finally:
        context.close()
    page.reload()
    expect(page.get_by_role("heading", name="Why we refused")).to_be_visible()
    expect(page.locator("section", has=page.get_by_role("heading", name="Why we refused")).get_by_text(
        "Invoices must be kept for six years.")).to_be_visible()
    expect(page.get_by_text(re.compile("right to complain to a supervisory authority"))).to_be_visible()
    wait_for_mail(smtp_server, people["b_member"].email, "refused")


def test_someone_without_an_account_files_through_the_mailed_link(page: Page, live_server, people, smtp_server,
                                                                  page_errors, tmp_path):
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="Make a request").click()
    page.get_by_label("Erase my data (Article 17)").check()
    expect(page.get_by_label("Your e-mail address")).to_be_visible()
    page.get_by_label("Your name").fill("Pat Prospect")
    page.get_by_label("Your e-mail address").fill("pat@elsewhere.example")
    page.get_by_role("button", name="File the request").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    mail = wait_for_mail(smtp_server, "pat@elsewhere.example", "Confirm your request")
    link = re.search(r"https?://[^/\s]+(/requests/confirm/\S+)", mail.get_body(("plain",)).get_content()).group(1)
    page.goto(f"{live_server}{link}")
    page.get_by_role("button", name="File my request").click()
    expect(page.get_by_text(re.compile(r"Request R-[0-9A-F]{8} filed"))).to_be_visible()

    evidence = tmp_path / "proof-of-address.txt"
    evidence.write_text("Pat Prospect, 1 Example Road\n", encoding="utf-8")
    page.get_by_label("Message").fill("My proof of address is attached.")
    page.get_by_label("Attach a file (optional)").set_input_files(str(evidence))
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Message sent.")).to_be_visible()
    expect(page.get_by_role("link", name="proof-of-address.txt")).to_be_visible()
    wait_for_mail(smtp_server, "pat@elsewhere.example", "We received your request")
    assert not page_errors, "\n".join(page_errors)
