"""Invitations, password resets, second-factor changes and the profile page, over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zlib

import pyotp
import pytest
from sqlalchemy import func, select

from tests.conftest import captured_statements, csrf_token_from, run_worker_tasks
from trustcenter.accounts.models import AccountToken, ResetRequest, User
from trustcenter.audit import AuditEntry
from trustcenter.crypto import Sealed
from trustcenter.extensions import db
from trustcenter.notify.models import OutboxMessage


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        session = db.session()
        messages = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))
        for m in messages:
            _ = (m.recipient, m.subject, m.text_body, m.html_body)  # decrypt while the session is open
        return messages


def session_cookie_contents(app, client) -> bytes:
    """What anyone holding the cookie can read: Flask signs the session, it does not encrypt it."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    payload = cookie.lstrip(".").split(".")[0]  # [.]payload.timestamp.signature; "." means compressed
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded = zlib.decompress(raw) if cookie.startswith(".") else raw
    assert b"_user_id" in decoded or b"_flashes" in decoded  # really the session's contents
    return decoded


def link_in(message: OutboxMessage) -> str:
    return re.search(r"http://localhost(/account/\S+)", message.text_body).group(1)


def test_customer_admin_invites_a_colleague_who_joins(app, auth, client, people):
    auth.login(people["a_admin"])
    response = auth.post("/account/team", {"email": "new.colleague@a.example", "role": "customer_member"},
                         page="/account/team")
    assert response.status_code == 303
    assert b"new.colleague" not in session_cookie_contents(app, client)  # the flash message names nobody
    [mail] = [m for m in outbox(app) if m.recipient == "new.colleague@a.example"]
    assert "invited to join Tenant A Ltd" in mail.text_body and "<a href" in mail.html_body
    path = link_in(mail)
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    form = client.get(path)
    assert b"Join Tenant A Ltd" in form.data
    joined = client.post(path, data={"first_name": "Nia", "last_name": "New", "password": "a long new passphrase",
                                     "csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert joined.status_code == 303
    assert b"Nia" not in session_cookie_contents(app, client)  # the welcome message names nobody
    assert b"Nia" in client.get("/account/").data
    assert client.get(path).status_code == 410  # single use


def test_members_cannot_invite(auth, client, people):
    auth.login(people["a_member"])
    assert client.get("/account/team").status_code == 404


def test_inviting_an_existing_member_looks_the_same_and_sends_a_note(app, auth, people):
    auth.login(people["a_admin"])
    new = auth.post("/account/team", {"email": "fresh@a.example", "role": "customer_member"}, page="/account/team")
    existing = auth.post("/account/team", {"email": people["a_member"].email, "role": "customer_member"},
                         page="/account/team")
    assert new.status_code == existing.status_code == 303
    note = [m for m in outbox(app) if m.recipient == people["a_member"].email][0]
    assert "already have an account" in note.text_body
    assert "/account/invitation/" not in note.text_body


def test_password_reset_round_trip_and_no_enumeration(app, client, people):
    def ask(email: str) -> str:
        page = client.get("/account/reset")
        return client.post("/account/reset", data={"email": email, "csrf_token": csrf_token_from(
            page.get_data(as_text=True))}).get_data(as_text=True)

    strip = lambda html: re.sub(r'content="[^"]*"|value="[^"]*"', "", html)  # noqa: E731
    assert strip(ask(people["b_member"].email)) == strip(ask("nobody@nowhere.example"))
    run_worker_tasks(app)
    [mail] = [m for m in outbox(app) if "Reset your" in m.subject]
    path = link_in(mail)
    form = client.get(path)
    weak = client.post(path, data={"password": "password1234", "csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert b"too common" in weak.data
    done = client.post(path, data={"password": "an entirely new passphrase",
                                   "csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert done.status_code == 303
    assert client.get(path).status_code == 410
    page = client.get("/account/login")
    signed_in = client.post("/account/login", data={"email": people["b_member"].email,
                                                     "password": "an entirely new passphrase",
                                                     "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert signed_in.status_code == 303
    assert any("password was changed" in m.subject for m in outbox(app))


def test_mailed_links_use_the_site_url_not_the_host_the_request_claimed(app, client, people):
    evil = "http://evil.example"
    page = client.get("/account/reset", base_url=evil)
    client.post("/account/reset", base_url=evil, data={"email": people["a_member"].email,
                                                       "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    run_worker_tasks(app)
    [mail] = [m for m in outbox(app) if "Reset your" in m.subject]
    assert "evil.example" not in mail.text_body + mail.html_body
    assert f"{app.config['SITE_URL']}/account/reset/" in mail.text_body


def test_reset_tokens_expire_and_are_stored_hashed(app, client, people, session):
    page = client.get("/account/reset")
    client.post("/account/reset", data={"email": people["a_member"].email,
                                         "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    run_worker_tasks(app)
    raw = link_in([m for m in outbox(app) if "Reset your" in m.subject][0]).rsplit("/", 1)[1]
    token = session.scalars(select(AccountToken)).one()
    assert raw not in token.token_hash and len(raw) >= 43  # 256 random bits, only the hash is stored
    token.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    session.commit()
    assert client.get(f"/account/reset/{raw}").status_code == 410


def test_customer_enrols_in_totp_and_gets_recovery_codes(app, auth, client, people, session):
    auth.login(people["a_member"])
    page = client.get("/account/security").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    wrong = client.post("/account/security", data={"code": "123456", "csrf_token": csrf_token_from(page)})
    assert b"did not match" in wrong.data
    assert secret in client.get("/account/security").get_data(as_text=True)  # the same secret until confirmed
    done = client.post("/account/security", data={"code": pyotp.TOTP(secret).now(),
                                                  "csrf_token": csrf_token_from(page)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    # Shown once, in that response only: neither the secret nor the codes travel in the cookie.
    decoded = session_cookie_contents(app, client)
    assert secret.encode() not in decoded and codes[0].encode() not in decoded
    assert b"10 unused recovery codes" in client.get("/account/security").data
    assert any("turned on" in m.text_body for m in outbox(app))
    session.expire_all()
    user = session.get(User, people["a_member"].user_id)
    assert user.totp_enabled and user.totp_secret == secret
    # A recovery code signs in once.
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    for expected in (303, 422):
        page = client.get("/account/login")
        client.post("/account/login", data={"email": people["a_member"].email, "password": people["a_member"].password,
                                            "csrf_token": csrf_token_from(page.get_data(as_text=True))})
        token = csrf_token_from(client.get("/account/login/verify").get_data(as_text=True))
        assert client.post("/account/login/verify", data={"code": codes[0], "csrf_token": token}).status_code == expected


def test_staff_cannot_turn_off_their_second_factor(auth, client, people):
    auth.login(people["staff"])
    response = auth.post("/account/security/disable", page="/account/security")
    assert response.status_code == 303
    assert b"requires two-factor" in client.get("/account/security").data


def test_profile_shows_and_corrects_stored_data(auth, client, people, session):
    auth.login(people["a_member"])
    page = client.get("/account/profile").get_data(as_text=True)
    for value in ["FirstAMember", "LastAMember", "Wonderland", "Secret Street"]:
        assert value in page
    response = auth.post("/account/profile", {"first_name": "Corrected", "last_name": "LastAMember",
                                              "country": "Ireland", "timezone": "Europe/Dublin"},
                         page="/account/profile")
    assert response.status_code == 303
    session.expire_all()
    user = session.get(User, people["a_member"].user_id)
    assert (user.first_name, user.country, user.timezone, user.username) == ("Corrected", "Ireland",
                                                                            "Europe/Dublin", None)


def test_a_country_kept_from_before_the_lists_survives_a_save(auth, client, people, session):
    """'Wonderland' predates the ISO list: saving other fields must not erase it, and it cannot be chosen anew."""
    auth.login(people["a_member"])
    assert auth.post("/account/profile", {"first_name": "Again", "country": "Wonderland"},
                     page="/account/profile").status_code == 303
    session.expire_all()
    assert session.get(User, people["a_member"].user_id).country == "Wonderland"


@pytest.mark.parametrize("changes, error", [
    ({"first_name": ""}, "Enter your first name."),
    ({"first_name": "Ok", "timezone": "Not/AZone"}, "Not a valid choice"),
    ({"first_name": "Ok", "country": "Narnia"}, "Not a valid choice"),
    ({"first_name": "Ok", "country": "x" * 300}, "Not a valid choice"),
    ({"first_name": "Ok", "state": "x" * 101}, "at most 100 characters"),
])
def test_profile_refuses_what_the_lists_and_limits_do_not_allow(auth, client, people, session, changes, error):
    auth.login(people["a_member"])
    response = auth.post("/account/profile", {"timezone": "", "country": "", **changes}, page="/account/profile")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert error in page and 'aria-invalid="true"' in page and "were saved" not in page
    session.expire_all()
    assert session.get(User, people["a_member"].user_id).first_name == "FirstAMember"


def test_profile_rejects_oversized_input_without_saving(auth, client, people, session):
    auth.login(people["a_member"])
    response = auth.post("/account/profile", {"first_name": "x" * 500}, page="/account/profile")
    assert response.status_code == 200 and b"at most 100 characters" in response.data
    session.expire_all()
    assert session.get(User, people["a_member"].user_id).first_name == "FirstAMember"


def post_reset_request(client, email: str):
    page = client.get("/account/reset")
    return client.post("/account/reset", data={"email": email,
                                               "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def test_reset_requests_do_the_same_database_work_for_known_and_unknown_addresses(app, client, people):
    post_reset_request(client, "warm-up@nowhere.example")  # the service key is created on first use
    with captured_statements(app) as known:
        post_reset_request(client, people["a_member"].email)
    with captured_statements(app) as unknown:
        post_reset_request(client, "nobody@nowhere.example")
    assert known == unknown  # the same statements in the same order: no lookup, no token, no mail
    assert not any("users" in statement or "outbox" in statement for statement in known)


def test_worker_mails_known_addresses_and_audits_unknown_ones(app, client, people, session):
    post_reset_request(client, people["a_member"].email)
    post_reset_request(client, "nobody@nowhere.example")
    assert session.scalar(select(func.count()).select_from(ResetRequest)) == 2
    run_worker_tasks(app)
    assert session.scalar(select(func.count()).select_from(ResetRequest)) == 0  # handled, then deleted
    assert [m.recipient for m in outbox(app) if "Reset your" in m.subject] == [people["a_member"].email]
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "password.reset_requested")).all()
    assert sorted(e.subject_id or "" for e in entries) == sorted(["", people["a_member"].user_id])
    # The source address travels with the request, so the entry names it as before.
    assert [e.details for e in entries if e.subject_id is None] == [{"ip": "127.0.0.1", "known_account": False}]
    run_worker_tasks(app)
    assert len([m for m in outbox(app) if "Reset your" in m.subject]) == 1  # never twice


def test_requests_older_than_a_link_are_dropped_unanswered(app, client, people, session):
    post_reset_request(client, people["a_member"].email)
    request = session.scalars(select(ResetRequest)).one()
    request.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    session.commit()
    run_worker_tasks(app)
    assert session.scalar(select(func.count()).select_from(ResetRequest)) == 0
    assert not [m for m in outbox(app) if "Reset your" in m.subject]


def test_reset_requests_are_sealed(client, people, session):
    post_reset_request(client, people["a_member"].email)
    stored = session.execute(select(ResetRequest.email_sealed, ResetRequest.ip_sealed)).one()
    assert people["a_member"].email.encode() not in stored.email_sealed.blob
    assert session.scalars(select(ResetRequest)).one().email == people["a_member"].email


def test_an_unreadable_request_is_dropped_and_the_others_answered(app, client, people, session):
    post_reset_request(client, "nobody@nowhere.example")
    post_reset_request(client, people["a_member"].email)
    [probe] = [r for r in session.scalars(select(ResetRequest)) if r.email == "nobody@nowhere.example"]
    probe.email_sealed = Sealed(probe.email_sealed.blob[:-1] + bytes([probe.email_sealed.blob[-1] ^ 1]))
    session.commit()
    run_worker_tasks(app)
    assert session.scalar(select(func.count()).select_from(ResetRequest)) == 0
    assert [m.recipient for m in outbox(app) if "Reset your" in m.subject] == [people["a_member"].email]


def test_a_flood_of_requests_is_drained_in_one_round_and_stale_ones_go_first(app, client, people, session):
    from trustcenter.accounts import onboarding
    from trustcenter.accounts.mail import send

    for n in range(7):
        post_reset_request(client, f"junk{n}@nowhere.example")
    post_reset_request(client, people["a_member"].email)
    [stale] = [r for r in session.scalars(select(ResetRequest)) if r.email == "junk0@nowhere.example"]
    stale.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    session.commit()
    with app.app_context():
        handled = onboarding.process_reset_requests(db.session(), send, batch=3)
    assert handled == 7  # three batches in one round; the stale one was dropped before them
    assert session.scalar(select(func.count()).select_from(ResetRequest)) == 0
    assert [m.recipient for m in outbox(app) if "Reset your" in m.subject] == [people["a_member"].email]
