"""Subscriptions: double opt-in, digests of what changed with RFC 8058 headers, one-click unsubscribe without a
session, customers' own choices, and erasure."""

from __future__ import annotations

import copy
import datetime as dt
import re

from sqlalchemy import func, select

from tests.conftest import run_worker_tasks
from tests.notices.conftest import post_form, signed_in
from trustcenter.accounts.models import User
from trustcenter.crypto import keys_of
from trustcenter.extensions import db, session_factory
from trustcenter.faq import service as faq
from trustcenter.notices.models import Subscription
from trustcenter.notify import deliver_batch
from trustcenter.notify.models import OutboxMessage


def mails(app, subject_part: str) -> list[OutboxMessage]:
    with app.app_context():
        found = [m for m in db.session().scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
                 if subject_part in m.subject]
        for m in found:
            _ = (m.recipient, m.text_body, m.headers)
        return found


def subscriptions(app) -> list[Subscription]:
    with app.app_context():
        found = list(db.session().scalars(select(Subscription)))
        for s in found:
            _ = s.email
        return found


def subscribe(client, email: str, **topics: str):
    return post_form(client, "/subscribe", "/subscribe", {"email": email, **(topics or {"faq": "y",
                                                                                     "subprocessors": "y"})})


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://[^\s]+({re.escape(path)}[^\s]+)", text)
    assert match, text
    return match.group(1)


def confirmed_subscriber(app, client, email: str = "reader@example.org") -> Subscription:
    subscribe(client, email)
    [mail] = [m for m in mails(app, "Confirm your subscription") if m.recipient == email]
    path = link_in(mail.text_body, "/subscribe/confirm/")
    post_form(client, path, path, {})
    [found] = [s for s in subscriptions(app) if s.email == email]
    return found


def new_version(app, note: str = "Spring update") -> None:
    """Publish a version whose FAQ gained a question and whose subprocessors gained one."""
    with app.app_context():
        session = db.session()
        latest = faq.latest_version(session)
        snapshot = copy.deepcopy({k: v for k, v in latest.snapshot.items() if k != "first"})
        snapshot["questions"].append({"anchor": "new-q", "section": "Security", "question": "Do you pen-test?",
                                      "answer": "Yearly."})
        snapshot["subprocessors"].append({"name": "Mailer Ltd", "purpose": "E-mail delivery", "location": "EU"})
        faq.publish(session, app.extensions["content"].current(), note=note, snapshot=snapshot,
                    digest=f"test-{note}")


def test_double_opt_in(app, client):
    page = subscribe(client, "Reader@Example.org")
    assert page.status_code == 200 and "Check your mail" in page.get_data(as_text=True)
    [pending] = subscriptions(app)
    assert pending.state == "pending" and pending.email == "reader@example.org"
    [mail] = mails(app, "Confirm your subscription")
    path = link_in(mail.text_body, "/subscribe/confirm/")
    shown = client.get(path)  # what a mail scanner does: nothing is confirmed
    assert shown.status_code == 200 and "Confirm my subscription" in shown.get_data(as_text=True)
    assert subscriptions(app)[0].state == "pending"
    assert post_form(client, path, path, {}).status_code == 303
    assert subscriptions(app)[0].state == "confirmed"
    again = subscribe(client, "reader@example.org")
    assert "Check your mail" in again.get_data(as_text=True)  # the same answer: nobody learns who subscribed
    [note] = mails(app, "already subscribed")
    assert "/unsubscribe/" in note.text_body
    assert client.get(path[:-3] + "abc").status_code == 410
    refused = post_form(client, "/subscribe", "/subscribe", {"email": "x@example.org"})  # no topic ticked
    assert refused.status_code == 422 and "Choose what you would like" in refused.get_data(as_text=True)


