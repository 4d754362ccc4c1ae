"""Signed PDFs in a real browser: the DPO prepares and downloads a register; a customer downloads the posture
attestation and checks it, a changed copy of it and its code at /verify."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from playwright.sync_api import Browser, Download, Page, expect

from tests.attestations.conftest import code_of, completed_request, text_of
from tests.browser.test_accessibility_signed_in import audit_pages, sign_in
from tests.test_html_validity import check
from trustcenter.requests.models import reference_of


def downloaded(download: Download) -> bytes:
    """The bytes of a finished download."""
    assert download.failure() is None, download.failure()
    return Path(download.path()).read_bytes()


def with_one_byte_changed(pdf: bytes) -> bytes:
    """One bit flipped a third of the way in, inside the signed content."""
    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01
    return bytes(changed)


def prepare_register(page: Page, live_server: str, start: dt.date, end: dt.date):
    """Fill in the DPO's register form for the rights-request register and submit it; the link to the PDF."""
    page.goto(f"{live_server}/staff/attestations")
    page.get_by_label("Register", exact=True).select_option(label="Rights-request register")
    page.get_by_label("From", exact=True).fill(start.isoformat())
    page.get_by_label("To (inclusive)").fill(end.isoformat())
    page.get_by_role("button", name="Prepare the register").click()
    link = page.get_by_role("link", name=re.compile(r"^Download Rights-request register, .* \(PDF, \d+ pages?\)$"))
    expect(link).to_be_visible()
    return link


def check_register(pdf: bytes, reference: str) -> None:
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert "Rights-request register" in text
    assert reference in text
    assert "Tenant A Ltd" in text
    code_of(pdf)


def test_the_dpo_prepares_and_downloads_the_request_register(page: Page, browser: Browser, app, live_server,
                                                             people, axe_source, page_errors):
    request_id = completed_request(app, people["a_member"])
    reference = reference_of(request_id)
    today = dt.date.today()
    start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=1)  # received_on is a London date

    sign_in(page, live_server, people["dpo"])
    link = prepare_register(page, live_server, start, end)
    # htmx swapped the form in place: no navigation to the ?ready= address happened.
    expect(page).to_have_url(re.compile(r"/staff/attestations$"))
    expect(link).to_contain_text(f"{start:%-d %B %Y} to {end:%-d %B %Y}")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    check_register(downloaded(download), reference)
    audit_pages(page, live_server, ["/staff/attestations"], axe_source, page_errors, role="dpo")

    # The same session without JavaScript (an authentication code is good for one sign-in only).
    context = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    try:
        plain = context.new_page()
        link = prepare_register(plain, live_server, start, end)
        expect(plain).to_have_url(re.compile(r"/staff/attestations\?ready=[0-9a-f-]{36}$"))  # after the 303
        expect(plain.get_by_role("status").filter(has_text="Download Rights-request register")).to_be_visible()
        with plain.expect_download() as info:
            link.click()
        check_register(downloaded(info.value), reference)
    finally:
        context.close()


