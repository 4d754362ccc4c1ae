"""What a request may carry: form bodies only, NUL refused, a bad Host answered plainly."""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import csrf_token_from


def login_token(client) -> str:
    return csrf_token_from(client.get("/account/login").get_data(as_text=True))


@pytest.mark.parametrize("body", ['"x"', "1", '"\\ud800"', "[" * 500 + "]" * 500, "null",
                                  '{"email": "a@b.example", "password": "x"}'])
def test_json_bodies_are_refused_before_the_view(client, people, body):
    token = login_token(client)
    response = client.post("/account/login", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 415
    assert "accepts the data of its web form only" in response.get_data(as_text=True)


def test_a_json_sign_in_gets_no_budget_of_its_own(app, client, people):
    """The throttle and the view read the same form: a refused JSON attempt counts nothing, proves nothing."""
    token = login_token(client)
    person = people["a_member"]
    body = json.dumps({"email": person.email, "password": person.password, "csrf_token": token})
    for _ in range(30):
        assert client.post("/account/login", data=body, content_type="application/json").status_code == 415
    response = client.post("/account/login", data={"email": person.email, "password": person.password,
                                                    "csrf_token": token})
    assert response.status_code == 303  # the form path still works: no JSON attempt reached the counters


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_other_encodings_are_refused(client, content_type):
    token = login_token(client)
    response = client.post("/account/login", data=f"email=a@b.example&csrf_token={token}",
                           content_type=content_type)
    assert response.status_code == 415


def test_an_empty_post_is_still_a_form(client):
    """A button with no fields sends an empty body; refusing it would break plain forms."""
    assert client.post("/account/logout").status_code == 400  # the CSRF token is missing, nothing else


@pytest.mark.parametrize("url", ["/staff/customers/%00", "/faq?x=%00", "/faq/search?q=a%00b", "/faq%00"])
def test_nul_in_path_or_query_is_refused(client, url):
    assert client.get(url).status_code == 400


def test_nul_in_a_form_field_is_refused(client, people):
    token = login_token(client)
    response = client.post("/account/login", data={"email": "a\x00@b.example", "password": "x",
                                                    "csrf_token": token})
    assert response.status_code == 400


def test_a_host_with_a_label_over_63_characters_gets_a_plain_400(app, client, caplog):
    caplog.set_level(logging.WARNING)
    response = client.get("/faq", headers={"Host": "a" * 70 + ".example"})
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 1 and "bad Host header" in records[0].getMessage()
    assert records[0].exc_info is None
