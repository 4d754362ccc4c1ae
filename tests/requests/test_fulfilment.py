"""Fulfilment that really happens: erasure after the DPO's approval (backups included), rectification,
restriction and objection, each on the timeline and in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.backup.test_backup import app_on_fresh_database, make_backup
from tests.conftest import Auth
from tests.requests.conftest import file_request, load, outbox, post_form, request_id_from
from trustcenter.accounts.models import Organisation, User
from trustcenter.audit import AuditEntry
from trustcenter.backup import restore_backup
from trustcenter.crypto import KeyDestroyed
from trustcenter.extensions import db, session_factory
from trustcenter.requests.fulfilment import wants_optional_mail
from trustcenter.requests import service
from trustcenter.requests.mail import send
from trustcenter.requests.models import Kind, RequestEvent, RightsRequest


def signed_in(app, person):
    client = app.test_client()
    Auth(client).login(person)
    return client


def fulfil(client, request_id: str, action: str, **data):
    page = f"/staff/requests/{request_id}"
    return post_form(client, page, f"{page}/fulfil/{action}", data)


def person(app, user_id: str) -> User:
    with app.app_context():
        found = db.session().get(User, user_id)
        _ = found.status
        return found


def file_erasure(app, who, **answers) -> str:
    return request_id_from(file_request(signed_in(app, who), "erasure", {"note": "My secret reason", **answers}))


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "backups"


def test_erasure_waits_for_the_dpo_then_shreds_the_person_and_keeps_the_record(app, app_config, databases, tmp_path,
                                                                              people, runner, folder):
    member = people["a_member"]
    request_id = file_erasure(app, member)
    earlier = request_id_from(file_request(signed_in(app, member), "query", {"question": "My earlier question"}))
    backup = make_backup(runner, folder)
    staff, dpo = signed_in(app, people["staff"]), signed_in(app, people["dpo"])

    fulfil(staff, request_id, "erase")
    assert person(app, member.user_id).status == "active"  # not without the DPO
    fulfil(staff, request_id, "approve")
    assert "approved" not in [e.kind for e in timeline(app, request_id)]  # staff cannot approve
    fulfil(dpo, request_id, "approve")
    fulfil(staff, request_id, "erase")

    erased = person(app, member.user_id)
    assert erased.status == "erased" and erased.is_erased
    record = load(app, request_id)
    assert record.state == "completed" and "Erased 1 account" in record.outcome
    assert record.requester_email is None and record.requester_name == "Erased person" and record.details == {}
    assert load(app, earlier).requester_name == "Erased person" and load(app, earlier).details == {}
    bodies = [e.body for e in timeline(app, request_id) + timeline(app, earlier) if e.body]
    assert not [b for b in bodies if "secret" in b.lower() or "earlier question" in b.lower()]
    assert record.requester_index.startswith("erased:") and record.fingerprint.startswith("erased:")
    assert any(m.recipient == member.email and "completed" in m.subject for m in outbox(app))
    assert signed_in(app, member).get("/account/requests").status_code == 302  # their sessions are over

    # No value of theirs can be read by any means: not from the database, not from the backup taken before.
    values = (member.email, "FirstAMember", "My secret reason", "My earlier question")
    assert not any(v in staff.get(f"/staff/requests/{request_id}").get_data(as_text=True) for v in values)
    with app_on_fresh_database(app_config, databases, tmp_path) as old:
        with old.app_context():
            restore_backup(db.engine, backup)
        session = session_factory(old)()
        try:
            user = session.get(User, member.user_id)
            for field in ("email", "first_name", "address"):
                with pytest.raises(KeyDestroyed):
                    getattr(user, field)
            for each in session.scalars(select(RightsRequest)):
                with pytest.raises(KeyDestroyed):
                    _ = each.details
            for event in session.scalars(select(RequestEvent).where(RequestEvent.body_sealed.is_not(None))):
                with pytest.raises(KeyDestroyed):
                    _ = event.body
        finally:
            session.close()
    actions = audit_actions(app)
    assert {"request.erasure_approved", "user.erased"} <= set(actions)


def test_a_customer_administrator_closes_the_whole_organisation(app, people):
    admin = people["a_admin"]
    members_question = request_id_from(file_request(signed_in(app, people["a_member"]), "query",
                                                    {"question": "MEMBER SECRET QUESTION"}))
    request_id = file_erasure(app, admin, scope="organisation")
    fulfil(signed_in(app, people["dpo"]), request_id, "approve")
    fulfil(signed_in(app, people["dpo"]), request_id, "erase")
    for key in ("a_admin", "a_member"):
        assert person(app, people[key].user_id).status == "erased"
    assert person(app, people["b_member"].user_id).status == "active"
    with app.app_context():
        org = db.session().get(Organisation, admin.org_id)
        assert org.display_name == "Erased organisation"
    record = load(app, request_id)
    assert record.state == "completed" and "organisation and its 2 accounts" in record.outcome
    assert "organisation.erased" in audit_actions(app)
    members = load(app, members_question)  # every member's requests are forgotten with them
    assert (members.requester_email, members.details, members.requester_name) == (None, {}, "Erased person")


def test_erasing_an_account_by_command_forgets_its_requests(app, people, runner):
    member = people["a_member"]
    request_id = request_id_from(file_request(signed_in(app, member), "query", {"question": "CLI SECRET"}))
    result = runner.invoke(args=["users", "erase", member.email, "--yes"])
    assert result.exit_code == 0, result.output
    forgotten = load(app, request_id)
    assert (forgotten.requester_email, forgotten.details) == (None, {})
    assert forgotten.requester_index.startswith("erased:")


def test_erasing_one_account_leaves_the_same_address_elsewhere_alone(app, people):
    from tests.conftest import PASSWORD, Person
    from trustcenter.accounts import service as accounts

    member = people["a_member"]
    with app.app_context():
        session = db.session()
        other_org = session.get(Organisation, people["b_admin"].org_id)
        twin = accounts.create_user(session, other_org, member.email, "customer_member", password=PASSWORD,
                                    first_name="Twin")
        session.commit()
        twin_person = Person(twin.id, member.email, other_org.id, "customer_member")
        # Filed through the service: signing in with an address two organisations share picks one of them.
        twin_request = service.file_request(session, service.Viewer(twin), Kind.QUERY, {"question": "Mine, in B"},
                                            service.Clock(), send, "dpo@provider.example").id
    request_id = file_erasure(app, member)
    fulfil(signed_in(app, people["dpo"]), request_id, "approve")
    fulfil(signed_in(app, people["dpo"]), request_id, "erase")
    assert person(app, member.user_id).status == "erased"
    # An account's erasure is that account's: the other organisation's account and its request stay whole.
    assert person(app, twin_person.user_id).status == "active"
    kept = load(app, twin_request)
    assert (kept.requester_email, kept.details, kept.state) == (member.email, {"question": "Mine, in B"}, "submitted")
    assert load(app, request_id).requester_email is None


def test_rectification_shows_before_and_after(app, people):
    member = people["a_member"]
    customer = signed_in(app, member)
    request_id = request_id_from(file_request(customer, "rectification", {"field": "address",
                                                                         "correction": "1 New Road"}))
    staff = signed_in(app, people["staff"])
    fulfil(staff, request_id, "rectify", person=member.user_id, field="address", value="1 New Road")
    with app.app_context():
        assert db.session().get(User, member.user_id).address == "1 New Road"
    page = customer.get(f"/account/requests/{request_id}").get_data(as_text=True)
    assert "Secret Street a_member" in page and "1 New Road" in page
    fulfil(staff, request_id, "rectify", person=member.user_id, field="timezone", value="Not/AZone")
    with app.app_context():
        assert db.session().get(User, member.user_id).timezone is None  # refused, nothing changed
    # Only the account the request is about.
    fulfil(staff, request_id, "rectify", person=people["b_member"].user_id, field="address", value="Hijacked")
    with app.app_context():
        assert db.session().get(User, people["b_member"].user_id).address != "Hijacked"


def test_restriction_marks_the_person_and_lifting_is_a_recorded_step(app, people):
    member = people["a_member"]
    request_id = request_id_from(file_request(signed_in(app, member), "restriction", {"grounds": "accuracy"}))
    staff = signed_in(app, people["staff"])
    fulfil(staff, request_id, "restrict", person=member.user_id)
    assert not wants_optional_mail(person(app, member.user_id))
    staff.get("/staff/customers")  # shows (and so clears) the flash message
    assert 'class="badge paused">Processing restricted' in staff.get(
        f"/staff/customers/{member.org_id}").get_data(as_text=True)
    fulfil(staff, request_id, "lift", person=member.user_id)
    assert wants_optional_mail(person(app, member.user_id))
    kinds = [e.kind for e in timeline(app, request_id)]
    assert "restricted" in kinds and "restriction_lifted" in kinds
    assert {"person.restricted", "person.restriction_lifted"} <= set(audit_actions(app))


def test_an_objection_to_update_mail_stops_it(app, people):
    member = people["a_member"]
    request_id = request_id_from(file_request(signed_in(app, member), "objection", {
        "processing": "update_mail", "grounds": "Too much mail"}))
    fulfil(signed_in(app, people["staff"]), request_id, "stop", person=member.user_id)
    stopped = person(app, member.user_id)
    assert "update_mail" in stopped.objections.split() and not wants_optional_mail(stopped)
    assert "objection_upheld" in [e.kind for e in timeline(app, request_id)]


def test_customers_cannot_fulfil(app, people):
    member = people["a_member"]
    request_id = file_erasure(app, member)
    for who in ("a_member", "a_admin"):
        response = fulfil(signed_in(app, people[who]), request_id, "erase")
        assert response.status_code == 404
    assert person(app, member.user_id).status == "active"


def timeline(app, request_id: str) -> list[RequestEvent]:
    with app.app_context():
        events = db.session().scalars(select(RequestEvent).where(RequestEvent.request_id == request_id)).all()
        for event in events:
            _ = event.body
        return events


def audit_actions(app) -> list[str]:
    with app.app_context():
        return db.session().scalars(select(AuditEntry.action)).all()


def test_the_dpo_sees_the_erasures_waiting_for_approval(app, people):
    request_id = file_erasure(app, people["a_member"])
    reference = load(app, request_id).reference
    dpo, staff = signed_in(app, people["dpo"]), signed_in(app, people["staff"])
    assert "waiting for your approval" in dpo.get("/staff/requests").get_data(as_text=True)
    assert reference in dpo.get("/staff/requests?kind=query").get_data(as_text=True)  # whatever the filters
    assert "waiting for your approval" not in staff.get("/staff/requests").get_data(as_text=True)
    fulfil(dpo, request_id, "approve")
    assert "waiting for your approval" not in dpo.get("/staff/requests").get_data(as_text=True)
