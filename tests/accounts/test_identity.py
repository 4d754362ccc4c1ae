"""Recent proof of identity before sensitive changes, and staff enrolment bound to an invitation or a link."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from tests.accounts.test_onboarding import link_in, outbox
from tests.conftest import PASSWORD, csrf_token_from
from trustcenter.access import PROOF_SESSION_KEY
from trustcenter.accounts.models import RecoveryCode, User
from trustcenter.extensions import db


def age_the_proof(client) -> None:
    minutes = client.application.config["RECENT_PROOF_MINUTES"]
    with client.session_transaction() as cookie_session:
        cookie_session[PROOF_SESSION_KEY] = int(time.time()) - minutes * 60 - 1


def recovery_code_hashes(app, user_id: str) -> set[str]:
    with app.app_context():
        hashes = set(db.session().scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)))
        db.session.remove()
    return hashes


def confirm(client, **fields):
    page = client.get("/account/confirm?next=/account/security").get_data(as_text=True)
    return client.post("/account/confirm", data={**fields, "next": "/account/security",
                                                 "csrf_token": csrf_token_from(page)})


def codes_in(response) -> list[str]:
    return re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", response.get_data(as_text=True))


def test_new_recovery_codes_need_a_recent_proof(app, auth, client, people):
    staff = people["staff"]
    auth.login(staff)
    assert len(codes_in(auth.post("/account/security/recovery-codes", page="/account/security"))) == 10
    before = recovery_code_hashes(app, staff.user_id)
    age_the_proof(client)
    response = auth.post("/account/security/recovery-codes", page="/account/security")
    assert response.status_code == 303 and "/account/confirm?next=/account/security" in response.location
    assert recovery_code_hashes(app, staff.user_id) == before  # nothing replaced
    assert confirm(client, password="not my password").status_code == 422
    assert confirm(client, password=staff.password).location.endswith("/account/security")
    assert len(codes_in(auth.post("/account/security/recovery-codes", page="/account/security"))) == 10
    assert recovery_code_hashes(app, staff.user_id) != before
    assert audited(app, staff.user_id) >= {"identity.not_confirmed", "identity.confirmed", "mfa.recovery_codes_replaced"}
    assert [m for m in outbox(app) if m.recipient == staff.email and "given new recovery codes" in m.text_body]


def test_turning_off_two_factor_needs_a_recent_proof_and_a_code_will_do(app, auth, client, people):
    member = people["a_member"]
    secret = pyotp.random_base32()
    with app.app_context():
        user = db.session().get(User, member.user_id)
        user.totp_secret, user.totp_enabled = secret, True
        db.session().commit()
        db.session.remove()
    member.totp_secret = secret
    auth.login(member)
    age_the_proof(client)
    response = auth.post("/account/security/disable", page="/account/security")
    assert "/account/confirm" in response.location
    with app.app_context():
        assert db.session().get(User, member.user_id).totp_enabled
        db.session.remove()
    assert confirm(client, code=member.next_code()).status_code == 303
    assert auth.post("/account/security/disable", page="/account/security").status_code == 303
    with app.app_context():
        assert not db.session().get(User, member.user_id).totp_enabled
        db.session.remove()
    assert "mfa.disabled" in audited(app, member.user_id)
    assert [m for m in outbox(app) if m.recipient == member.email and "turned off" in m.text_body]


def audited(app, user_id: str) -> set[str]:
    from trustcenter.audit import AuditEntry

    with app.app_context():
        actions = set(db.session().scalars(select(AuditEntry.action).where(AuditEntry.subject_id == user_id)))
        db.session.remove()
    return actions


def test_a_staff_invitation_opens_a_session_that_may_enrol(app, auth, client, people):
    auth.login(people["admin"])
    with app.app_context():
        from trustcenter.accounts import onboarding
        from trustcenter.accounts.mail import send

        session = db.session()
        admin = session.get(User, people["admin"].user_id)
        with app.test_request_context():
            onboarding.invite(session, admin, admin.org, "new.staff@provider.example", "staff", send, None)
        db.session.remove()
    path = link_in([m for m in outbox(app) if m.recipient == "new.staff@provider.example"][0])
    fresh = app.test_client()
    form = fresh.get(path)
    joined = fresh.post(path, data={"first_name": "Stella", "password": "a long new passphrase",
                                    "csrf_token": csrf_token_from(form.get_data(as_text=True))})
    assert joined.location.endswith("/account/security")
    page = fresh.get("/account/security").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    done = fresh.post("/account/security", data={"code": pyotp.TOTP(secret).now(),
                                                 "csrf_token": csrf_token_from(page)})
    assert len(codes_in(done)) == 10
    assert fresh.get("/staff/audit").status_code == 200


def test_an_administrators_enrolment_link_lets_staff_enrol_once(app, runner, client, people):
    dpo = people["dpo"]
    with app.app_context():
        user = db.session().get(User, dpo.user_id)
        user.totp_enabled, user.totp_secret = False, None
        db.session().commit()
        db.session.remove()
    result = runner.invoke(args=["users", "enrolment-link", dpo.email.upper()])
    assert result.exit_code == 0, result.output
    assert "Mailed a one-time enrolment link" in result.output and "/account/enrol/" not in result.output
    [mail] = [m for m in outbox(app) if "Set up two-factor" in m.subject]
    assert mail.recipient == dpo.email  # the stored address, never the typed one
    path = link_in(mail)
    page = client.get(path).get_data(as_text=True)
    wrong = client.post(path, data={"password": "not the password", "csrf_token": csrf_token_from(page)})
    assert wrong.status_code == 422
    opened = client.post(path, data={"password": PASSWORD, "csrf_token": csrf_token_from(page)})
    assert opened.location.endswith("/account/security")
    page = client.get("/account/security").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    done = client.post("/account/security", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token_from(page)})
    assert len(codes_in(done)) == 10
    assert app.test_client().get(path).status_code == 410  # used once
    assert runner.invoke(args=["users", "enrolment-link", dpo.email]).exit_code != 0  # already enrolled
