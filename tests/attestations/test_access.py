"""Who gets which document: customers their own organisation's, the DPO everything; every download audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.attestations.conftest import (
    certificate,
    code_of,
    completed_request,
    pdf_download,
    posture,
    signed_in,
    text_of,
)
from tests.conftest import csrf_token_from
from trustcenter.attestations.models import Attestation
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db


def audited_downloads(app) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEntry).where(AuditEntry.action == "attestation.downloaded")))


def test_customers_download_their_posture_attestation_and_each_download_is_audited(app, people):
    for key in ("a_member", "a_admin"):
        pdf_download(posture(signed_in(app, people[key])))
    entries = audited_downloads(app)
    with app.app_context():
        issued = db.session().scalars(select(AuditEntry).where(AuditEntry.action == "attestation.issued")).one()
        attestation_id = db.session().scalar(select(Attestation.id))
    assert issued.subject_id == attestation_id and {e.subject_id for e in entries} == {attestation_id}
    assert sorted(e.actor_id for e in entries) == sorted([people["a_member"].user_id, people["a_admin"].user_id])
    assert {e.org_id for e in entries} == {people["a_member"].org_id}


def test_the_account_page_lists_the_posture_attestation_and_certificates(app, people):
    request_id = completed_request(app, people["a_member"])
    page = signed_in(app, people["a_member"]).get("/account/attestations")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'action="/account/attestations/posture"' in html
    assert f'action="/account/attestations/requests/{request_id}"' in html
    assert page.headers["Cache-Control"].startswith("private") or "no-store" in page.headers["Cache-Control"]
    request_page = signed_in(app, people["a_member"]).get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert f'action="/account/attestations/requests/{request_id}"' in request_page  # offered where it was done


def test_a_certificate_says_what_was_done_and_when(app, people):
    request_id = completed_request(app, people["a_member"], kind="erasure", answers={},
                                   outcome="Erased 1 account and its data.")
    pdf = pdf_download(certificate(signed_in(app, people["a_member"]), request_id))
    text = text_of(pdf)
    with app.app_context():
        from trustcenter.requests.models import RightsRequest

        found = db.session().get(RightsRequest, request_id)
        reference, closed = found.reference, found.closed_at
    assert f"The erasure of the personal data requested under Article 17 ({reference}) was completed" in text
    assert f"on {closed:%-d %B %Y}" in text and "Erased 1 account and its data." in text
    assert "Tenant A Ltd" in text
    dpo_copy = pdf_download(certificate(signed_in(app, people["dpo"]), request_id, staff=True))
    assert dpo_copy == pdf  # the same certificate for the requester and the DPO


def test_nobody_reaches_another_tenants_documents(app, people):
    request_id = completed_request(app, people["a_member"])
    own = pdf_download(certificate(signed_in(app, people["a_member"]), request_id))
    with app.app_context():
        attestation_id = db.session().scalar(select(Attestation.id).where(Attestation.code == code_of(own)))
    other = signed_in(app, people["b_admin"])
    assert certificate(other, request_id).status_code == 404
    assert other.get(f"/account/attestations/{attestation_id}.pdf").status_code == 404
    assert signed_in(app, people["a_member"]).get(f"/account/attestations/{attestation_id}.pdf").status_code == 200
    for key in ("a_member", "a_admin", "b_admin", "staff", "admin"):
        client = signed_in(app, people[key])
        for path in ("/staff/attestations", f"/staff/attestations/{attestation_id}.pdf"):
            assert client.get(path).status_code == 404, (key, path)
        token = csrf_token_from(client.get("/account/").get_data(as_text=True))
        for path in ("/staff/attestations/posture", f"/staff/attestations/requests/{request_id}"):
            assert client.post(path, data={"csrf_token": token}).status_code == 404, (key, path)
    for key in ("staff", "admin"):  # provider roles have no customer's page either
        assert posture(signed_in(app, people[key])).status_code == 404
    anonymous = app.test_client()
    for path in ("/account/attestations", f"/account/attestations/{attestation_id}.pdf", "/staff/attestations"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/account/login" in response.location, path
    token = csrf_token_from(anonymous.get("/account/login").get_data(as_text=True))
    for path in ("/account/attestations/posture", f"/account/attestations/requests/{request_id}"):
        response = anonymous.post(path, data={"csrf_token": token})
        assert response.status_code == 302 and "/account/login" in response.location, path


def test_issuing_needs_a_post_with_a_csrf_token(app, people):
    client = signed_in(app, people["a_member"])
    assert client.get("/account/attestations/posture").status_code == 405
    assert client.post("/account/attestations/posture").status_code in (400, 403)
    with app.app_context():
        assert db.session().scalar(select(Attestation.id)) is None


def test_an_open_request_has_no_certificate(app, people):
    from tests.requests.conftest import file_request, request_id_from

    request_id = request_id_from(file_request(signed_in(app, people["a_member"]), "query", {"question": "Q"}))
    assert certificate(signed_in(app, people["a_member"]), request_id).status_code == 404
    assert certificate(signed_in(app, people["dpo"]), request_id, staff=True).status_code == 404


def test_the_dpo_prepares_registers_for_a_period(app, people):
    request_id = completed_request(app, people["a_member"], outcome="Answered.")
    dpo = signed_in(app, people["dpo"])
    page = dpo.get("/staff/attestations").get_data(as_text=True)
    today = __import__("datetime").date.today()
    response = dpo.post("/staff/attestations", data={"csrf_token": csrf_token_from(page), "kind": "request_register",
                                                     "start": f"{today.year}-01-01", "end": today.isoformat()})
    assert response.status_code == 303
    listing = dpo.get(response.location).get_data(as_text=True)
    attestation_id = re.search(r"/staff/attestations/([0-9a-f-]{36})\.pdf", listing).group(1)
    text = text_of(pdf_download(dpo.get(f"/staff/attestations/{attestation_id}.pdf")))
    with app.app_context():
        from trustcenter.requests.models import RightsRequest

        reference = db.session().get(RightsRequest, request_id).reference
    assert "Rights-request register" in text, text
    assert reference in text and "Tenant A Ltd" in text, text
    assert people["a_member"].email not in text and "FirstAMember" not in text  # no requester's details
    breach = dpo.post("/staff/attestations", data={"csrf_token": csrf_token_from(page), "kind": "breach_register",
                                                   "start": f"{today.year}-01-01", "end": today.isoformat()})
    assert breach.status_code == 303
    assert any(e.actor_id == people["dpo"].user_id for e in audited_downloads(app))


def test_a_bad_period_is_refused_with_what_to_do(app, people):
    dpo = signed_in(app, people["dpo"])
    page = dpo.get("/staff/attestations").get_data(as_text=True)
    backwards = dpo.post("/staff/attestations", data={"csrf_token": csrf_token_from(page), "kind": "request_register",
                                                      "start": "2026-06-01", "end": "2026-01-01"})
    assert backwards.status_code == 422 and "ends before it starts" in backwards.get_data(as_text=True)
    garbage = dpo.post("/staff/attestations", data={"csrf_token": csrf_token_from(page), "kind": "nonsense",
                                                    "start": "not a date", "end": ""})
    assert garbage.status_code == 422
    no_token = dpo.post("/staff/attestations", data={"kind": "request_register", "start": "2026-01-01",
                                                     "end": "2026-02-01"})
    assert no_token.status_code in (400, 403)
    with app.app_context():
        assert db.session().scalar(select(Attestation.id)) is None
