"""The audit log's filters: one validated form; bad values get an error, unknown parameters are ignored."""

from __future__ import annotations

import re

import pytest

from trustcenter.audit import service as audit
from trustcenter.extensions import db


@pytest.fixture
def staff_client(auth, client, people):
    auth.login(people["staff"])
    return client


def fill_log(app, count: int) -> None:
    with app.app_context():
        session = db.session()
        for number in range(count):
            audit.record(session, "test.event" if number % 2 else "other.event", actor_label="test")
        session.commit()


@pytest.mark.parametrize("query, field", [
    ("before=%C2%B2", "before"), ("before=-3", "before"), ("before=99999999999999999999999", "before"),
    ("since=2026-02-30", "since"), ("until=tomorrow", "until"), ("action=a%20b", "action"),
    ("action=" + "x" * 65, "action"),
])
def test_bad_values_get_an_error_not_a_500(staff_client, query, field):
    response = staff_client.get("/staff/audit?" + query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="field-error"' in page
    assert "No entries match" in page  # nothing shown unfiltered as though it matched


def test_the_last_day_there_is_still_works(staff_client):
    assert staff_client.get("/staff/audit?until=9999-12-31&since=0001-01-01").status_code == 200


def test_unknown_parameters_are_ignored_and_never_copied_into_links(app, staff_client):
    fill_log(app, 120)
    response = staff_client.get("/staff/audit?endpoint=x&_method=DELETE&next=//evil.example&action=test.event")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    older = re.search(r'href="(/staff/audit\?[^"]*)"', page)
    assert older, "60 matching entries need a second page"
    link = older.group(1).replace("&amp;", "&")
    assert "endpoint" not in link and "_method" not in link and "evil" not in link
    assert "action=test.event" in link and "before=" in link
    second = staff_client.get(link)
    assert second.status_code == 200
    assert "other.event" not in second.get_data(as_text=True)


def test_filters_select_what_they_say(app, staff_client):
    fill_log(app, 4)
    page = staff_client.get("/staff/audit?action=other.event").get_data(as_text=True)
    assert "other.event" in page and "test.event</code>" not in page


def test_entries_name_people_and_say_actions_in_words(app, staff_client, people):
    with app.app_context():
        from trustcenter.accounts.models import User
        from trustcenter.accounts.service import Actor, record

        session = db.session()
        member = session.get(User, people["a_member"].user_id)
        record(session, Actor(member, "192.0.2.9"), "profile.updated", member, fields=["first_name", "time_zone"])
        session.commit()
        db.session.remove()
    page = staff_client.get("/staff/audit?action=profile.updated").get_data(as_text=True)
    assert "Profile updated" in page
    assert "FirstAMember LastAMember (customer_member)" in page  # the actor, by name and role
    assert f'title="id {people["a_member"].user_id}"' in page  # the id stays on hover for investigators
    assert "fields: first name, time zone" in page and "['first_name'" not in page
