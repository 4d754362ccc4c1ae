"""/verify reads files nobody vouches for: built to crash or exhaust a PDF parser, they get a clear answer."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from tests.attestations.conftest import (
    certificate,
    code_of,
    completed_request,
    pdf_download,
    posture,
    signed_in,
    verify_upload,
)
from trustcenter.attestations import SIGNING
from trustcenter.attestations.models import Attestation
from trustcenter.crypto.certificates import issue_signing_identity, load_signing_identity, write_identity
from trustcenter.extensions import db

SIGNATURE_FIELD = b"<</FT/Sig/T(s)/V 5 0 R>>"
CATALOG = b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[4 0 R]>>>>"
PAGES = [b"<</Type/Pages/Kids[3 0 R]/Count 1>>", b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>"]


def pdf_of(objects: list[bytes], root: int = 1) -> bytes:
    out, offsets = b"%PDF-1.7\n%/ByteRange\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<</Size %d /Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, start)


HOSTILE = {
    # An XRef stream claiming a billion entries in four bytes: pyHanko would loop and allocate for minutes.
    "xref bomb": b"%PDF-1.7\n%/ByteRange\n1 0 obj<</Type/XRef/Size 999999999/W[1 2 1]/Length 4>>stream\nabcd\n"
                 b"endstream endobj\nstartxref\n21\n%%EOF",
    "signature value not a dictionary": pdf_of([CATALOG, *PAGES, b"<</FT/Sig/T(s)/V 42>>"]),
    "root not a dictionary": pdf_of([b"5", *PAGES]),
    "root missing": pdf_of([CATALOG, *PAGES], root=99),
    "deep nesting": pdf_of([b"<</Type/Catalog/Pages 2 0 R/X " + b"[" * 100000 + b"]" * 100000 + b">>", *PAGES]),
    "broken flate xref": b"%PDF-1.7\n%/ByteRange\n1 0 obj<</Type/XRef/Size 5/W[1 2 1]/Length 5/Filter/FlateDecode>>"
                         b"stream\nxxxxx\nendstream endobj\nstartxref\n21\n%%EOF",
    "huge startxref": b"%PDF-1.7\n%/ByteRange\nstartxref\n99999999999999999999\n%%EOF",
    "nonsense byte range": pdf_of([CATALOG, *PAGES, SIGNATURE_FIELD,
                                   b"<</Type/Sig/SubFilter/ETSI.CAdES.detached/ByteRange[0 99999999999 -5 1e9]"
                                   b"/Contents<3000>>>"]),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_pdf_gets_an_answer_not_an_error(app, client, name):
    response = verify_upload(client, HOSTILE[name])
    html = response.get_data(as_text=True)
    assert response.status_code == 200, name
    assert "could not be checked" in html or "Not a document from" in html, name
    assert "Authentic" not in html and "Altered" not in html


def test_a_document_stays_authentic_after_the_ca_changes(app, people, client, tmp_path):
    """A new CA (or an expired signing certificate) must not turn documents already issued into 'altered'."""
    pdf = pdf_download(posture(signed_in(app, people["a_member"])))
    write_identity(tmp_path / "next", issue_signing_identity("Cloud Stem"))
    app.extensions[SIGNING] = load_signing_identity({}, tmp_path / "next", production=True)
    html = verify_upload(client, pdf).get_data(as_text=True)
    assert "Authentic and unchanged" in html


def test_members_do_not_see_certificates_of_colleagues_requests(app, people):
    request_id = completed_request(app, people["a_admin"])
    own = pdf_download(certificate(signed_in(app, people["a_admin"]), request_id))
    member = signed_in(app, people["a_member"])
    listing = member.get("/account/attestations").get_data(as_text=True)
    with app.app_context():
        attestation = db.session().scalar(select(Attestation).where(Attestation.request_id == request_id))
        assert attestation.sha256 and own
    assert attestation.id not in listing and attestation.code not in listing
    assert attestation.id in signed_in(app, people["a_admin"]).get("/account/attestations").get_data(as_text=True)


def test_a_document_of_an_erased_organisation_is_gone_not_an_error(app, people):
    pdf_download(posture(signed_in(app, people["b_member"])))
    with app.app_context():
        attestation = db.session().scalar(select(Attestation))
        identifier = attestation.id
    app.extensions["keys"].destroy_tenant(people["b_member"].org_id)
    dpo = signed_in(app, people["dpo"])
    assert dpo.get(f"/staff/attestations/{identifier}.pdf").status_code == 404
    assert dpo.get(f"/staff/attestations?ready={identifier}").status_code == 200
    assert dpo.get("/staff/attestations").status_code == 200


def test_code_lookups_are_counted_per_address(app, client):
    answers = [client.get("/verify?code=ZZZZZ-ZZZZ0").status_code for _ in range(61)]
    assert answers[:60] == [200] * 60 and answers[60] == 429


def test_only_a_posture_attestation_names_who_it_was_for(app, people, client):
    request_id = completed_request(app, people["a_member"])
    pdf = pdf_download(certificate(signed_in(app, people["a_member"]), request_id))
    html = client.get(f"/verify?code={code_of(pdf)}").get_data(as_text=True)
    assert "Request fulfilment certificate" in html and "Tenant A Ltd" not in html
    assert dt.date.today().strftime("%Y") in html and io  # the issue date is shown
