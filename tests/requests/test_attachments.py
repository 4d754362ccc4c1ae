"""Files on the thread: allowed types by content only, 10 MB at most, sealed, downloads recorded, tenants apart."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
import segno
from sqlalchemy import select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import Auth, csrf_token_from
from tests.requests.conftest import file_request, request_id_from
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db
from trustcenter.requests.attachments import MAX_BYTES, AttachmentRefused, media_type_of, safe_name
from trustcenter.requests.models import RequestAttachment, RequestEvent


def png_bytes() -> bytes:
    out = io.BytesIO()
    segno.make("R-123").save(out, kind="png")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


@pytest.mark.parametrize("data,name,expected", [
    (PDF, "letter.pdf", "application/pdf"),
    (png_bytes(), "scan.png", "image/png"),
    (JPEG, "photo.jpeg", "image/jpeg"),
    ("Héllo, my account is 42.\n".encode(), "note.txt", "text/plain"),
    (b"name,value\nA,1\n", "data.csv", "text/csv"),
    (PDF, "renamed.txt", "application/pdf"),  # the content decides, not the name
])
def test_allowed_types_are_told_by_their_content(data, name, expected):
    assert media_type_of(data, name) == expected


@pytest.mark.parametrize("data,name", [
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "invoice.pdf"),  # a Windows program dressed as a PDF
    (b"PK\x03\x04" + b"\x00" * 100, "archive.csv"),
    (b"GIF89a" + b"\x00" * 50, "image.png"),
    (b"\x00\x01\x02binary", "note.txt"),
    (b"\xff\xfe\xfdnot utf-8", "note.txt"),
    (b"", "empty.txt"),
    (b"a" * (MAX_BYTES + 1), "big.txt"),
])
def test_everything_else_is_refused(data, name):
    with pytest.raises(AttachmentRefused):
        media_type_of(data, name)


def test_names_lose_their_paths_and_get_an_extension_that_matches():
    assert safe_name("../../etc/passwd", "text/plain") == "passwd.txt"
    assert safe_name("C:\\Users\\me\\scan.exe", "image/png") == "scan.png"
    assert safe_name('report "final".pdf', "application/pdf") == "report _final_.pdf"


def upload(client, path: str, action: str, data: bytes, name: str, body: str = ""):
    page = client.get(path).get_data(as_text=True)
    # Encoded in memory: the test client would spool a large body to a file the app may refuse to read.
    boundary, payload = encode_multipart({"body": body, "attachment": FileStorage(io.BytesIO(data), name),
                                          "csrf_token": csrf_token_from(page)})
    return client.post(action, data=payload, content_type=f"multipart/form-data; boundary={boundary}")


def test_a_file_travels_sealed_and_each_download_is_recorded(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "See my scan"}))
    page = f"/account/requests/{request_id}"
    image = png_bytes()
    assert upload(client, page, f"{page}/reply", image, "scan.png", "Here it is").status_code == 303

    with app.app_context():
        session = db.session()
        stored = session.scalar(select(RequestAttachment))
        assert (stored.media_type, stored.size, stored.filename) == ("image/png", len(image), "scan.png")
        raw = session.execute(text("SELECT content FROM request_attachments")).scalar_one()
        assert image not in bytes(raw) and image[:16] not in bytes(raw)  # sealed, not stored as sent
        file_id = stored.id

    staff_page = staff_client.get(f"/staff/requests/{request_id}").get_data(as_text=True)
    assert f"/staff/requests/{request_id}/files/{file_id}" in staff_page
    download = staff_client.get(f"/staff/requests/{request_id}/files/{file_id}")
    assert download.status_code == 200 and download.data == image
    assert download.mimetype == "image/png"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in download.headers["Cache-Control"]
    with app.app_context():
        session = db.session()
        assert "request.file_downloaded" in session.scalars(select(AuditEntry.action)).all()
        assert "downloaded" in session.scalars(select(RequestEvent.kind)).all()


def test_a_refused_file_is_explained_and_nothing_is_kept(app, auth, client, people):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Q"}))
    page = f"/account/requests/{request_id}"
    upload(client, page, f"{page}/reply", b"MZ\x90\x00" + b"\x00" * 100, "invoice.pdf", "Bad file")
    shown = client.get(page).get_data(as_text=True)
    assert "Only PDF, PNG, JPEG, plain text or CSV files can be attached" in shown
    with app.app_context():
        session = db.session()
        assert session.scalar(select(RequestAttachment)) is None
        assert "Bad file" not in [e.body for e in session.scalars(select(RequestEvent))]


def test_a_body_over_the_limit_is_refused_before_it_is_read(auth, client, people):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Q"}))
    page = f"/account/requests/{request_id}"
    response = upload(client, page, f"{page}/reply", b"a" * (MAX_BYTES + 200 * 1024), "big.txt")
    assert response.status_code == 413
    # Other forms keep the site-wide limit.
    html = client.get(page).get_data(as_text=True)
    padded = urlencode({"csrf_token": csrf_token_from(html), "pad": "a" * 2_000_000})
    assert client.post(f"{page}/withdraw", data=padded,
                       content_type="application/x-www-form-urlencoded").status_code == 413


def test_files_stay_with_their_tenant_and_internal_notes_with_staff(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Q"}))
    staff_page = f"/staff/requests/{request_id}"
    upload(staff_client, staff_page, f"{staff_page}/message", PDF, "internal.pdf", "For us")
    html = staff_client.get(staff_page).get_data(as_text=True)
    staff_client.post(f"{staff_page}/message", data={"body": "x", "internal": "y", "csrf_token": csrf_token_from(html),
                                                     "attachment": (io.BytesIO(PDF), "secret.pdf")},
                      content_type="multipart/form-data")
    with app.app_context():
        files = {f.filename: f.id for f in db.session().scalars(select(RequestAttachment))}
    assert client.get(f"/account/requests/{request_id}/files/{files['internal.pdf']}").status_code == 200
    assert client.get(f"/account/requests/{request_id}/files/{files['secret.pdf']}").status_code == 404
    other = app.test_client()
    Auth(other).login(people["b_admin"])
    for file_id in files.values():
        assert other.get(f"/account/requests/{request_id}/files/{file_id}").status_code == 404
    page = client.get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert "secret.pdf" not in page and re.search(r"internal\.pdf", page)
