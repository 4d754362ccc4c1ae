"""Signing in over HTTP: CSRF, second factor, enumeration, throttling, sessions, redirects."""

from __future__ import annotations

import time

from tests.conftest import PASSWORD, Auth, csrf_token_from, totp_code


def login_page_token(client) -> str:
    return csrf_token_from(client.get("/account/login").get_data(as_text=True))


def test_customer_signs_in_with_password(auth, client, people):
    response = auth.login(people["a_member"])
    assert response.status_code == 303 and response.location.endswith("/account/")
    page = client.get("/account/")
    assert page.status_code == 200
    assert b"FirstAMember" in page.data


def test_login_without_csrf_token_is_refused(client, people):
    response = client.post("/account/login", data={"email": people["a_member"].email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/").status_code == 302  # still anonymous


def test_wrong_password_and_unknown_address_answer_identically(client, people):
    def attempt(email: str) -> str:
        body = client.post("/account/login", data={"email": email, "password": "wrong password here",
                                                   "csrf_token": login_page_token(client)}).get_data(as_text=True)
        return body.replace(email, "EMAIL")

    known = attempt(people["a_member"].email)
    unknown = attempt("nobody@nowhere.example")
    strip = lambda html: "".join(l for l in html.splitlines() if "csrf" not in l)  # noqa: E731
    assert strip(known) == strip(unknown)
    assert "do not match an account" in known


def test_staff_must_pass_the_second_factor(auth, client, people):
    staff = people["staff"]
    first = client.post("/account/login", data={"email": staff.email, "password": PASSWORD,
                                                "csrf_token": login_page_token(client)})
    assert first.location.endswith("/account/login/verify")
    assert client.get("/staff/audit").location.endswith("/account/login/verify")
    verify_token = csrf_token_from(client.get("/account/login/verify").get_data(as_text=True))
    bad = client.post("/account/login/verify", data={"code": "000000", "csrf_token": verify_token})
    assert bad.status_code == 422 and b"not valid" in bad.data
    good = client.post("/account/login/verify", data={"code": staff.next_code(), "csrf_token": verify_token})
    assert good.status_code == 303
    assert client.get("/staff/audit").status_code == 200


def test_second_factor_guesses_from_many_addresses_are_capped_per_account(client, people):
    client.post("/account/login", data={"email": people["staff"].email, "password": PASSWORD,
                                        "csrf_token": login_page_token(client)})
    token = csrf_token_from(client.get("/account/login/verify").get_data(as_text=True))
    statuses = [client.post("/account/login/verify", data={"code": f"{n:06d}", "csrf_token": token},
                            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code for n in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


def test_totp_code_cannot_be_replayed(app, client, people):
    staff = people["staff"]
    code = totp_code(staff.totp_secret)
    for attempt in range(2):
        client.post("/account/login", data={"email": staff.email, "password": PASSWORD,
                                            "csrf_token": login_page_token(client)})
        token = csrf_token_from(client.get("/account/login/verify").get_data(as_text=True))
        response = client.post("/account/login/verify", data={"code": code, "csrf_token": token})
        assert response.status_code == (303 if attempt == 0 else 422)
        client.post("/account/logout", data={"csrf_token": token})


def test_session_cookie_changes_at_sign_in_and_is_hardened(app, client, people):
    client.get("/account/login")
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    page = client.get("/account/login")
    response = client.post("/account/login", data={"email": people["a_member"].email, "password": PASSWORD,
                                                   "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert before is not None and after is not None and before.value != after.value
    cookie_header = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header


def test_signed_in_pages_are_not_cached(auth, client, people):
    auth.login(people["a_member"])
    assert client.get("/account/profile").headers["Cache-Control"] == "private, no-store"


def test_sign_out_everywhere_kills_copied_cookies(app, auth, client, people):
    auth.login(people["a_member"])
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    response = auth.post("/account/logout-everywhere")
    assert response.status_code == 303
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/account/").status_code == 302


def test_signing_out_kills_copied_cookies_of_that_session_only(app, auth, client, people):
    auth.login(people["a_member"])
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    laptop = app.test_client()
    Auth(laptop).login(people["a_member"])  # the same person signed in elsewhere
    assert auth.post("/account/logout").status_code == 303
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/account/").status_code == 302
    assert laptop.get("/account/").status_code == 200  # other sessions go on


def test_a_password_only_cookie_cannot_be_finished_with_a_code_later(app, client, people):
    staff = people["staff"]
    client.post("/account/login", data={"email": staff.email, "password": PASSWORD,
                                        "csrf_token": login_page_token(client)})
    half = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value  # after the password, before the code
    token = csrf_token_from(client.get("/account/login/verify").get_data(as_text=True))
    assert client.post("/account/login/verify", data={"code": staff.next_code(), "csrf_token": token}).status_code == 303
    copy = app.test_client()
    copy.set_cookie(app.config["SESSION_COOKIE_NAME"], half)
    assert copy.get("/account/login/verify").status_code == 302  # that session ended when it was upgraded


def test_idle_timeout_signs_out(app, auth, client, people):
    auth.login(people["a_member"])
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    response = client.get("/account/")
    assert response.status_code == 302 and "/account/login" in response.location


def test_cookie_is_rewritten_once_a_minute_not_on_every_request(app, auth, client, people):
    auth.login(people["a_member"])
    client.get("/account/")
    assert "Set-Cookie" not in client.get("/account/profile").headers
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 61
    assert "Set-Cookie" in client.get("/account/profile").headers  # the idle clock moves on
    with client.session_transaction() as session:
        assert int(time.time()) - session["seen_at"] < 5


def test_absolute_timeout_signs_out(app, auth, client, people):
    auth.login(people["a_member"])
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - app.config["SESSION_ABSOLUTE_HOURS"] * 3600 - 5
    assert client.get("/account/").status_code == 302


def test_next_parameter_only_redirects_within_the_site(client, people):
    for evil in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]:
        page = client.get("/account/login", query_string={"next": evil})
        response = client.post("/account/login", data={
            "email": people["a_member"].email, "password": PASSWORD, "next": evil,
            "csrf_token": csrf_token_from(page.get_data(as_text=True))})
        assert response.location.endswith("/account/"), evil
        client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    page = client.get("/account/login?next=/account/profile")
    response = client.post("/account/login", data={
        "email": people["a_member"].email, "password": PASSWORD, "next": "/account/profile",
        "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    assert response.location.endswith("/account/profile")


def test_login_is_throttled_per_account(client, people):
    statuses = []
    for _ in range(12):
        response = client.post("/account/login", data={"email": people["b_member"].email, "password": "wrong guess!!",
                                                       "csrf_token": login_page_token(client)})
        statuses.append(response.status_code)
    assert 429 in statuses
    assert statuses.index(429) == 10
    assert b"Too many attempts" in response.data


def attempt_from(client, address: str, email: str, password: str, token: str) -> int:
    return client.post("/account/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_failures_from_other_addresses_do_not_lock_the_victim_out(client, people):
    victim, token = people["b_member"], login_page_token(client)
    failures = [attempt_from(client, f"203.0.113.{n}", victim.email, "wrong guess!!", token) for n in range(12)]
    assert failures == [422] * 12
    assert attempt_from(client, "198.51.100.7", victim.email, PASSWORD, token) == 303


def test_ipv6_addresses_count_by_their_64_bit_prefix(client, people):
    victim, token = people["b_member"], login_page_token(client)
    statuses = [attempt_from(client, f"2001:db8:1:2::{n:x}", victim.email, "wrong guess!!", token) for n in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429  # one /64 is one source
    assert attempt_from(client, "2001:db8:1:3::1", victim.email, PASSWORD, token) == 303


def test_guessing_spread_over_many_addresses_is_capped_per_account(client, people):
    victim, token = people["b_member"], login_page_token(client)
    statuses = [attempt_from(client, f"10.0.{n // 250}.{n % 250}", victim.email, "wrong guess!!", token)
                for n in range(101)]
    assert statuses[:100] == [422] * 100 and statuses[100] == 429


def test_staff_without_enrolment_cannot_enrol_with_the_password_alone(app, client, people, session):
    """Whoever learns a staff password first must not be able to enrol their own phone."""
    from trustcenter.accounts.models import User

    user = session.get(User, people["dpo"].user_id)
    user.totp_enabled, user.totp_secret = False, None
    session.commit()
    response = client.post("/account/login", data={"email": people["dpo"].email, "password": PASSWORD,
                                                   "csrf_token": login_page_token(client)})
    assert response.location.endswith("/account/security")
    assert client.get("/staff/audit").location.endswith("/account/security")
    page = client.get("/account/security").get_data(as_text=True)
    assert 'class="qr"' not in page and 'class="secret"' not in page
    assert "ask an administrator to send you one" in page
    client.post("/account/security", data={"code": "123456", "csrf_token": csrf_token_from(page)})
    session.expire_all()
    user = session.get(User, people["dpo"].user_id)
    assert not user.totp_enabled and user.totp_secret is None


def test_audit_names_the_subject_type_even_through_the_current_user_proxy(auth, people, session):
    from sqlalchemy import select

    from trustcenter.audit import AuditEntry

    auth.login(people["staff"])
    subjects = set(session.scalars(select(AuditEntry.subject_type).where(AuditEntry.action == "login.success")))
    assert subjects == {"user"}


def test_retention_purge_forgets_sign_outs_whose_cookies_have_expired(app, runner, session):
    import datetime as dt

    from sqlalchemy import select

    from trustcenter.accounts.models import EndedSession

    now = dt.datetime.now(dt.timezone.utc)
    session.add_all([EndedSession(sid_hash="a" * 64, expires_at=now - dt.timedelta(minutes=1)),
                     EndedSession(sid_hash="b" * 64, expires_at=now + dt.timedelta(hours=1))])
    session.commit()
    result = runner.invoke(args=["retention", "purge"])
    assert "Purged 1 sign-out records of expired sessions" in result.output, result.output
    session.expire_all()
    assert session.scalars(select(EndedSession.sid_hash)).all() == ["b" * 64]


def test_a_browser_that_signed_in_before_is_not_locked_out_by_guessing_from_many_networks(app, client, people):
    """OWASP's device cookies: the overall per-account cap spares browsers the person already used."""
    victim, token = people["b_member"], login_page_token(client)
    assert attempt_from(client, "198.51.100.7", victim.email, PASSWORD, token) == 303  # earlier, on this browser
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    attacker = app.test_client()
    attacker_token = login_page_token(attacker)
    statuses = [attempt_from(attacker, f"10.0.{n // 250}.{n % 250}", victim.email, "wrong guess!!", attacker_token)
                for n in range(101)]
    assert statuses[100] == 429  # the account is capped for browsers without its device cookie
    assert attempt_from(attacker, "192.0.2.50", victim.email, PASSWORD, attacker_token) == 429  # a new browser
    token = login_page_token(client)
    assert attempt_from(client, "192.0.2.51", victim.email, PASSWORD, token) == 303  # the person's own browser


def test_a_device_cookie_is_worth_nothing_for_another_account(app, client, people):
    token = login_page_token(client)
    assert attempt_from(client, "198.51.100.7", people["a_member"].email, PASSWORD, token) == 303
    client.post("/account/logout", data={"csrf_token": csrf_token_from(client.get("/account/").get_data(as_text=True))})
    token = login_page_token(client)
    statuses = [attempt_from(client, f"10.0.{n // 250}.{n % 250}", people["b_member"].email, "wrong guess!!", token)
                for n in range(101)]
    assert statuses[100] == 429