def test_a_new_version_sends_one_digest_with_one_click_unsubscribe(app, client, published, smtp_server):
    subscriber = confirmed_subscriber(app, client)
    only_subprocessors = confirmed_subscriber(app, client, "sub@example.org")
    with app.app_context():
        session = db.session()
        session.get(Subscription, only_subprocessors.id).faq = False
        session.commit()
    new_version(app)
    run_worker_tasks(app)
    run_worker_tasks(app)
    digests = mails(app, "What changed")
    assert sorted(m.recipient for m in digests) == ["reader@example.org", "sub@example.org"]
    [digest] = [m for m in digests if m.recipient == "reader@example.org"]
    assert "New: Do you pen-test?" in digest.text_body and "Added: Mailer Ltd" in digest.text_body
    assert "Spring update" in digest.text_body
    [other] = [m for m in digests if m.recipient == "sub@example.org"]
    assert "pen-test" not in other.text_body and "Mailer Ltd" in other.text_body
    deliver_batch(session_factory(app), smtp_server.transport(), "test", batch=50)
    [sent] = [m for m in smtp_server.mailbox.messages if str(m["To"]) == "reader@example.org"
              and "What changed" in str(m["Subject"])]
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(https?://[^>]+)>", str(sent["List-Unsubscribe"])).group(1)
    path = "/unsubscribe/" + url.split("/unsubscribe/")[1]

    stranger = app.test_client()  # a mail provider: no session, no CSRF token
    response = stranger.post(path, data="List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You are unsubscribed" in response.get_data(as_text=True)
    assert [s.email for s in subscriptions(app)] == ["sub@example.org"]
    with app.app_context():
        assert keys_of(db.session()).is_destroyed(subscriber.data_key_id)  # the address is shredded
    assert stranger.post(path).status_code == 200  # again: the same answer
    assert stranger.post("/unsubscribe/" + "0" * 36 + "." + "f" * 40).status_code == 200
    assert [s.email for s in subscriptions(app)] == ["sub@example.org"]  # a forged token changes nothing


def test_a_digest_is_queued_once_however_often_the_worker_runs(app, client, published):
    confirmed_subscriber(app, client)
    run_worker_tasks(app)
    assert mails(app, "What changed") == []  # nothing changed since confirming
    new_version(app)
    for _ in range(3):
        run_worker_tasks(app)
    assert len(mails(app, "What changed")) == 1


def test_customers_choose_on_their_account_page(app, people, published):
    member = signed_in(app, people["a_member"])
    page = member.get("/account/subscriptions").get_data(as_text=True)
    assert people["a_member"].email in page and 'name="faq"' in page
    post_form(member, "/account/subscriptions", "/account/subscriptions", {"faq": "y"})
    [mine] = subscriptions(app)
    assert (mine.state, mine.faq, mine.subprocessors, mine.user_id) == (
        "confirmed", True, False, people["a_member"].user_id)
    assert mails(app, "Confirm") == []  # signed in: the address is proven
    shown = member.get("/account/subscriptions").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="faq"', shown) and not re.search(r'<input checked[^>]*name="sub', shown)
    post_form(member, "/account/subscriptions", "/account/subscriptions", {})
    assert subscriptions(app) == []


def test_erasing_a_person_forgets_their_subscription(app, people, runner, published):
    member = signed_in(app, people["a_member"])
    post_form(member, "/account/subscriptions", "/account/subscriptions", {"faq": "y", "subprocessors": "y"})
    assert len(subscriptions(app)) == 1
    assert runner.invoke(args=["users", "erase", people["a_member"].email, "--yes"]).exit_code == 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Subscription)) == 0


def test_no_digest_for_someone_who_objected_to_update_mail_or_restricted_processing(app, people, published):
    member = signed_in(app, people["a_member"])
    post_form(member, "/account/subscriptions", "/account/subscriptions", {"faq": "y", "subprocessors": "y"})
    confirmed_subscriber(app, app.test_client(), people["a_admin"].email)  # subscribed by address, no sign-in
    with app.app_context():
        session = db.session()
        session.get(User, people["a_member"].user_id).objections = "update_mail"
        session.get(User, people["a_admin"].user_id).restricted_at = dt.datetime.now(dt.timezone.utc)
        session.commit()
    new_version(app)
    run_worker_tasks(app)
    assert mails(app, "What changed") == []
    with app.app_context():  # both have heard of the version all the same: lifting the objection sends no backlog
        latest = faq.latest_version(db.session()).id
        assert {s.last_version_id for s in db.session().scalars(select(Subscription))} == {latest}


def test_odd_tokens_get_a_clear_answer(client):
    odd = "/unsubscribe/" + "0" * 36 + "." + "é" * 40
    assert client.get(odd).status_code == 200
    assert client.post(odd).status_code == 200
    assert client.get("/subscribe/confirm/" + "0" * 36 + "." + "é" * 40).status_code == 410
    assert client.get("/subscribe/confirm/short").status_code == 410


def test_erasure_also_ends_a_subscription_made_with_the_same_address(app, people, runner, published):
    confirmed_subscriber(app, app.test_client(), people["a_member"].email)  # through the public form
    assert runner.invoke(args=["users", "erase", people["a_member"].email, "--yes"]).exit_code == 0
    assert subscriptions(app) == []


def test_an_htmx_subscription_swaps_in_the_check_your_mail_message(client):
    page = client.get("/subscribe").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    response = client.post("/subscribe", data={"email": "h@example.org", "faq": "y",
                                               "csrf_token": csrf_token_from(page)}, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="subscribe-form"')
    assert "Check your mail" in body and "<html" not in body and "HX-Request" in response.headers["Vary"]


def test_an_unconfirmed_address_costs_no_key_and_goes_after_a_week(app, client):
    subscribe(client, "late@example.org")
    [pending] = subscriptions(app)
    with app.app_context():
        session = db.session()
        assert pending.data_key_id == keys_of(session).system_data_key("subscriptions")
        from trustcenter.notices import subscriptions as service

        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8)
        assert service.purge_unconfirmed(session, now=later) == 1
    assert subscriptions(app) == []


def test_one_click_is_the_only_view_without_a_csrf_check(app):
    exempt = sorted(endpoint for endpoint, view in app.view_functions.items() if getattr(view, "csrf_exempt", False))
    assert exempt == ["notices.unsubscribe"]
