"""Helpers for the request tests: file a request through the real forms, read the outbox."""

from __future__ import annotations

import re

import pytest

from tests.accounts.test_onboarding import outbox  # noqa: F401 - used by the request tests
from tests.conftest import Auth, csrf_token_from
from trustcenter.extensions import db
from trustcenter.requests.models import RightsRequest


def file_request(client, kind: str, answers: dict[str, str]):
    """Step one (choose the kind) and step two (answer its questions), as a browser without JavaScript does."""
    page = client.get(f"/account/requests/new?kind={kind}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/account/requests/new?kind={kind}",
                       data={**answers, "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def request_id_from(response) -> str:
    match = re.search(r"/account/requests/([0-9a-f-]{36})$", response.location or "")
    assert match, response.location
    return match.group(1)


def load(app, request_id: str) -> RightsRequest:
    with app.app_context():
        found = db.session().get(RightsRequest, request_id)
        _ = (found.requester_email, found.details, found.outcome)
        return found


def post_form(client, page: str, action: str, data: dict[str, str]):
    html = client.get(page).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_token_from(html)})


@pytest.fixture
def staff_client(app, people):
    """A second browser, signed in as staff, beside the customer's `client`."""
    other = app.test_client()
    Auth(other).login(people["staff"])
    return other
