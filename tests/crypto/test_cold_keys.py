"""Mail-sending requests with the key cache cold: between requests, and after a restart.

The cache of unwrapped keys once hid a design fault: sealing a value fetched its
key through the caller's session, which flushed a half-built row. These tests
run invitation and password reset with every key fetched from the key store.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import Auth, close_app, csrf_token_from, new_session, run_worker_tasks
from trustcenter import create_app
from trustcenter.accounts.models import User
from trustcenter.notify.models import OutboxMessage


@pytest.fixture
def app_config(app_config):
    return {**app_config, "KEY_CACHE_SECONDS": 0}


def outbox() -> list[tuple[str, str]]:
    with new_session() as session:
        return [(m.recipient, m.subject) for m in session.scalars(select(OutboxMessage))]


def invite(client, email: str):
    page = client.get("/account/team")
    return client.post("/account/team", data={"email": email, "role": "customer_member",
                                              "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def request_reset(client, email: str):
    page = client.get("/account/reset")
    return client.post("/account/reset", data={"email": email,
                                               "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def test_the_cache_is_off(app):
    assert app.extensions["keys"].cache_seconds == 0


def test_invitations_with_every_key_fetched_cold(app, auth, client, people):
    auth.login(people["a_admin"])
    for number in range(3):
        response = invite(client, f"new{number}@a.example")
        assert response.status_code == 303, response.get_data(as_text=True)
    assert sorted(to for to, _ in outbox()) == ["new0@a.example", "new1@a.example", "new2@a.example"]
    with new_session() as session:
        invited = session.scalars(select(User).where(User.status == "invited")).all()
        assert sorted(u.email for u in invited) == ["new0@a.example", "new1@a.example", "new2@a.example"]


def test_password_reset_with_every_key_fetched_cold(app, client, people):
    assert request_reset(client, people["a_member"].email).status_code == 200
    run_worker_tasks(app)
    assert outbox() == [(people["a_member"].email, outbox()[0][1])]


def test_after_a_restart_invitation_and_reset_still_work(app_config, app, people):
    auth_before = Auth(app.test_client())
    auth_before.login(people["a_admin"])
    restarted = create_app(app_config)  # a new process: a new key service with nothing cached
    try:
        client = restarted.test_client()
        Auth(client).login(people["a_admin"])
        assert invite(client, "after.restart@a.example").status_code == 303
        assert request_reset(client, people["b_member"].email).status_code == 200
        run_worker_tasks(restarted)
        recipients = sorted(to for to, _ in outbox())
        assert recipients == ["after.restart@a.example", people["b_member"].email]
    finally:
        close_app(restarted)
