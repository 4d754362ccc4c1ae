"""Invitations and password resets by e-mail, answering alike for known and unknown addresses."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trustcenter.accounts import service
from trustcenter.accounts.models import PROVIDER, AccountToken, Organisation, ResetRequest, User
from trustcenter.accounts.roles import INVITABLE_BY, Role
from trustcenter.accounts.service import INVITE_TTL, RESET_TTL, AccountError, Actor
from trustcenter.crypto import CryptoError
from trustcenter.db import utcnow

# send(session, to, template, **context) queues a mail in the caller's transaction.
Mailer = Callable[..., None]
log = logging.getLogger(__name__)


DEFAULT_MAX_PENDING_INVITATIONS = 25


def invite(session: Session, inviter: User, org: Organisation, email: str, role: Role | str,
           send: Mailer, ip: str | None, max_pending: int = DEFAULT_MAX_PENDING_INVITATIONS) -> None:
    """Invite a colleague. An address that already has an account gets a note instead of a link.

    The mail names the organisation and the inviter's own address, never text a
    user typed (a first name could carry a lure), and an organisation holds at
    most `max_pending` invitations that can still be accepted.
    """
    role = Role(role)
    if role not in INVITABLE_BY.get(inviter.role_enum, frozenset()):
        raise AccountError(f"You cannot invite someone as {role.label}.")
    if inviter.role_enum is not Role.ADMIN and org.id != inviter.org_id:
        raise AccountError("You can only invite colleagues to your own organisation.")
    if role.is_provider != (org.kind == PROVIDER):
        raise AccountError(f"{role.label} is not a role in {org.display_name}: provider roles are for the "
                           "provider's people, customer roles for customers'.")
    email = service.normalise_email(email)
    index = service.email_index(session, email)  # once for the lookup and the new account
    existing = [u for u in service.users_with_email(session, index=index) if u.org_id == org.id]
    if existing and existing[0].status != "invited":
        send(session, email, "already_member", org_name=org.name, inviter_email=inviter.email)
        service.record(session, Actor(inviter, ip), "invitation.existing_member", existing[0])
        session.commit()
        return
    if not existing and pending_invitations(session, org) >= max_pending:
        raise AccountError(f"{max_pending} invitations are waiting to be accepted. Wait until some are accepted "
                           f"or expire (after {INVITE_TTL.days} days) before inviting more people.")
    invitee = existing[0] if existing else service.create_user(session, org, email, role, status="invited",
                                                               index=index)
    invitee.role = role.value
    token = service.issue_token(session, invitee, "invite", INVITE_TTL)
    send(session, email, "invitation", token=token, org_name=org.name, inviter_email=inviter.email,
         role=role.label, days=INVITE_TTL.days)
    service.record(session, Actor(inviter, ip), "invitation.sent", invitee, role=role.value)
    session.commit()


def pending_invitations(session: Session, org: Organisation) -> int:
    """Invitations to `org` whose link still works."""
    live = (select(func.count(func.distinct(User.id))).join(AccountToken, AccountToken.user_id == User.id)
            .where(User.org_id == org.id, User.status == "invited", AccountToken.purpose == "invite",
                   AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow()))
    return session.scalar(live) or 0


def accept_invitation(session: Session, raw_token: str, first_name: str, last_name: str, password: str,
                      ip: str | None) -> User:
    """Activate an invited account with the invitee's name and password."""
    user = service.token_user(session, raw_token, "invite")
    if user is None or user.status != "invited":
        raise AccountError("This invitation has expired or has already been used. Ask for a new one.")
    user.first_name, user.last_name = (first_name or "").strip() or None, (last_name or "").strip() or None
    service.set_password(session, user, password)  # raises before the token is spent
    service.redeem_token(session, raw_token, "invite")
    user.status = "active"
    service.record(session, Actor(user, ip), "invitation.accepted", user)
    session.commit()
    return user


def request_password_reset(session: Session, email: str, ip: str | None) -> None:
    """Queue a reset request for the worker; the same work whether or not the address has an account."""
    try:
        email = service.normalise_email(email)
    except AccountError:
        return  # depends on the text typed, never on the accounts
    session.add(ResetRequest(email=email, ip=ip))
    session.commit()


def process_reset_requests(session: Session, send: Mailer, batch: int = 50) -> int:
    """Answer every queued reset request, a batch per transaction; returns how many were handled.

    Requests older than a link's lifetime are dropped first, in one statement:
    the person has given up, and a flood of junk must not keep real requests
    waiting behind it. Each request is claimed by deleting it (PostgreSQL skips
    rows another worker holds; on SQLite writers take turns), so two workers
    never send the same link.
    """
    session.execute(delete(ResetRequest).where(ResetRequest.created_at < utcnow() - RESET_TTL))
    session.commit()
    handled = 0
    while True:
        claimed = _answer_batch(session, send, batch)
        handled += claimed
        if claimed < batch:
            return handled


def _answer_batch(session: Session, send: Mailer, batch: int) -> int:
    due = select(ResetRequest).order_by(ResetRequest.created_at).limit(batch).with_for_update(skip_locked=True)
    handled = 0
    for request in list(session.scalars(due)):
        try:
            email, ip = request.email, request.ip
        except CryptoError as error:  # unreadable (its key destroyed?): drop it, or it would block the rest
            log.warning("dropping unreadable password-reset request %s: %s", request.id, error)
            email = ip = None
        claimed = session.execute(delete(ResetRequest).where(ResetRequest.id == request.id)).rowcount == 1
        session.expunge(request)
        if claimed and email:
            _mail_reset_links(session, email, ip, send)
        handled += claimed
    session.commit()
    return handled


def _mail_reset_links(session: Session, email: str, ip: str | None, send: Mailer) -> None:
    users = service.active_users_with_email(session, email)  # an erased row never stalls the queue
    for user in users:
        token = service.issue_token(session, user, "reset", RESET_TTL)
        # To the address on the account, never to the text someone typed.
        send(session, user.email, "password_reset", token=token, minutes=int(RESET_TTL.total_seconds() // 60))
        service.record(session, Actor(None, ip), "password.reset_requested", user)
    if not users:
        # Audited too: useful to spot someone probing for addresses.
        service.record(session, Actor(None, ip), "password.reset_requested", None, known_account=False)


def purge_reset_requests(session: Session, older_than: dt.timedelta) -> int:
    """Requests no worker handled (none ran) are dropped with the other old records; the caller commits."""
    cutoff = utcnow() - older_than
    return session.execute(delete(ResetRequest).where(ResetRequest.created_at < cutoff)).rowcount or 0


def reset_password(session: Session, raw_token: str, password: str, send: Mailer, ip: str | None) -> User:
    """Set a new password from a reset link and sign the account out everywhere."""
    user = service.token_user(session, raw_token, "reset")
    if user is None:
        raise AccountError("This reset link has expired or has already been used. Ask for a new one.")
    service.set_password(session, user, password)
    service.redeem_token(session, raw_token, "reset")
    user.session_version += 1
    send(session, user.email, "password_changed")
    service.record(session, Actor(user, ip), "password.reset", user)
    session.commit()
    return user
