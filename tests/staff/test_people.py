"""Administrators manage people: list, invite, change roles, suspend and re-enable, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.accounts.test_onboarding import outbox
from tests.conftest import Auth
from trustcenter.accounts.models import User
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db


@pytest.fixture
def admin(auth, people):
    auth.login(people["admin"])
    return auth


def stored(app, user_id: str) -> tuple[str, str, int]:
    with app.app_context():
        user = db.session().get(User, user_id)
        found = (user.role, user.status, user.session_version)
        db.session.remove()
    return found


def audited(app) -> list[str]:
    with app.app_context():
        actions = list(db.session().scalars(select(AuditEntry.action)))
        db.session.remove()
    return actions


@pytest.mark.parametrize("who", ["staff", "dpo", "a_admin"])
def test_only_administrators_manage_people(app, people, who):
    auth = Auth(app.test_client())
    auth.login(people[who])
    assert auth.client.get("/staff/people").status_code == 404
    assert "/staff/people" not in auth.client.get("/staff/audit").get_data(as_text=True)
    response = auth.post(f"/staff/people/{people['a_member'].user_id}/suspend")
    assert response.status_code == 404 and stored(app, people["a_member"].user_id)[1] == "active"


def test_the_list_names_everyone_and_viewing_it_is_audited(app, admin, people):
    page = admin.client.get("/staff/people").get_data(as_text=True)
    for key in ("a_member", "b_admin", "staff"):
        assert people[key].email in page
    assert "personal_data.viewed" in audited(app)


def test_a_role_change_signs_the_person_out_and_is_audited(app, admin, people):
    member = people["a_member"]
    theirs = Auth(app.test_client())
    theirs.login(member)
    before = stored(app, member.user_id)
    response = admin.post(f"/staff/people/{member.user_id}/role", {"role": "customer_admin"}, page="/staff/people")
    assert response.status_code == 303
    role, status, version = stored(app, member.user_id)
    assert role == "customer_admin" and version == before[2] + 1
    assert theirs.client.get("/account/").status_code == 302  # their old session ended
    assert "user.role_changed" in audited(app)


def test_a_customer_cannot_be_given_a_provider_role(app, admin, people):
    admin.post(f"/staff/people/{people['a_member'].user_id}/role", {"role": "staff"}, page="/staff/people")
    assert stored(app, people["a_member"].user_id)[0] == "customer_member"
    assert "Choose a role that fits" in admin.client.get("/staff/people").get_data(as_text=True)


def test_suspending_and_re_enabling(app, admin, people):
    member = people["b_member"]
    theirs = Auth(app.test_client())
    theirs.login(member)
    admin.post(f"/staff/people/{member.user_id}/suspend", page="/staff/people")
    assert stored(app, member.user_id)[1] == "disabled"
    assert theirs.client.get("/account/").status_code == 302
    assert Auth(app.test_client()).login(member).status_code == 422  # cannot sign in while suspended
    admin.post(f"/staff/people/{member.user_id}/enable", page="/staff/people")
    assert stored(app, member.user_id)[1] == "active"
    assert Auth(app.test_client()).login(member).status_code == 303
    assert {"user.suspended", "user.reenabled"} <= set(audited(app))


def test_an_administrator_cannot_lock_themselves_or_the_provider_out(app, admin, people):
    me = people["admin"].user_id
    admin.post(f"/staff/people/{me}/suspend", page="/staff/people")
    admin.post(f"/staff/people/{me}/role", {"role": "staff"}, page="/staff/people")
    assert stored(app, me)[:2] == ("admin", "active")
    page = admin.client.get("/staff/people").get_data(as_text=True)
    assert "You cannot" in page


def test_administrators_invite_to_any_organisation_with_a_fitting_role(app, admin, people):
    page = "/staff/people"
    ok = admin.post(page, {"email": "new.staff@provider.example", "org_id": people["staff"].org_id,
                           "role": "staff"}, page=page)
    assert ok.status_code == 303
    refused = admin.post(page, {"email": "odd@a.example", "org_id": people["a_admin"].org_id, "role": "dpo"},
                         page=page)
    assert refused.status_code == 200 and "is not a role in" in refused.get_data(as_text=True)
    assert [m.recipient for m in outbox(app)] == ["new.staff@provider.example"]
