"""Enrolling, checking and removing the TOTP second factor; every change is audited and mailed."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from trustcenter.accounts import mfa, service
from trustcenter.accounts.models import RecoveryCode, User
from trustcenter.accounts.onboarding import Mailer
from trustcenter.accounts.service import AccountError, Actor
from trustcenter.db import utcnow


def pending_secret(session: Session, user: User) -> str:
    """The secret being enrolled, kept encrypted on the user (never in the cookie) until confirmed."""
    if user.totp_secret is None:
        user.totp_secret = mfa.new_secret()
        session.commit()
    return user.totp_secret


def confirm_enrolment(session: Session, user: User, code: str, send: Mailer, ip: str | None) -> list[str]:
    """Turn on TOTP once the user proves their app works; returns recovery codes to show once."""
    step = mfa.matching_step(pending_secret(session, user), code, 0)
    if step is None:
        raise AccountError("That code did not match. Check your authenticator app's clock and try the newest code.")
    user.totp_enabled = True
    user.totp_last_step = step
    codes = replace_recovery_codes(session, user)
    send(session, user.email, "mfa_changed", change="turned on")
    service.record(session, Actor(user, ip), "mfa.enabled", user)
    session.commit()
    return codes


def replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = mfa.new_recovery_codes()
    session.add_all(RecoveryCode(user_id=user.id, code_hash=mfa.hash_recovery_code(user.id, c)) for c in codes)
    return codes


def regenerate_recovery_codes(session: Session, user: User, send: Mailer, ip: str | None) -> list[str]:
    codes = replace_recovery_codes(session, user)
    send(session, user.email, "mfa_changed", change="given new recovery codes")
    service.record(session, Actor(user, ip), "mfa.recovery_codes_replaced", user)
    session.commit()
    return codes


def verify(session: Session, user: User, code: str, ip: str | None) -> bool:
    """Accept a fresh TOTP code or an unused recovery code, once each, even when sent twice at once."""
    if not user.totp_enabled or not user.totp_secret:
        return False
    step = mfa.matching_step(user.totp_secret, code, user.totp_last_step)
    if step is not None and claim_time_step(session, user, step):
        session.commit()
        return True
    if step is None and claim_recovery_code(session, user, code):
        service.record(session, Actor(user, ip), "mfa.recovery_code_used", user)
        session.commit()
        return True
    service.record(session, Actor(user, ip), "login.failure", user, reason="bad second factor")
    session.commit()
    return False


def claim_time_step(session: Session, user: User, step: int) -> bool:
    """Record `step` as used, in one conditional UPDATE: of two requests with one code, only one changes the row.

    Reading the last step and then writing it would let both pass; the database
    decides instead (PostgreSQL re-checks the condition after the row lock,
    SQLite serialises writers).
    """
    claimed = session.execute(update(User).where(User.id == user.id, User.totp_last_step < step)
                              .values(totp_last_step=step), execution_options={"synchronize_session": False})
    if claimed.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)  # what the row now holds, without another write
    return True


def claim_recovery_code(session: Session, user: User, code: str) -> bool:
    """Mark the matching unused recovery code used, in one conditional UPDATE (one row, or refused)."""
    unused = (RecoveryCode.user_id == user.id, RecoveryCode.code_hash == mfa.hash_recovery_code(user.id, code),
              RecoveryCode.used_at.is_(None))
    claimed = session.execute(update(RecoveryCode).where(*unused).values(used_at=utcnow()),
                              execution_options={"synchronize_session": False})
    return claimed.rowcount == 1


def remaining_recovery_codes(session: Session, user: User) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))).all())


def disable(session: Session, user: User, send: Mailer, ip: str | None) -> None:
    """Turn TOTP off; refused for roles that must use it."""
    if user.mfa_required:
        raise AccountError("Your role requires two-factor authentication; it cannot be turned off.")
    user.totp_enabled = False
    user.totp_secret = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    send(session, user.email, "mfa_changed", change="turned off")
    service.record(session, Actor(user, ip), "mfa.disabled", user)
    session.commit()
