"""/verify: an uploaded PDF or a code says authentic, altered, unknown or not ours; the CA is published."""

from __future__ import annotations

import io

from cryptography import x509
from pypdf import PdfReader, PdfWriter
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.attestations.conftest import code_of, pdf_download, posture, signed_in, verify_upload
from tests.attestations.test_documents import with_one_byte_changed
from tests.conftest import csrf_token_from
from trustcenter.attestations import signing_identity


def member_posture(app, people) -> bytes:
    return pdf_download(posture(signed_in(app, people["a_member"])))


def test_an_unchanged_pdf_is_authentic_and_says_what_it_covers(app, people, client):
    pdf = member_posture(app, people)
    response = verify_upload(client, pdf)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Authentic and unchanged" in html
    assert "Security and GDPR posture attestation" in html and "Tenant A Ltd" in html and code_of(pdf) in html
    content = app.extensions["content"].current()
    assert content.version[:12] in html


def test_one_changed_byte_is_reported_as_altered(app, people, client):
    html = verify_upload(client, with_one_byte_changed(member_posture(app, people))).get_data(as_text=True)
    assert "Altered" in html and "Authentic" not in html


def test_a_copy_saved_again_by_another_program_is_altered(app, people, client):
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(member_posture(app, people))))
    writer.add_metadata({"/Title": "Something else"})
    out = io.BytesIO()
    writer.write(out)
    html = verify_upload(client, out.getvalue()).get_data(as_text=True)
    assert "Authentic" not in html and ("Altered" in html or "Not a document" in html)


def test_a_pdf_we_did_not_sign_and_a_file_that_is_no_pdf(app, client):
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    plain = io.BytesIO()
    writer.write(plain)
    assert "Not a document from" in verify_upload(client, plain.getvalue()).get_data(as_text=True)
    not_pdf = verify_upload(client, b"<html>hello</html>", "page.html")
    assert not_pdf.status_code == 422 and "not a PDF" in not_pdf.get_data(as_text=True)
    assert client.post("/verify", data={}, content_type="multipart/form-data").status_code in (400, 403)


def test_a_code_is_looked_up_as_typed_or_from_the_qr_code(app, people, client):
    code = code_of(member_posture(app, people))
    for typed in (code, code.lower(), code.replace("-", ""), f"  {code.lower()} "):
        html = client.get("/verify", query_string={"code": typed}).get_data(as_text=True)
        assert "Security and GDPR posture attestation" in html and "upload the file itself" in html, typed
    assert "No document has this code" in client.get("/verify?code=ZZZZZ-ZZZZZ").get_data(as_text=True)
    assert "No document has this code" in client.get("/verify?code=%3Cscript%3E").get_data(as_text=True)


def test_the_ca_certificate_is_published_and_issued_the_signing_certificate(app, client):
    response = client.get("/.well-known/trustcenter-ca.pem")
    assert response.status_code == 200 and response.mimetype == "application/x-pem-file"
    ca = x509.load_pem_x509_certificate(response.data)
    identity = signing_identity(app)
    identity.certificate.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_an_oversized_upload_is_refused_without_reading_it(app, client):
    page = client.get("/verify").get_data(as_text=True)
    # Encoded in memory: the test client would spool a large body to a file the app may refuse to read.
    boundary, payload = encode_multipart({"csrf_token": csrf_token_from(page),
                                          "document": FileStorage(io.BytesIO(b"%PDF-" + b"0" * (11 << 20)), "x.pdf")})
    response = client.post("/verify", data=payload, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
