"""Customers file requests and follow them; staff move them on; every step is mailed and recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.requests.conftest import file_request, load, outbox, post_form, request_id_from
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db
from trustcenter.requests.clock import due_date
from trustcenter.requests.models import RequestEvent

KIND_ANSWERS = {
    "query": {"question": "Where are backups kept?"},
    "access": {"scope": ""},
    "rectification": {"field": "address", "correction": "1 New Road"},
    "erasure": {"note": "Please erase me."},
    "restriction": {"grounds": "accuracy"},
    "portability": {},
    "objection": {"processing": "update_mail", "grounds": "I get too much mail."},
}


@pytest.mark.parametrize("kind", list(KIND_ANSWERS))
def test_a_customer_files_each_kind_and_gets_a_receipt(app, auth, client, people, kind):
    auth.login(people["a_member"])
    response = file_request(client, kind, KIND_ANSWERS[kind])
    assert response.status_code == 303
    request_id = request_id_from(response)
    filed = load(app, request_id)
    assert filed.kind == kind and filed.state == "submitted"
    assert filed.requester_id == people["a_member"].user_id
    assert filed.requester_email == people["a_member"].email
    assert filed.details == {k: v for k, v in KIND_ANSWERS[kind].items() if v}
    assert filed.due_on > filed.received_on
    page = client.get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert filed.reference in page and "Submitted" in page
    mails = outbox(app)
    assert any(m.recipient == people["a_member"].email and filed.reference in m.subject for m in mails)
    assert any(m.subject.startswith(f"New request {filed.reference}") for m in mails)


def test_each_form_asks_only_what_its_kind_needs(auth, client, people):
    auth.login(people["a_member"])
    query = client.get("/account/requests/new?kind=query").get_data(as_text=True)
    objection = client.get("/account/requests/new?kind=objection").get_data(as_text=True)
    assert 'name="question"' in query and 'name="grounds"' not in query
    assert 'name="grounds"' in objection and 'name="question"' not in objection
    chooser = client.get("/account/requests/new").get_data(as_text=True)
    assert 'name="question"' not in chooser and "Erase my data (Article 17)" in chooser


def test_a_missing_answer_is_explained_and_nothing_is_filed(app, auth, client, people):
    auth.login(people["a_member"])
    response = file_request(client, "objection", {"processing": "update_mail", "grounds": ""})
    assert response.status_code == 422
    assert "Your reasons: this is needed." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(RequestEvent)).first() is None


def test_only_administrators_may_ask_to_erase_the_whole_organisation(app, auth, client, people):
    auth.login(people["a_member"])
    assert 'value="organisation"' not in client.get("/account/requests/new?kind=erasure").get_data(as_text=True)
    response = file_request(client, "erasure", {"scope": "organisation"})
    assert load(app, request_id_from(response)).details == {}  # the member's form has no such question


def test_an_identical_open_request_is_flagged_not_merged(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    first = request_id_from(file_request(client, "query", {"question": "Same question"}))
    second = request_id_from(file_request(client, "query", {"question": "Same question"}))
    other = request_id_from(file_request(client, "query", {"question": "Another question"}))
    assert second != first
    assert load(app, second).duplicate_of == first
    assert load(app, other).duplicate_of is None
    page = staff_client.get(f"/staff/requests/{second}").get_data(as_text=True)
    assert "looks identical" in page


def test_staff_acknowledge_pause_extend_and_complete(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "access", {}))
    staff_page = f"/staff/requests/{request_id}"
    filed = load(app, request_id)

    assert post_form(staff_client, staff_page, f"{staff_page}/move", {"to": "acknowledged"}).status_code == 303
    post_form(staff_client, staff_page, f"{staff_page}/move", {"to": "awaiting_requester", "message": ""})
    assert load(app, request_id).state == "acknowledged"  # asking needs a message
    post_form(staff_client, staff_page, f"{staff_page}/move",
              {"to": "awaiting_requester", "message": "Which product account?"})
    paused = load(app, request_id)
    assert paused.state == "awaiting_requester" and paused.paused_since is not None

    customer_page = f"/account/requests/{request_id}"
    assert "Which product account?" in client.get(customer_page).get_data(as_text=True)
    post_form(client, customer_page, f"{customer_page}/reply", {"body": "The main one."})
    resumed = load(app, request_id)
    assert resumed.state == "in_progress" and resumed.paused_since is None

    post_form(staff_client, staff_page, f"{staff_page}/extend", {"months": "2", "reason": "Many systems to search."})
    extended = load(app, request_id)
    assert extended.extension_months == 2
    assert extended.due_on > filed.due_on
    assert extended.due_on == due_date(filed.received_on, extension_months=2, paused_days=extended.paused_days)
    assert "Many systems to search." in client.get(customer_page).get_data(as_text=True)

    post_form(staff_client, staff_page, f"{staff_page}/move", {"to": "completed", "message": "Sent by post."})
    done = load(app, request_id)
    assert done.state == "completed" and done.closed_at is not None and done.outcome == "Sent by post."
    page = client.get(customer_page).get_data(as_text=True)
    assert "Sent by post." in page and "Write to us" not in page

    subjects = [m.subject for m in outbox(app) if m.recipient == people["a_member"].email]
    assert any("acknowledged" in s for s in subjects)
    assert any("waiting for the requester" in s for s in subjects)
    assert any("we need more time" in s for s in subjects)
    assert any("completed" in s for s in subjects)
    with app.app_context():
        actions = [e.action for e in db.session().scalars(select(AuditEntry).where(
            AuditEntry.subject_id == request_id))]
    assert {"request.submitted", "request.state_changed", "request.extended", "request.message"} <= set(actions)


def test_a_refusal_gives_the_reason_and_the_right_to_complain(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "erasure", {}))
    staff_page = f"/staff/requests/{request_id}"
    post_form(staff_client, staff_page, f"{staff_page}/move", {"to": "refused", "message": ""})
    assert load(app, request_id).state == "submitted"
    post_form(staff_client, staff_page, f"{staff_page}/move",
              {"to": "refused", "message": "We must keep invoices for six years."})
    page = client.get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert "We must keep invoices for six years." in page
    assert "right to complain to a supervisory authority" in page
    [mail] = [m for m in outbox(app) if m.recipient == people["a_member"].email and "refused" in m.subject]
    assert "complain to a supervisory authority" in mail.text_body


def test_the_requester_withdraws_and_can_no_longer_reply(app, auth, client, people):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Never mind"}))
    page = f"/account/requests/{request_id}"
    assert post_form(client, page, f"{page}/withdraw", {}).status_code == 303
    assert load(app, request_id).state == "withdrawn"
    post_form(client, page, f"{page}/reply", {"body": "One more thing"})
    with app.app_context():
        bodies = [e.body for e in db.session().scalars(select(RequestEvent).where(
            RequestEvent.request_id == request_id))]
    assert "One more thing" not in bodies


def test_internal_notes_stay_with_staff(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Hello"}))
    staff_page = f"/staff/requests/{request_id}"
    post_form(staff_client, staff_page, f"{staff_page}/message", {"body": "Check the CRM first", "internal": "y"})
    assert "Check the CRM first" in staff_client.get(staff_page).get_data(as_text=True)
    assert "Check the CRM first" not in client.get(f"/account/requests/{request_id}").get_data(as_text=True)


def test_the_queue_lists_soonest_due_first_and_filters(app, auth, client, people, staff_client):
    auth.login(people["a_member"])
    ids = [request_id_from(file_request(client, kind, KIND_ANSWERS[kind])) for kind in ("query", "erasure")]
    page = staff_client.get("/staff/requests").get_data(as_text=True)
    assert all(load(app, i).reference in page for i in ids)
    erasures = staff_client.get("/staff/requests?kind=erasure").get_data(as_text=True)
    assert load(app, ids[1]).reference in erasures and load(app, ids[0]).reference not in erasures
    assert staff_client.get("/staff/requests?due=bogus").status_code == 400
    assert staff_client.get("/staff/requests?after=not-a-cursor").status_code == 400


def test_an_extension_is_refused_once_the_first_month_has_passed(app, auth, client, people, staff_client):
    import datetime as dt

    from sqlalchemy import update

    from trustcenter.requests.models import RightsRequest

    auth.login(people["a_member"])
    request_id = request_id_from(file_request(client, "access", {}))
    with app.app_context():
        db.session().execute(update(RightsRequest).where(RightsRequest.id == request_id).values(
            received_on=dt.date.today() - dt.timedelta(days=40)))
        db.session().commit()
    page = f"/staff/requests/{request_id}"
    assert "an extension is no longer possible" in staff_client.get(page).get_data(as_text=True)
    post_form(staff_client, page, f"{page}/extend", {"months": "1", "reason": "Too late"})
    assert load(app, request_id).extension_months == 0
    assert "The first month has passed" in staff_client.get(page).get_data(as_text=True)
