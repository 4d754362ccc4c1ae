"""Nobody sees another tenant's requests: every route, every role, and anonymously."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import Auth
from tests.requests.conftest import file_request, load, outbox, post_form, request_id_from
from trustcenter.extensions import db
from trustcenter.requests.models import RequestEvent

CUSTOMER_ROLES = ("a_admin", "a_member", "b_admin", "b_member")
PROVIDER_ROLES = ("staff", "dpo", "admin")
# Who may read tenant A's member's request on the customer pages.
MAY_READ = {"a_member", "a_admin"}


@pytest.fixture
def filed(app, people):
    """A request by tenant A's member, with a message on its thread."""
    client = app.test_client()
    Auth(client).login(people["a_member"])
    request_id = request_id_from(file_request(client, "query", {"question": "Secret question about A"}))
    page = f"/account/requests/{request_id}"
    post_form(client, page, f"{page}/reply", {"body": "Secret reply from A"})
    return request_id


def events_of(app, request_id: str) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(RequestEvent).where(
            RequestEvent.request_id == request_id))


def signed_in(app, people, who):
    client = app.test_client()
    if who != "anonymous":
        Auth(client).login(people[who])
    return client


@pytest.mark.parametrize("who", ("anonymous", *CUSTOMER_ROLES, *PROVIDER_ROLES))
def test_customer_pages_show_a_request_only_to_its_tenant(app, people, filed, who):
    client = signed_in(app, people, who)
    reference = load(app, filed).reference
    detail = client.get(f"/account/requests/{filed}")
    listing = client.get("/account/requests")
    if who == "anonymous":
        assert detail.status_code == 302 and "/account/login" in detail.location
        assert listing.status_code == 302
        return
    if who in MAY_READ:
        assert detail.status_code == 200 and "Secret question about A" in detail.get_data(as_text=True)
        assert reference in listing.get_data(as_text=True)
    else:
        assert detail.status_code == 404
        assert "Secret" not in detail.get_data(as_text=True)
        assert reference not in listing.get_data(as_text=True)


@pytest.mark.parametrize("who", ("anonymous", "a_admin", "b_admin", "b_member", *PROVIDER_ROLES))
def test_nobody_else_can_reply_to_or_withdraw_a_request(app, people, filed, who):
    """Not even the requester's own administrator: they read, but never answer or cancel in the person's name."""
    client = signed_in(app, people, who)
    before = events_of(app, filed)
    page = "/account/" if who != "anonymous" else "/account/login"
    for action, data in (("reply", {"body": "Injected"}), ("withdraw", {})):
        response = post_form(client, page, f"/account/requests/{filed}/{action}", data)
        assert response.status_code in (302, 303, 404), (action, response.status_code)
    assert events_of(app, filed) == before
    assert load(app, filed).state == "submitted"


@pytest.mark.parametrize("who", ("anonymous", *CUSTOMER_ROLES, *PROVIDER_ROLES))
def test_staff_pages_are_for_provider_roles_only(app, people, filed, who):
    client = signed_in(app, people, who)
    queue, detail = client.get("/staff/requests"), client.get(f"/staff/requests/{filed}")
    if who == "anonymous":
        assert queue.status_code == detail.status_code == 302
    elif who in PROVIDER_ROLES:
        assert queue.status_code == detail.status_code == 200
        assert "Secret reply from A" in detail.get_data(as_text=True)
    else:
        assert queue.status_code == detail.status_code == 404
        assert "Secret" not in detail.get_data(as_text=True)


@pytest.mark.parametrize("who", ("anonymous", *CUSTOMER_ROLES))
def test_staff_actions_are_refused_to_everyone_else(app, people, filed, who):
    client = signed_in(app, people, who)
    before = events_of(app, filed)
    page = "/account/" if who != "anonymous" else "/account/login"
    for action, data in (("move", {"to": "refused", "message": "x"}), ("extend", {"months": "1", "reason": "x"}),
                         ("message", {"body": "x"}), ("assign", {"assignee": people["staff"].user_id})):
        response = post_form(client, page, f"/staff/requests/{filed}/{action}", data)
        assert response.status_code in (302, 404), (action, response.status_code)
    assert events_of(app, filed) == before


def test_a_request_referred_to_a_controller_is_readable_by_its_administrators_only(app, people, filed):
    staff = signed_in(app, people, "staff")
    page = f"/staff/requests/{filed}"
    post_form(staff, page, f"{page}/move", {"to": "referred", "referred_org": people["b_admin"].org_id})
    assert load(app, filed).state == "referred"
    b_admin, b_member = signed_in(app, people, "b_admin"), signed_in(app, people, "b_member")
    shown = b_admin.get(f"/account/requests/{filed}")
    assert shown.status_code == 200 and "passed the request to them" in shown.get_data(as_text=True)
    assert b_member.get(f"/account/requests/{filed}").status_code == 404
    told = [m.recipient for m in outbox(app) if "personal data you control" in m.subject]
    assert told == [people["b_admin"].email]
    before = events_of(app, filed)
    post_form(b_admin, f"/account/requests/{filed}", f"/account/requests/{filed}/reply", {"body": "From B"})
    assert events_of(app, filed) == before


def test_unknown_and_malformed_ids_are_404(app, people):
    client = signed_in(app, people, "staff")
    assert client.get("/staff/requests/" + "0" * 36).status_code == 404
    assert client.get("/staff/requests/" + "x" * 500).status_code == 404
