"""The PDFs themselves: what they say, PDF/A-3b and tagged, signed so that one changed byte shows."""

from __future__ import annotations

import http.server
import io
import re
import threading

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pypdf import PdfReader
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select

from tests.attestations.conftest import (
    certificate,
    code_of,
    pdf_download,
    posture,
    qpdf_check,
    signed_in,
    text_of,
)
from trustcenter.attestations import signing_identity
from trustcenter.attestations.models import Attestation
from trustcenter.attestations.render import RefusedResource, locked_fetcher
from trustcenter.attestations.signature import outside_event_loop
from trustcenter.evidence.models import EvidenceResult
from trustcenter.extensions import db


def pyhanko_status(app, pdf: bytes):
    ca = signing_identity(app).ca_certificate
    trust = asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
    embedded = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return outside_event_loop(lambda: validate_pdf_signature(embedded, ValidationContext(trust_roots=[trust])))


def with_one_byte_changed(pdf: bytes) -> bytes:
    """Flip one bit in the middle of the signed content (inside a compressed page stream)."""
    changed = bytearray(pdf)
    changed[len(pdf) // 3] ^= 0x01
    return bytes(changed)


def test_posture_attestation_states_the_faq_the_evidence_and_how_to_verify(app, people, tmp_path):
    pdf = pdf_download(posture(signed_in(app, people["a_member"])))
    text = text_of(pdf)
    content = app.extensions["content"].current()
    assert "Security and GDPR posture attestation" in text and "Prepared for Tenant A Ltd" in text
    assert "Is Personal Data encrypted at rest?" in text and "What are our password complexity rules?" in text
    assert content.version[:12] in text and "info@cloudstem.co.uk" in text
    assert "Personal data is encrypted at rest" in text  # the live evidence table
    assert "What the software enforces" in text and "Argon2id" in text  # beside the seed's wrong password claim
    code = code_of(pdf)
    assert f"localhost/verify?code={code}" in text.replace(" ", "")
    reader = PdfReader(io.BytesIO(pdf))
    assert f"Page 1 of {len(reader.pages)}" in text
    with app.app_context():
        stored = db.session().scalar(select(Attestation).where(Attestation.code == code))
        assert stored.pages == len(reader.pages) and stored.org_id == people["a_member"].org_id


def every_kind(app, people) -> dict[str, bytes]:
    """One PDF of each kind, downloaded as their readers download them."""
    import datetime as dt

    from tests.attestations.conftest import completed_request
    from tests.conftest import csrf_token_from

    request_id = completed_request(app, people["a_member"])
    dpo = signed_in(app, people["dpo"])
    pdfs = {"posture": pdf_download(posture(signed_in(app, people["a_admin"]))),
            "company posture": pdf_download(posture(dpo, staff=True)),
            "certificate": pdf_download(certificate(signed_in(app, people["a_member"]), request_id))}
    today = dt.date.today()
    for kind in ("request_register", "breach_register"):
        page = dpo.get("/staff/attestations").get_data(as_text=True)
        done = dpo.post("/staff/attestations", data={"csrf_token": csrf_token_from(page), "kind": kind,
                                                     "start": f"{today.year}-01-01", "end": today.isoformat()})
        attestation_id = re.search(r"/staff/attestations/([0-9a-f-]{36})\.pdf",
                                   dpo.get(done.location).get_data(as_text=True)).group(1)
        pdfs[kind] = pdf_download(dpo.get(f"/staff/attestations/{attestation_id}.pdf"))
    return pdfs


def test_every_kind_is_tagged_pdfa_3b_signed_and_passes_qpdf(app, people, tmp_path):
    for kind, pdf in every_kind(app, people).items():
        reader = PdfReader(io.BytesIO(pdf))
        root = reader.trailer["/Root"]
        assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root, kind  # tagged
        assert root["/Lang"] and "/OutputIntents" in root, kind
        raw = root["/Metadata"].get_object().get_data()
        # Serialised as elements by WeasyPrint, as attributes once pyHanko has updated the metadata for the signature.
        assert re.search(rb'pdfaid:part(>|=")3', raw) and re.search(rb'pdfaid:conformance(>|=")B', raw), kind
        text = text_of(pdf)
        assert "Cloud Stem" in text and "Page 1 of" in text and code_of(pdf), kind
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(pdf)
        checked = qpdf_check(path)
        assert checked.returncode == 0 and "No syntax or stream encoding errors" in checked.stdout, (kind, checked)
        status = pyhanko_status(app, pdf)
        assert status.bottom_line and status.intact and status.trusted, kind


def test_the_signature_validates_and_one_changed_byte_breaks_it(app, people, client):
    pdf = pdf_download(posture(signed_in(app, people["a_member"])))
    status = pyhanko_status(app, pdf)
    assert status.bottom_line and status.intact and status.trusted
    assert status.coverage.name == "ENTIRE_FILE" and status.signing_cert.subject.native["organization_name"]
    altered = pyhanko_status(app, with_one_byte_changed(pdf))
    assert not altered.intact and not altered.bottom_line


def test_the_same_inputs_are_served_from_the_store_and_new_evidence_makes_a_new_document(app, people, session):
    client = signed_in(app, people["a_member"])
    first = pdf_download(posture(client))
    again = pdf_download(posture(signed_in(app, people["a_admin"])))
    assert again == first  # same tenant, content and evidence: the stored copy
    assert session.scalar(select(func.count()).select_from(Attestation)) == 1
    other = pdf_download(posture(signed_in(app, people["b_member"])))
    assert other != first and "Prepared for Tenant B Ltd" in text_of(other)
    from trustcenter.evidence import service as evidence

    with app.app_context():
        evidence.run_checks(app, db.session(), trigger="test")
        db.session().commit()
    fresh = pdf_download(posture(client))
    assert fresh != first and code_of(fresh) != code_of(first)
    assert session.scalar(select(func.count()).select_from(EvidenceResult)) > 0


def test_the_stored_copy_is_sealed(app, people, session):
    pdf = pdf_download(posture(signed_in(app, people["a_member"])))
    with app.app_context():
        raw = db.session().execute(select(Attestation.pdf_sealed)).scalar_one()
    assert raw.blob != pdf and b"%PDF" not in raw.blob[:64] and b"Tenant A Ltd" not in raw.blob


@pytest.mark.parametrize("url", [
    "http://example.com/tracker.png", "https://example.com/style.css", "file:///etc/passwd",
    "ftp://example.com/x", "file:///proc/self/environ",
])
def test_documents_cannot_fetch_anything_outside_their_assets(url):
    with pytest.raises((RefusedResource, ValueError)):
        locked_fetcher().fetch(url)


def test_a_document_with_a_remote_image_renders_without_fetching_it():
    """Content could name an image anywhere: the fetcher refuses it and the PDF is made without it."""
    from weasyprint import HTML

    from trustcenter.attestations.render import ASSETS

    requested = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requested.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        html = (f'<p>Probe</p><img src="http://127.0.0.1:{server.server_port}/pixel.png" alt="x">'
                '<img src="file:///etc/hostname" alt="y"><link rel="stylesheet" href="../render.py">')
        pdf = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=locked_fetcher()).write_pdf()
    finally:
        server.shutdown()
        server.server_close()
    assert requested == [] and pdf.startswith(b"%PDF")
