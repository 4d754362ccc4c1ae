"""Invitations cannot be used as a relay: no typed text in the mail, limits per inviter and organisation."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.accounts.test_onboarding import outbox
from tests.conftest import PASSWORD, Auth, Person
from trustcenter.accounts.models import Organisation, User
from trustcenter.extensions import db

LURE = "Urgent: verify at http://evil.example/login"


def invite(auth, email: str):
    return auth.post("/account/team", {"email": email, "role": "customer_member"}, page="/account/team")


def users_in(app, org_id: str) -> int:
    with app.app_context():
        count = db.session().scalar(select(func.count()).select_from(User).where(User.org_id == org_id))
        db.session.remove()
    return count


def test_the_mail_names_the_organisation_and_the_inviters_address_never_their_typed_name(app, auth, people):
    with app.app_context():
        inviter = db.session().get(User, people["a_admin"].user_id)
        inviter.first_name, inviter.last_name = LURE, "<a href='http://evil.example'>x</a>"
        db.session().commit()
        db.session.remove()
    auth.login(people["a_admin"])
    assert invite(auth, "target@elsewhere.example").status_code == 303
    assert invite(auth, people["a_member"].email).status_code == 303  # the "already a member" note
    mails = [m for m in outbox(app) if m.recipient in ("target@elsewhere.example", people["a_member"].email)]
    assert len(mails) == 2
    for mail in mails:
        for body in (mail.text_body, mail.html_body, mail.subject):
            assert "evil.example" not in body and "Urgent" not in body
        assert "Tenant A Ltd" in mail.text_body and people["a_admin"].email in mail.text_body


def test_an_inviter_is_limited_per_hour(app, auth, people):
    app.config["MAX_PENDING_INVITATIONS"] = 1000
    auth.login(people["a_admin"])
    statuses = [invite(auth, f"person{n}@elsewhere.example").status_code for n in range(21)]
    assert statuses == [303] * 20 + [429]


def test_an_organisation_is_limited_per_day_whoever_invites(app, people):
    """Sixty a day, even spread over inviters (re-inviting one address keeps one invitation pending)."""
    admins = [people["a_admin"]] + [more_admin(app, people, n) for n in range(2)]
    statuses = []
    for admin in admins:
        auth = Auth(app.test_client())
        auth.login(admin)
        statuses += [invite(auth, "same.person@elsewhere.example").status_code for _ in range(20)]
    assert statuses == [303] * 60
    assert invite(auth, "other.person@elsewhere.example").status_code == 429


def test_pending_invitations_are_capped_per_organisation(app, auth, people):
    app.config["MAX_PENDING_INVITATIONS"] = 3
    auth.login(people["a_admin"])
    before = users_in(app, people["a_admin"].org_id)
    assert [invite(auth, f"p{n}@elsewhere.example").status_code for n in range(3)] == [303] * 3
    refused = invite(auth, "p4@elsewhere.example")
    assert refused.status_code == 200
    assert "3 invitations are waiting to be accepted" in refused.get_data(as_text=True)
    assert users_in(app, people["a_admin"].org_id) == before + 3
    assert invite(auth, "p1@elsewhere.example").status_code == 303  # sending one again is still possible


def more_admin(app, people, number: int) -> Person:
    from trustcenter.accounts import service

    email = f"admin{number}@a.example"
    with app.app_context():
        session = db.session()
        org = session.get(Organisation, people["a_admin"].org_id)
        user = service.create_user(session, org, email, "customer_admin", password=PASSWORD)
        session.commit()
        made = Person(user.id, email, org.id, "customer_admin")
        db.session.remove()
    return made
