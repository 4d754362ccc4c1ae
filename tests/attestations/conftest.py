"""Helpers for the attestation tests: completed requests, downloads, and reading the PDFs back."""

from __future__ import annotations

import io
import re
import subprocess

from pypdf import PdfReader

from tests.conftest import Auth, csrf_token_from
from tests.requests.conftest import file_request, request_id_from
from trustcenter.extensions import db
from trustcenter.requests import service as requests_service
from trustcenter.requests.models import RightsRequest, State


def signed_in(app, person):
    client = app.test_client()
    Auth(client).login(person)
    return client


def completed_request(app, person, kind: str = "query", answers: dict | None = None,
                      outcome: str = "Answered by e-mail.") -> str:
    """A request filed through the form by `person`, then closed as completed by the DPO."""
    request_id = request_id_from(file_request(signed_in(app, person), kind, answers or {"question": "Which data?"}))
    with app.app_context():
        session = db.session()
        found = session.get(RightsRequest, request_id)
        requests_service.close(session, requests_service.Viewer(None), found, State.COMPLETED, outcome)
    return request_id


def issued(client, path: str, page: str = "/account/attestations"):
    """Press a page's download button: POST `path` with the page's CSRF token, then follow the 303 (if any)."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token})
    return client.get(response.location) if response.status_code == 303 else response


def posture(client, staff: bool = False):
    if staff:
        return issued(client, "/staff/attestations/posture", "/staff/attestations")
    return issued(client, "/account/attestations/posture")


def certificate(client, request_id: str, staff: bool = False):
    if staff:
        return issued(client, f"/staff/attestations/requests/{request_id}", "/staff/attestations")
    return issued(client, f"/account/attestations/requests/{request_id}")


def pdf_download(response) -> bytes:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return response.data


def text_of(pdf: bytes) -> str:
    """All pages' text, with runs of white space made single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def code_of(pdf: bytes) -> str:
    match = re.search(r"Verification code ([0-9A-Z]{5}-[0-9A-Z]{5})", text_of(pdf))
    assert match, "no verification code in the PDF"
    return match.group(1)


def qpdf_check(path) -> subprocess.CompletedProcess:
    return subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True, check=False)


def verify_upload(client, pdf: bytes, name: str = "document.pdf"):
    page = client.get("/verify").get_data(as_text=True)
    return client.post("/verify", data={"csrf_token": csrf_token_from(page), "document": (io.BytesIO(pdf), name)},
                       content_type="multipart/form-data")
