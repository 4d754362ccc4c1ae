"""Property-based fuzzing of every form: any input gets a clear answer, never a 500 or stored garbage."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from tests.conftest import csrf_token_from
from trustcenter.accounts.models import User
from trustcenter.extensions import db

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(max_size=300)


def post_form(client, page: str, action: str, data: dict):
    # Fuzzing sends more requests than the sign-in limits allow; those limits have tests of their own.
    client.application.extensions["throttle"].reset()
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def expected(statuses: tuple[int, ...], *values: str) -> tuple[int, ...]:
    """A NUL anywhere in a form is refused whole (400) before any view sees it; otherwise `statuses`."""
    return (400,) if any("\x00" in value for value in values) else statuses


@FUZZ
@given(email=text, password=text)
def test_login_form(client, people, email, password):
    response = post_form(client, "/account/login", "/account/login", {"email": email, "password": password})
    assert response.status_code in expected((303, 422, 429), email, password)


@FUZZ
@given(email=text)
def test_reset_form(client, email):
    response = post_form(client, "/account/reset", "/account/reset", {"email": email})
    assert response.status_code in expected((200, 429), email)


@FUZZ
@given(first=text, country=text, address=text)
def test_profile_form(app, auth, client, people, first, country, address):
    if client.get("/account/").status_code != 200:
        auth.login(people["a_member"])
    response = post_form(client, "/account/profile", "/account/profile",
                         {"first_name": first, "country": country, "address": address})
    assert response.status_code in expected((200, 303), first, country, address)
    with app.app_context():
        user = db.session().get(User, people["a_member"].user_id)
        stored = (user.first_name, user.country, user.address)
        db.session.remove()
    if response.status_code == 303:
        assert stored == tuple((v.strip() or None) for v in (first, country, address))
    for value in stored:
        assert value is None or (0 < len(value) <= 200 and value == value.strip())


@FUZZ
@given(email=text, role=st.sampled_from(["customer_member", "customer_admin", "admin", "staff", "", "x" * 50]))
def test_invite_form(app, auth, client, people, email, role):
    if client.get("/account/").status_code != 200:
        auth.login(people["a_admin"])
    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(User))
        db.session.remove()
    response = post_form(client, "/account/team", "/account/team", {"email": email, "role": role})
    assert response.status_code in expected((200, 303), email)
    with app.app_context():
        after = db.session().scalar(select(func.count()).select_from(User))
        roles = set(db.session().scalars(select(User.role).where(User.org_id == people["a_admin"].org_id)))
        db.session.remove()
    assert after - before in (0, 1)
    assert roles <= {"customer_member", "customer_admin"}


@FUZZ
@given(code=text)
def test_second_factor_form(client, people, code):
    if client.get("/account/login/verify").status_code != 200:
        post_form(client, "/account/login", "/account/login", {"email": people["staff"].email,
                                                               "password": people["staff"].password})
    response = post_form(client, "/account/login/verify", "/account/login/verify", {"code": code})
    assert response.status_code in expected((303, 422, 429), code)


@FUZZ
@given(first=text, last=text, password=text)
def test_accept_invitation_form(client, first, last, password):
    response = post_form(client, "/account/login", "/account/invitation/not-a-token", {
        "first_name": first, "last_name": last, "password": password})
    assert response.status_code in expected((410,), first, last, password)


@FUZZ
@given(password=text, code=text)
def test_confirm_identity_form(app, auth, client, people, password, code):
    if client.get("/account/").status_code != 200:
        auth.login(people["staff"])
    response = post_form(client, "/account/confirm", "/account/confirm",
                         {"password": password, "code": code, "next": "/account/security"})
    assert response.status_code in expected((303, 422, 429), password, code)
    if response.status_code == 303:  # only the real password (a random code cannot match)
        assert password == people["staff"].password


@FUZZ
@given(code=text)
def test_totp_enrolment_form(app, auth, client, people, code):
    if client.get("/account/").status_code != 200:
        auth.login(people["a_member"])
    response = post_form(client, "/account/security", "/account/security", {"code": code})
    assert response.status_code in expected((200,), code)
    with app.app_context():
        assert not db.session().get(User, people["a_member"].user_id).totp_enabled
        db.session.remove()


@FUZZ
@given(password=text)
def test_new_password_and_enrolment_link_forms(client, password):
    for action in ("/account/reset/not-a-token", "/account/enrol/not-a-token"):
        response = post_form(client, "/account/login", action, {"password": password})
        assert response.status_code in expected((410,), password)


@FUZZ
@given(password=text)
def test_new_password_form_behind_a_valid_link(app, client, people, password):
    import datetime as dt

    from trustcenter.accounts import service

    with app.app_context():
        session = db.session()
        raw = service.issue_token(session, session.get(User, people["b_member"].user_id), "reset",
                                  dt.timedelta(hours=1))
        session.commit()
        db.session.remove()
    response = post_form(client, f"/account/reset/{raw}", f"/account/reset/{raw}", {"password": password})
    assert response.status_code in expected((200, 303), password)
    if response.status_code == 200:
        assert 'class="field-error"' in response.get_data(as_text=True)
