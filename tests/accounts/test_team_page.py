"""The team page: the invitation form's fields are rendered once, never with someone's submitted values."""

from __future__ import annotations

from tests.conftest import csrf_token_from


def test_a_rejected_invitation_shows_its_values_and_errors_then_the_empty_form_again(auth, client, people):
    auth.login(people["a_admin"])
    first = client.get("/account/team").get_data(as_text=True)
    rejected = client.post("/account/team", data={"email": "not an address", "role": "customer_admin",
                                                  "csrf_token": csrf_token_from(first)})
    page = rejected.get_data(as_text=True)
    assert rejected.status_code == 200
    assert 'value="not an address"' in page and 'aria-invalid="true"' in page
    assert '<option selected value="customer_admin">' in page
    again = client.get("/account/team").get_data(as_text=True)
    assert again == first.replace(csrf_token_from(first), csrf_token_from(again))
    assert "not an address" not in again and 'aria-invalid' not in again


def test_the_form_carries_the_sessions_csrf_token(auth, client, people):
    auth.login(people["a_admin"])
    page = client.get("/account/team").get_data(as_text=True)
    token = csrf_token_from(page)
    assert f'<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">' in page
    assert page.count(token) == 4  # the meta tag, the sign-out form (wide and compact menus), the invitation form


def test_an_htmx_request_gets_the_team_block_with_the_forms_errors(auth, client, people):
    auth.login(people["a_admin"])
    token = csrf_token_from(client.get("/account/team").get_data(as_text=True))
    rejected = client.post("/account/team", data={"email": "not an address", "role": "customer_member",
                                                  "csrf_token": token}, headers={"HX-Request": "true"})
    fragment = rejected.get_data(as_text=True)
    assert rejected.status_code == 200 and "<html" not in fragment
    assert 'value="not an address"' in fragment and "field-error" in fragment
