"""People without an account: nothing is filed until they confirm the mailed link; then they follow by links."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from sqlalchemy import select, update

from tests.conftest import csrf_token_from
from tests.requests.conftest import outbox
from trustcenter.extensions import db
from trustcenter.requests import service
from trustcenter.requests.models import RequestEvent, RequestLink, RightsRequest

ADDRESS = "prospect@elsewhere.example"


def ask(client, kind="erasure", email=ADDRESS, **answers):
    page = client.get(f"/requests/new?kind={kind}")
    return client.post(f"/requests/new?kind={kind}", data={
        "name": "Pat Prospect", "email": email, **answers, "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def link_in(app, subject_part: str, to: str = ADDRESS) -> str:
    [mail] = [m for m in outbox(app) if m.recipient == to and subject_part in m.subject][-1:]
    return re.search(r"https?://[^/\s]+(/requests/\S+)", mail.text_body).group(1)


def only_request(app) -> RightsRequest:
    with app.app_context():
        [found] = db.session().scalars(select(RightsRequest)).all()
        _ = (found.requester_email, found.details)
        return found


def confirm(client, path: str):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})


def test_nothing_is_filed_until_the_mailed_link_is_confirmed(app, client, people, staff_client):
    answer = ask(client, note="Please erase everything.")
    assert answer.status_code == 200 and "Check your mail" in answer.get_data(as_text=True)
    pending = only_request(app)
    assert pending.state == "unconfirmed" and pending.requester_id is None
    assert pending.requester_email == ADDRESS and pending.details == {"note": "Please erase everything."}
    assert pending.reference not in staff_client.get("/staff/requests?state=all").get_data(as_text=True)
    assert staff_client.get(f"/staff/requests/{pending.id}").status_code == 404
    assert not [m for m in outbox(app) if m.subject.startswith("New request")]

    path = link_in(app, "Confirm your request")
    assert only_request(app).state == "unconfirmed"  # opening the link (as a mail scanner does) files nothing
    filed = confirm(client, path)
    assert filed.status_code == 303 and filed.location.endswith(f"/requests/{pending.id}")
    confirmed = only_request(app)
    assert confirmed.state == "submitted" and confirmed.received_at > pending.received_at
    assert confirmed.due_on == service.Clock().due(confirmed)
    assert confirmed.reference in staff_client.get("/staff/requests").get_data(as_text=True)
    assert any(m.subject.startswith(f"New request {confirmed.reference}") for m in outbox(app))
    page = client.get(filed.location).get_data(as_text=True)
    assert "Please erase everything." in page and "Write to us" in page

    queued = len(outbox(app))
    assert confirm(client, path).status_code == 410
    assert len(outbox(app)) == queued  # the second click filed and mailed nothing


def test_a_stranger_needs_a_mailed_link_to_read_or_answer(app, client, people):
    ask(client)
    confirm(client, link_in(app, "Confirm your request"))
    request_id = only_request(app).id
    stranger = app.test_client()
    assert stranger.get(f"/requests/{request_id}").status_code == 404
    login = stranger.get("/account/login").get_data(as_text=True)
    stranger.post(f"/requests/{request_id}/reply", data={"body": "Injected", "csrf_token": csrf_token_from(login)})
    with app.app_context():
        assert "Injected" not in [e.body for e in db.session().scalars(select(RequestEvent))]

    # The receipt carries a link of its own: another browser (the requester's phone) opens the request with it.
    phone = app.test_client()
    opened = phone.get(link_in(app, "We received your request"))
    assert opened.status_code == 303 and opened.location.endswith(f"/requests/{request_id}")
    page = phone.get(f"/requests/{request_id}")
    assert page.status_code == 200
    phone.post(f"/requests/{request_id}/reply", data={
        "body": "Sent from my phone", "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    with app.app_context():
        assert "Sent from my phone" in [e.body for e in db.session().scalars(select(RequestEvent))]


def test_staff_updates_reach_the_requester_with_a_fresh_link(app, client, people, staff_client):
    ask(client, kind="query", question="Do you sell data?")
    confirm(client, link_in(app, "Confirm your request"))
    filed = only_request(app)
    page = f"/staff/requests/{filed.id}"
    html = staff_client.get(page).get_data(as_text=True)
    staff_client.post(f"{page}/move", data={"to": "completed", "message": "No, never.",
                                            "csrf_token": csrf_token_from(html)})
    path = link_in(app, "completed")
    reader = app.test_client()
    reader.get(path)
    assert "No, never." in reader.get(f"/requests/{filed.id}").get_data(as_text=True)


def test_an_expired_confirmation_link_files_nothing(app, client, people):
    ask(client)
    with app.app_context():
        db.session().execute(update(RequestLink).values(expires_at=dt.datetime.now(dt.timezone.utc)
                                                        - dt.timedelta(minutes=1)))
        db.session().commit()
    assert confirm(client, link_in(app, "Confirm your request")).status_code == 410
    assert only_request(app).state == "unconfirmed"


def test_unconfirmed_requests_are_shredded_after_a_day(app, client, people):
    ask(client)
    pending = only_request(app)
    keys = app.extensions["keys"]
    with app.app_context():
        session = db.session()
        assert service.purge_unconfirmed(session) == 0  # the link is still valid
        session.execute(update(RightsRequest).values(received_at=dt.datetime.now(dt.timezone.utc)
                                                     - dt.timedelta(days=2)))
        session.commit()
        assert service.purge_unconfirmed(session) == 1
        assert session.scalars(select(RightsRequest)).all() == []
        assert keys.is_destroyed(pending.data_key_id)


def test_a_bad_address_is_explained_and_nothing_is_kept(app, client, people):
    answer = ask(client, email="not an address")
    assert answer.status_code == 422
    with app.app_context():
        assert db.session().scalars(select(RightsRequest)).all() == []


def test_mail_bombing_one_address_is_throttled(app, client, people):
    statuses = [ask(client, kind="access", email="victim@elsewhere.example").status_code for _ in range(6)]
    assert statuses[:5] == [200] * 5 and statuses[5] == 429


def test_only_a_browser_following_the_request_may_send_it_a_large_body(app, client, people):
    ask(client)
    confirm(client, link_in(app, "Confirm your request"))
    request_id = only_request(app).id
    stranger = app.test_client()
    page = stranger.get("/requests/new?kind=query").get_data(as_text=True)
    body = urlencode({"csrf_token": csrf_token_from(page), "body": "a" * 2_000_000})
    refused = stranger.post(f"/requests/{request_id}/reply", data=body,
                            content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 413  # the site-wide limit: no upload allowance without the link


def test_expired_follow_links_are_deleted(app, client, people):
    ask(client)
    confirm(client, link_in(app, "Confirm your request"))
    with app.app_context():
        session = db.session()
        session.execute(update(RequestLink).values(expires_at=dt.datetime.now(dt.timezone.utc)
                                                   - dt.timedelta(minutes=1)))
        session.commit()
        service.purge_unconfirmed(session)
        assert session.scalars(select(RequestLink)).all() == []
    assert app.test_client().get(link_in(app, "We received your request")).status_code == 410
