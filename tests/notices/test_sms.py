"""Text messages: Twilio's Messages API spoken to a local HTTP server, once per person, retried when it fails."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from tests.conftest import run_worker_tasks
from tests.notices.conftest import draft_notice, post_form, publish, record_incident, signed_in
from tests.sms import ACCOUNT_SID, AUTH_TOKEN, FROM
from tests.smtp import free_port
from trustcenter.config import ConfigError, resolve
from trustcenter.extensions import db
from trustcenter.notices import service
from trustcenter.notices.models import NoticeReceipt
from trustcenter.notices.sms import SmsError, TwilioSender


@pytest.fixture
def app_config(app_config, sms_server):
    return {**app_config, **sms_server.settings()}


def test_the_sender_speaks_twilios_messages_api(sms_server):
    sender = TwilioSender(sms_server.base_url, ACCOUNT_SID, AUTH_TOKEN, FROM)
    assert sender.send("+447700900123", "Hello").startswith("SM")
    [got] = sms_server.received
    assert got.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (got.account, got.token) == (ACCOUNT_SID, AUTH_TOKEN)
    assert got.form == {"To": "+447700900123", "From": FROM, "Body": "Hello"}
    assert AUTH_TOKEN not in repr(sender)
    sms_server.status = 400
    with pytest.raises(SmsError) as refused:
        sender.send("+447700900123", "Hello")
    assert refused.value.permanent and str(refused.value) == "HTTP 400"
    sms_server.status = 503
    with pytest.raises(SmsError) as unavailable:
        sender.send("+447700900123", "Hello")
    assert not unavailable.value.permanent
    with pytest.raises(SmsError) as down:
        TwilioSender(f"http://127.0.0.1:{free_port()}", ACCOUNT_SID, AUTH_TOKEN, FROM, timeout=2).send("+1", "x")
    assert not down.value.permanent


def set_phone(app, person, phone: str):
    client = signed_in(app, person)
    page = client.get("/account/profile").get_data(as_text=True)
    assert 'type="tel"' in page
    values = dict(re.findall(r'name="(first_name|last_name)"[^>]*value="([^"]*)"', page))
    return post_form(client, "/account/profile", "/account/profile", {**values, "phone": phone})


def test_people_give_a_mobile_number_checked_and_tidied(app, people):
    assert "country code" in set_phone(app, people["a_member"], "07700 900123").get_data(as_text=True)
    set_phone(app, people["a_member"], "+44 (0)7700 900-123")
    with app.app_context():
        assert db.session().get(service.User, people["a_member"].user_id).phone == "+447700900123"


def test_a_published_notice_is_texted_once_to_those_who_gave_a_number(app, people, sms_server):
    set_phone(app, people["a_member"], "+447700900123")
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, [people["a_admin"].org_id])
    notice_id = draft_notice(staff, incident_id)
    publish(signed_in(app, people["dpo"]), incident_id, notice_id)
    run_worker_tasks(app)  # mails queued, receipts made, texts due
    run_worker_tasks(app)  # the texts go
    run_worker_tasks(app)  # nothing more
    [text] = sms_server.received
    assert text.form["To"] == "+447700900123" and text.form["From"] == FROM
    assert f"/account/notices/{notice_id}" in text.form["Body"] and "Backups were exposed" in text.form["Body"]
    assert len(text.form["Body"]) <= 320
    with app.app_context():
        states = {r.user_id: r.sms_state for r in db.session().scalars(select(NoticeReceipt))}
    assert states == {people["a_member"].user_id: "sent", people["a_admin"].user_id: None}
    report = staff.get(f"/staff/incidents/{incident_id}/notices/{notice_id}").get_data(as_text=True)
    assert "1 text message sent" in report


def test_a_failed_text_is_retried_later_and_a_refused_number_is_given_up(app, people, sms_server):
    set_phone(app, people["a_member"], "+447700900123")
    set_phone(app, people["a_admin"], "+447700900456")
    staff = signed_in(app, people["staff"])
    incident_id = record_incident(staff, [people["a_admin"].org_id])
    publish(signed_in(app, people["dpo"]), incident_id, draft_notice(staff, incident_id))
    sms_server.status = 503
    run_worker_tasks(app)
    run_worker_tasks(app)
    with app.app_context():
        receipts = list(db.session().scalars(select(NoticeReceipt)))
        assert {(r.sms_state, r.sms_error, r.sms_attempts) for r in receipts} == {("pending", "HTTP 503", 1)}
    sms_server.status = 201
    run_worker_tasks(app)
    assert sms_server.received == []  # not due yet: the backoff holds
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    sender = TwilioSender(sms_server.base_url, ACCOUNT_SID, AUTH_TOKEN, FROM)
    with app.app_context():
        assert service.send_texts(db.session(), sender, "w", lambda n, i: "text", now=later) == 2
        assert service.send_texts(db.session(), sender, "w", lambda n, i: "text", now=later) == 0
    assert sorted(t.form["To"] for t in sms_server.received) == ["+447700900123", "+447700900456"]


def test_sms_settings_are_checked_at_start(tmp_path):
    with pytest.raises(ConfigError, match="SMS_ACCOUNT_SID"):
        resolve({"ENV": "testing", "SMS_ENABLED": True, "SMS_AUTH_TOKEN": "t", "SMS_FROM": "+1"}, {}, tmp_path,
                tmp_path)
    with pytest.raises(ConfigError, match="SMS_BASE_URL must be an http"):
        resolve({"ENV": "testing", "SMS_ENABLED": True, "SMS_ACCOUNT_SID": "AC1", "SMS_AUTH_TOKEN": "t",
                 "SMS_FROM": "+1", "SMS_BASE_URL": "file:///etc/passwd"}, {}, tmp_path, tmp_path)
    (tmp_path / "sms_auth_token").write_text("from-a-file\n")
    config = resolve({"ENV": "testing", "SMS_ENABLED": True, "SMS_ACCOUNT_SID": "AC1", "SMS_FROM": "+1"}, {},
                     tmp_path, tmp_path)
    assert config["SMS_AUTH_TOKEN"] == "from-a-file"


def test_a_redirect_is_an_error_and_the_token_never_follows_it(sms_server):
    sms_server.status = 302
    with pytest.raises(SmsError) as redirected:
        TwilioSender(sms_server.base_url, ACCOUNT_SID, AUTH_TOKEN, FROM).send("+447700900123", "Hello")
    assert redirected.value.permanent and str(redirected.value) == "HTTP 302"
    assert sms_server.stolen == []
