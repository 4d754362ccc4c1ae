"""The one address rule: trimmed, NFC, IDNA 2008 domains, local part lower-cased but never case-folded."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import csrf_token_from, run_worker_tasks
from trustcenter.addresses import InvalidAddress, normalise_email


@pytest.mark.parametrize(("typed", "stored"), [
    ("Priya.Admin@Northwind.Example ", "priya.admin@northwind.example"),
    ("  a@B\u00dcCHER.de", "a@xn--bcher-kva.de"),
    ("e\u0301mile@example.com", "\u00e9mile@example.com"),  # NFC
    ("alice@stra\u00dfe.example", "alice@xn--strae-oqa.example"),
])
def test_addresses_are_normalised(typed, stored):
    assert normalise_email(typed) == stored


def test_sharp_s_and_ss_stay_different_addresses():
    assert normalise_email("alice@strasse.example") != normalise_email("alice@stra\u00dfe.example")
    assert normalise_email("stra\u00dfe@example.com") != normalise_email("strasse@example.com")


@pytest.mark.parametrize("typed", [
    "", "no-at-sign", "a@b", "a b@example.com", "@example.com", "a@-bad-.com", "a@exa mple.com", "<a>@example.com",
    "a@" + "x" * 250 + ".com", "a\x00@x.com", "a@b@example.com", ".a@example.com", "a.@example.com",
    "a..b@example.com", "a@1.2.3.4", '"a b"@example.com', "a(comment)@example.com",
    # An encoded word: a header parser would decode it into a second recipient.
    "=?utf-8?q?attacker=40evil.example=2c?=alice@corp.example",
])
def test_invalid_addresses_are_refused(typed):
    with pytest.raises(InvalidAddress):
        normalise_email(typed)


@given(st.text(max_size=80))
def test_normalising_never_crashes_and_is_idempotent(text):
    try:
        once = normalise_email(text)
    except InvalidAddress:
        return
    assert normalise_email(once) == once


def test_sign_in_with_spaces_and_capitals(auth, people):
    person = people["a_admin"]
    shouting = dataclasses.replace(person, email="  " + person.email.upper() + " ")
    response = auth.login(shouting)
    assert response.status_code == 303 and response.location.endswith("/account/")


def test_a_reset_for_a_look_alike_domain_mails_nobody(app, client, people, session):
    """An account at strasse.example; a reset asked for straße.example is another address: no link goes out."""
    from sqlalchemy import select

    from trustcenter.accounts import service
    from trustcenter.notify.models import OutboxMessage

    org = service.organisation_named(session, "Tenant A Ltd")
    service.create_user(session, org, "alice@strasse.example", "customer_member", password="a long enough passphrase")
    session.commit()
    for typed in ("alice@stra\u00dfe.example", "ALICE@STRASSE.EXAMPLE"):
        page = client.get("/account/reset")
        client.post("/account/reset", data={"email": typed, "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    run_worker_tasks(app)
    session.expire_all()
    recipients = [m.recipient for m in session.scalars(select(OutboxMessage))]
    assert recipients == ["alice@strasse.example"]  # one link, to the address on the account
