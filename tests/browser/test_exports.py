"""A customer prepares an export in a real browser, watches it being built, and downloads it."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_accessibility_signed_in import audit_pages, sign_in
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db


@pytest.fixture
def app_config(app_config, smtp_server):
    """The worker thread runs inside the test server, as in development: it builds the export."""
    return {**app_config, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port,
            "SMTP_STARTTLS": False, "MAIL_WORKER_THREAD": True}


def test_a_customer_prepares_watches_and_downloads_an_export(page: Page, live_server, app, people, axe_source,
                                                             page_errors, tmp_path):
    member = people["a_member"]
    sign_in(page, live_server, member)
    page.goto(f"{live_server}/account/")
    page.get_by_role("link", name="Data exports").click()
    page.get_by_role("button", name="Prepare my export").click()
    expect(page.get_by_role("heading", name="Your data export")).to_be_visible()
    download_link = page.get_by_role("link", name="Download the ZIP")
    expect(download_link).to_be_visible(timeout=20000)  # polled into place, no reload
    audit_pages(page, live_server, [page.url.replace(live_server, "")], axe_source, page_errors, role="a_member")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download the ZIP").click()
    path = tmp_path / "export.zip"
    waiting.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["people"][0]["profile"]["email"] == member.email
    with app.app_context():
        actions = db.session().scalars(select(AuditEntry.action)).all()
    assert "export.downloaded" in actions
    assert not page_errors, "\n".join(page_errors)
