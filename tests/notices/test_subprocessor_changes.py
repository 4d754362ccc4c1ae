"""Subprocessor changes announced ahead: customers see them, their administrators object within the window
(Art. 28(2)), and staff see the objections per change."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.notices.conftest import post_form, signed_in
from trustcenter.extensions import db
from trustcenter.notices import subprocessors
from trustcenter.notices.models import SubprocessorChange
from trustcenter.notices.service import NoticeError


def announce(app, people, days: str = "30") -> str:
    staff = signed_in(app, people["staff"])
    response = post_form(staff, "/staff/subprocessor-changes", "/staff/subprocessor-changes", {
        "subprocessor": "Mailer Ltd", "change": "Added for e-mail delivery, hosted in the EU", "details": "",
        "days": days})
    assert response.status_code == 303
    with app.app_context():
        return db.session().query(SubprocessorChange).one().id


def test_customers_see_a_change_and_their_administrator_objects_once(app, people):
    change_id = announce(app, people)
    with app.app_context():
        change = db.session().get(SubprocessorChange, change_id)
        window = change.objections_until - change.announced_at
        assert window == dt.timedelta(days=30)
    member = signed_in(app, people["a_member"])
    page = member.get("/account/subprocessor-changes").get_data(as_text=True)
    assert "Mailer Ltd" in page and "objections open until" in page and "Object to this change" not in page
    refused = post_form(member, "/account/subprocessor-changes", f"/account/subprocessor-changes/{change_id}/object",
                        {"reason": "We object"})
    assert refused.status_code == 303
    assert "Only your organisation" in member.get("/account/subprocessor-changes").get_data(as_text=True)

    admin = signed_in(app, people["a_admin"])
    assert "Object to this change" in admin.get("/account/subprocessor-changes").get_data(as_text=True)
    post_form(admin, "/account/subprocessor-changes", f"/account/subprocessor-changes/{change_id}/object",
              {"reason": "Our contracts forbid transfers outside the UK."})
    page = admin.get("/account/subprocessor-changes").get_data(as_text=True)
    assert "Your organisation objected on" in page and "Object to this change" not in page
    post_form(admin, "/account/subprocessor-changes", f"/account/subprocessor-changes/{change_id}/object",
              {"reason": "Again"})
    assert "objected to this change already" in admin.get("/account/subprocessor-changes").get_data(as_text=True)

    staff = signed_in(app, people["staff"])
    assert ">1</td>" in staff.get("/staff/subprocessor-changes").get_data(as_text=True)
    detail = staff.get(f"/staff/subprocessor-changes/{change_id}").get_data(as_text=True)
    assert "Tenant A Ltd" in detail and "Our contracts forbid transfers outside the UK." in detail
    # The other tenant sees the change, not A's objection.
    other = signed_in(app, people["b_admin"]).get("/account/subprocessor-changes").get_data(as_text=True)
    assert "Mailer Ltd" in other and "contracts forbid" not in other and "Object to this change" in other


def test_no_objection_after_the_window(app, people):
    change_id = announce(app, people, days="1")
    with app.app_context():
        session = db.session()
        change = session.get(SubprocessorChange, change_id)
        admin = session.get(subprocessors.User, people["a_admin"].user_id)
        later = change.objections_until + dt.timedelta(minutes=1)
        assert not subprocessors.is_open(change, later)
        with pytest.raises(NoticeError, match="window for objections to this change has closed"):
            subprocessors.object_to(session, admin, None, change, "Too late", now=later)


def test_the_window_must_be_sensible(app, people):
    staff = signed_in(app, people["staff"])
    response = post_form(staff, "/staff/subprocessor-changes", "/staff/subprocessor-changes", {
        "subprocessor": "X", "change": "Y", "days": "0"})
    assert response.status_code == 422 and "Give 1 to 365 days." in response.get_data(as_text=True)
    assert signed_in(app, people["a_admin"]).get("/staff/subprocessor-changes").status_code == 404
