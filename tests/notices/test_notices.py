"""Notices: staff draft, the DPO publishes, the affected customers (only they) see, read and acknowledge them,
and the worker mails each recipient exactly once under a stable Message-ID."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import run_worker_tasks
from tests.notices.conftest import draft_notice, load_incident, post_form, publish, record_incident, signed_in
from trustcenter.accounts.models import User
from trustcenter.audit import AuditEntry
from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.models import Notice, NoticeReceipt
from trustcenter.notify import deliver_batch
from trustcenter.notify.models import OutboxMessage
from trustcenter.extensions import session_factory


def tenant_a_notice(app, people) -> tuple[str, str]:
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, [people["a_admin"].org_id])
    notice_id = draft_notice(staff, incident_id)
    assert publish(signed_in(app, people["dpo"]), incident_id, notice_id).status_code == 303
    return incident_id, notice_id


def notice_mails(app) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((m.recipient, m.message_id) for m in db.session().scalars(select(OutboxMessage))
                      if "Backups were exposed" in m.subject)


def test_staff_need_the_dpos_approval_to_publish(app, people):
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, [people["a_admin"].org_id])
    notice_id = draft_notice(staff, incident_id)
    page = f"/staff/incidents/{incident_id}"
    publish(staff, incident_id, notice_id)
    assert "Only the Data Protection Officer can publish" in staff.get(page).get_data(as_text=True)
    assert post_form(staff, page, f"{page}/notices/{notice_id}/approval", {}).status_code == 303
    dpo = signed_in(app, people["dpo"])
    assert "Approve and publish" in dpo.get(page).get_data(as_text=True)
    publish(dpo, incident_id, notice_id)
    with app.app_context():
        notice = db.session().get(Notice, notice_id)
        assert notice.state == "published" and notice.approved_by == people["dpo"].user_id
    assert load_incident(app, incident_id).customers_notified_at is not None
    assert "Customers told after" in staff.get(page).get_data(as_text=True)
    # An update needs the initial notice published first; a second initial one is refused.
    response = post_form(staff, page, f"{page}/notices", {"phase": "initial", "title": "Again", "body": "B"})
    assert response.status_code == 303 and "initial notice is published already" in staff.get(page).get_data(
        as_text=True)


def test_the_affected_tenant_sees_the_banner_until_acknowledged_and_no_one_else_does(app, people):
    _, notice_id = tenant_a_notice(app, people)
    member = signed_in(app, people["a_member"])
    home = member.get("/account/").get_data(as_text=True)
    assert "Important notice about your data" in home and "Backups were exposed" in home
    other = signed_in(app, people["b_member"])
    assert "Important notice" not in other.get("/account/").get_data(as_text=True)
    assert other.get(f"/account/notices/{notice_id}").status_code == 404
    assert "No notices" in other.get("/account/notices").get_data(as_text=True)
    assert "Important notice" not in member.get("/").get_data(as_text=True)  # the customer area only

    shown = member.get(f"/account/notices/{notice_id}").get_data(as_text=True)
    assert "What you should do." in shown and "I have read this notice" in shown
    response = post_form(member, f"/account/notices/{notice_id}", f"/account/notices/{notice_id}/acknowledge",
                         {"next": "/account/"})
    assert response.status_code == 303 and response.location.endswith("/account/")
    assert "Important notice" not in member.get("/account/").get_data(as_text=True)
    assert "Acknowledged" in member.get("/account/notices").get_data(as_text=True)
    # The administrator of the same tenant has their own banner still.
    assert "Important notice" in signed_in(app, people["a_admin"]).get("/account/").get_data(as_text=True)
    with app.app_context():
        receipt = db.session().scalars(select(NoticeReceipt).where(
            NoticeReceipt.user_id == people["a_member"].user_id)).one()
        assert receipt.read_at is not None and receipt.acknowledged_at is not None


def test_an_htmx_acknowledgement_answers_with_nothing_to_swap_in(app, people):
    _, notice_id = tenant_a_notice(app, people)
    member = signed_in(app, people["a_member"])
    response = post_form(member, "/account/", f"/account/notices/{notice_id}/acknowledge", {"next": "/account/"})
    assert response.status_code == 303
    _, notice_id = tenant_a_notice(app, people)
    page = member.get("/account/").get_data(as_text=True)
    from tests.conftest import csrf_token_from

    response = member.post(f"/account/notices/{notice_id}/acknowledge", data={"csrf_token": csrf_token_from(page)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.get_data() == b""
    assert member.post(f"/account/notices/{notice_id}/acknowledge").status_code == 400  # no CSRF token


def test_the_worker_mails_every_user_of_the_tenant_once(app, people, smtp_server):
    incident_id, notice_id = tenant_a_notice(app, people)
    with app.app_context():  # a colleague who restricted processing still gets it: it is required by law
        session = db.session()
        session.get(User, people["a_admin"].user_id).restricted_at = service.utcnow()
        session.commit()
    run_worker_tasks(app)
    run_worker_tasks(app)  # nothing more to do: the notice is delivered
    expected = sorted((people[k].email, service.message_id_for(notice_id, people[k].user_id))
                      for k in ("a_admin", "a_member"))
    assert notice_mails(app) == expected
    transport = smtp_server.transport()
    deliver_batch(session_factory(app), transport, "test-worker", batch=50)
    by_id = smtp_server.mailbox.count_by_message_id()
    assert {message_id: by_id.get(message_id) for _, message_id in expected} == {m: 1 for _, m in expected}
    [mail] = [m for m in smtp_server.mailbox.messages if str(m["To"]) == people["a_member"].email]
    assert "Backups were exposed" in str(mail["Subject"])
    assert f"/account/notices/{notice_id}" in mail.get_body(("plain",)).get_content()

    staff = signed_in(app, people["staff"])
    page = f"/staff/incidents/{incident_id}/notices/{notice_id}"
    report = staff.get(page).get_data(as_text=True)
    assert "2 people at the affected customers" in report and "2 mailed, 2 handed to the mail server" in report
    post_form(signed_in(app, people["a_member"]), f"/account/notices/{notice_id}",
              f"/account/notices/{notice_id}/acknowledge", {})
    assert "1 acknowledged" in staff.get(page).get_data(as_text=True)
    assert post_form(staff, page, f"{page}/resend", {}).status_code == 303
    assert "Sent again to 1 person" in staff.get(page).get_data(as_text=True)
    resent = [m for m in notice_mails(app) if m[0] == people["a_admin"].email]
    assert [m for _, m in resent] == sorted([service.message_id_for(notice_id, people["a_admin"].user_id),
                                             service.message_id_for(notice_id, people["a_admin"].user_id, 2)])


def test_a_retried_batch_queues_nothing_twice(app, people):
    _, notice_id = tenant_a_notice(app, people)
    with app.app_context():
        session = db.session()
        queued = service.fan_out(session, "worker-1", lambda n, i: ("S", "T", "<p>H</p>"), batch=1)
        assert queued == 2  # two batches of one, each committed with its receipts
        # A second worker finds nothing left; receipts and mails stay one per person.
        assert service.fan_out(session, "worker-2", lambda n, i: ("S", "T", "<p>H</p>")) == 0
        assert session.scalar(select(func.count()).select_from(NoticeReceipt)) == 2
        assert session.get(Notice, notice_id).recipients == 2


def test_a_lost_worker_is_taken_over_where_it_left_off(app, people):
    _, notice_id = tenant_a_notice(app, people)
    import datetime as dt

    with app.app_context():
        session = db.session()
        taken = service.claim_fanout(session, "lost-worker")
        assert taken is not None and taken.id == notice_id
        assert service.fan_out(session, "other", lambda n, i: ("S", "T", "<p>H</p>")) == 0  # the lease holds
        later = dt.datetime.now(dt.timezone.utc) + service.FANOUT_LEASE + dt.timedelta(seconds=1)
        assert service.fan_out(session, "other", lambda n, i: ("S", "T", "<p>H</p>"), now=later) == 2


def test_someone_who_acknowledged_before_the_mail_went_still_gets_it_once(app, people):
    _, notice_id = tenant_a_notice(app, people)
    member = signed_in(app, people["a_member"])
    post_form(member, f"/account/notices/{notice_id}", f"/account/notices/{notice_id}/acknowledge", {})
    run_worker_tasks(app)
    assert [m for m in notice_mails(app) if m[0] == people["a_member"].email] == [
        (people["a_member"].email, service.message_id_for(notice_id, people["a_member"].user_id))]
    with app.app_context():
        receipt = db.session().scalars(select(NoticeReceipt).where(
            NoticeReceipt.user_id == people["a_member"].user_id)).one()
        assert receipt.acknowledged_at is not None and receipt.mails == 1


def test_a_persons_export_holds_the_notices_addressed_to_them(app, people):
    from tests.exports.conftest import built, checked_files, download

    _, notice_id = tenant_a_notice(app, people)
    member = signed_in(app, people["a_member"])
    post_form(member, f"/account/notices/{notice_id}", f"/account/notices/{notice_id}/acknowledge", {})
    post_form(member, "/account/subscriptions", "/account/subscriptions", {"subprocessors": "y"})
    files = checked_files(download(member, built(app, member)))
    import json

    person = json.loads(files["data.json"])["people"][0]
    [notice] = person["notices"]
    assert notice["title"] == "Backups were exposed" and notice["phase"] == "initial"
    assert notice["acknowledged_at"] and notice["read_at"] and notice["incident"].startswith("I-")
    assert person["preferences"]["updates_by_email"] == {"faq": False, "subprocessors": True}
    assert "Backups were exposed" in files["index.html"].decode()


def edit_scope(client, incident_id: str, tenants: list[str] | None):
    page = f"/staff/incidents/{incident_id}/edit"
    aware = load_incident(client.application, incident_id).aware_at
    return post_form(client, page, page, {
        "title": "Backup bucket readable", "aware_at": aware.strftime("%Y-%m-%dT%H:%M"), "severity": "high",
        "status": "confirmed", "nature": "A bucket.", "scope": "all" if tenants is None else "chosen",
        "tenants": tenants or []})


def test_a_published_notices_audience_only_grows_and_only_by_the_dpo(app, people):
    incident_id, notice_id = tenant_a_notice(app, people)
    run_worker_tasks(app)
    staff, dpo = signed_in(app, people["staff"]), signed_in(app, people["dpo"])
    a_org, b_org = people["a_admin"].org_id, people["b_admin"].org_id
    response = edit_scope(staff, incident_id, [b_org])  # A taken off, B put on
    assert response.status_code == 422 and "cannot be taken off" in response.get_data(as_text=True)
    response = edit_scope(staff, incident_id, [a_org, b_org])
    assert response.status_code == 422 and "only the Data Protection Officer can add" in response.get_data(
        as_text=True)
    assert signed_in(app, people["b_member"]).get(f"/account/notices/{notice_id}").status_code == 404
    assert edit_scope(dpo, incident_id, [a_org, b_org]).status_code == 303
    run_worker_tasks(app)  # the published notice goes to the customer just added, and to nobody twice
    recipients = [recipient for recipient, _ in notice_mails(app)]
    assert sorted(recipients) == sorted(people[k].email for k in ("a_admin", "a_member", "b_admin", "b_member"))
    assert signed_in(app, people["b_member"]).get(f"/account/notices/{notice_id}").status_code == 200
    with app.app_context():
        details = [e.details for e in db.session().scalars(select(AuditEntry).where(
            AuditEntry.action == "incident.updated"))]
    assert details[-1]["customers_added"] == [b_org]


def test_a_second_resend_within_minutes_sends_nothing(app, people):
    incident_id, notice_id = tenant_a_notice(app, people)
    run_worker_tasks(app)
    staff = signed_in(app, people["staff"])
    page = f"/staff/incidents/{incident_id}/notices/{notice_id}"
    post_form(staff, page, f"{page}/resend", {})
    post_form(staff, page, f"{page}/resend", {})
    assert "sent again a few minutes ago" in staff.get(page).get_data(as_text=True)
    assert len(notice_mails(app)) == 4  # two people, mailed once and sent again once
    with app.app_context():
        actions = db.session().scalars(select(AuditEntry.action)).all()
    assert "notice.delivery_viewed" in actions


def test_nothing_of_a_notice_shows_before_the_second_factor(app, people):
    tenant_a_notice(app, people)
    from trustcenter.accounts import mfa
    from tests.conftest import Auth

    with app.app_context():
        user = db.session().get(User, people["a_member"].user_id)
        user.totp_secret, user.totp_enabled = mfa.new_secret(), True
        db.session().commit()
    client = app.test_client()
    Auth(client).login(people["a_member"], follow=False)
    page = client.get("/account/login/verify").get_data(as_text=True)
    assert "Authentication code" in page and "Backups were exposed" not in page


def test_the_recipients_list_puts_those_to_follow_up_first_and_stays_short(app, people, monkeypatch):
    incident_id, notice_id = tenant_a_notice(app, people)
    run_worker_tasks(app)
    post_form(signed_in(app, people["a_admin"]), f"/account/notices/{notice_id}",
              f"/account/notices/{notice_id}/acknowledge", {})
    monkeypatch.setattr(service, "DELIVERY_SHOWN", 1)
    page = signed_in(app, people["staff"]).get(f"/staff/incidents/{incident_id}/notices/{notice_id}").get_data(
        as_text=True)
    assert "The first 1 of 2" in page and people["a_member"].email in page and people["a_admin"].email not in page