def test_the_dpo_sees_why_a_period_is_refused(page: Page, live_server, people):
    sign_in(page, live_server, people["dpo"])
    today = dt.date.today()
    page.goto(f"{live_server}/staff/attestations")
    page.get_by_label("From", exact=True).fill(today.isoformat())
    page.get_by_label("To (inclusive)").fill((today - dt.timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Prepare the register").click()
    expect(page.get_by_text("The period ends before it starts")).to_be_visible()
    expect(page.get_by_label("To (inclusive)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("link", name=re.compile("^Download Rights-request register"))).to_have_count(0)


def download_posture(page: Page, live_server: str) -> bytes:
    """Press the customer's download button, as a person would."""
    page.goto(f"{live_server}/account/attestations")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the posture attestation (PDF)").click()
    return downloaded(info.value)


def upload(page: Page, name: str, pdf: bytes) -> None:
    page.get_by_label("Signed PDF").set_input_files({"name": name, "mimeType": "application/pdf", "buffer": pdf})
    page.get_by_role("button", name="Check the document").click()


def test_a_customer_downloads_the_posture_attestation_and_verifies_it(page: Page, live_server, people,
                                                                      axe_source, page_errors):
    sign_in(page, live_server, people["a_member"])
    page.goto(f"{live_server}/account/attestations")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the posture attestation (PDF)").click()
    download = info.value
    pdf = downloaded(download)
    assert "Security and GDPR posture attestation" in text_of(pdf)
    code = code_of(pdf)

    page.goto(f"{live_server}/verify")
    verdict = page.locator("#verdict")
    upload(page, download.suggested_filename, pdf)
    expect(verdict.get_by_role("heading", name="Authentic and unchanged")).to_be_visible()
    expect(verdict).to_contain_text("Tenant A Ltd")
    expect(verdict).to_contain_text("Security and GDPR posture attestation")
    expect(verdict).to_contain_text(code)

    upload(page, "changed.pdf", with_one_byte_changed(pdf))
    expect(verdict.get_by_role("heading", name=re.compile("^Altered"))).to_be_visible()
    expect(verdict).not_to_contain_text("Authentic")

    page.get_by_label("Verification code").fill(code)
    page.get_by_role("button", name="Look up the code").click()
    expect(page).to_have_url(re.compile(rf"/verify\?code={code}$"))
    expect(verdict.get_by_role("heading", name="Authentic", exact=True)).to_be_visible()
    expect(verdict).to_contain_text("upload the file itself")
    expect(verdict).to_contain_text("Security and GDPR posture attestation")
    expect(verdict).to_contain_text("Tenant A Ltd")
    expect(verdict).to_contain_text(code)
    audit_pages(page, live_server, [f"/verify?code={code}", "/account/attestations"], axe_source, page_errors,
                role="a_member")


def test_verify_works_without_javascript(page: Page, browser: Browser, live_server, people):
    # Downloaded as a customer downloads it, then checked by someone who is not signed in and runs no scripts.
    sign_in(page, live_server, people["a_admin"])
    pdf = download_posture(page, live_server)
    context = browser.new_context(java_script_enabled=False)
    try:
        anonymous = context.new_page()
        anonymous.goto(f"{live_server}/verify")
        verdict = anonymous.locator("#verdict")
        upload(anonymous, "posture.pdf", pdf)
        expect(verdict.get_by_role("heading", name="Authentic and unchanged")).to_be_visible()
        expect(verdict).to_contain_text("Tenant A Ltd")
        upload(anonymous, "not-ours.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
        expect(verdict.get_by_role("heading", name=re.compile("^Not a document from"))).to_be_visible()
        anonymous.get_by_label("Verification code").fill("ZZZZZ-ZZZZZ")
        anonymous.get_by_role("button", name="Look up the code").click()
        expect(anonymous).to_have_url(re.compile(r"/verify\?code=ZZZZZ-ZZZZZ$"))
        expect(verdict.get_by_role("heading", name="No document has this code")).to_be_visible()
    finally:
        context.close()


def test_the_attestation_pages_with_documents_listed_are_valid_html(page: Page, app, live_server, people,
                                                                    tmp_path):
    """The pages as they look once documents exist: lists of certificates, tables of issued documents, verdicts."""
    completed_request(app, people["a_admin"])
    sign_in(page, live_server, people["a_admin"])
    fetch = page.request
    pdf = download_posture(page, live_server)
    pages = {"/account/attestations (documents issued)": fetch.get(f"{live_server}/account/attestations").text(),
             "/verify?code= (known code)": fetch.get(f"{live_server}/verify?code={code_of(pdf)}").text()}
    page.context.clear_cookies()
    sign_in(page, live_server, people["dpo"])
    today = dt.date.today()
    prepare_register(page, live_server, today - dt.timedelta(days=7), today + dt.timedelta(days=1))
    ready = page.get_by_role("link", name=re.compile("^Download Rights-request register")).get_attribute("href")
    attestation_id = re.search(r"/staff/attestations/([0-9a-f-]{36})\.pdf$", ready).group(1)
    pages["/staff/attestations?ready="] = fetch.get(f"{live_server}/staff/attestations?ready={attestation_id}").text()
    for name, html in pages.items():
        assert "<!doctype html>" in html.lower()[:100], name
    assert check(pages, tmp_path / "pages") == ""
