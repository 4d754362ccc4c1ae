"""Proof of identity again before sensitive changes, and the one-time links that let staff enrol a second factor.

A session signed in hours ago may be a borrowed laptop: turning off two-factor
authentication or replacing recovery codes asks for the password or a current
code when the last proof is older than RECENT_PROOF_MINUTES (10 by default).
And the first TOTP enrolment of people who must use it (staff, DPO,
administrators) is bound to their invitation or to a link an administrator
issues, so whoever learns a password first cannot enrol their own phone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from trustcenter.accounts import mfa, service
from trustcenter.accounts.models import User
from trustcenter.accounts.onboarding import Mailer
from trustcenter.accounts.second_factor import claim_time_step
from trustcenter.accounts.service import AccountError, Actor

ENROLMENT_LINK_TTL = dt.timedelta(hours=24)
ENROL = "enrol"  # the token purpose


def reconfirm(session: Session, user: User, password: str, code: str, ip: str | None) -> bool:
    """True when `password` is the user's, or `code` is a fresh TOTP code (used up, like any code)."""
    if password:
        confirmed = service.passwords_of(session).verify(user.password_hash, password)
    else:
        step = mfa.matching_step(user.totp_secret, code, user.totp_last_step) if user.totp_enabled else None
        confirmed = step is not None and claim_time_step(session, user, step)
    service.record(session, Actor(user, ip), "identity.confirmed" if confirmed else "identity.not_confirmed", user,
                   method="password" if password else "totp")
    session.commit()
    return confirmed


def issue_enrolment_link(session: Session, user: User, send: Mailer, actor: Actor) -> None:
    """Mail `user` a one-time link to set up their authenticator; only for people who have none yet."""
    if user.totp_enabled:
        raise AccountError("This person already uses two-factor authentication.")
    if user.status != "active":
        raise AccountError("Only active accounts can enrol; an invited person enrols when accepting the invitation.")
    token = service.issue_token(session, user, ENROL, ENROLMENT_LINK_TTL)
    send(session, user.email, "enrolment_link", token=token, hours=int(ENROLMENT_LINK_TTL.total_seconds() // 3600))
    service.record(session, actor, "mfa.enrolment_link_issued", user)
    session.commit()


def open_enrolment_link(session: Session, raw_token: str, password: str, ip: str | None) -> User:
    """Spend the link once its person proves their password; the caller then lets this session enrol."""
    user = service.token_user(session, raw_token, ENROL)
    if user is None or user.totp_enabled or user.status != "active":
        raise AccountError("This link has expired or has already been used. Ask an administrator for a new one.")
    if not service.passwords_of(session).verify(user.password_hash, password):
        service.record(session, Actor(user, ip), "login.failure", user, reason="bad password on enrolment link")
        session.commit()
        raise AccountError("That password does not match this account.")
    service.redeem_token(session, raw_token, ENROL)
    service.record(session, Actor(user, ip), "mfa.enrolment_link_used", user)
    session.commit()
    return user
