"""Signed-in sessions: loading the user, rotation at sign-in, idle and absolute timeouts."""

from __future__ import annotations

import datetime as dt
import secrets
import time

from flask import Flask, Request, current_app, flash, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import joinedload

from trustcenter.access import MFA_SESSION_KEY, PROOF_SESSION_KEY
from trustcenter.accounts import service
from trustcenter.accounts.models import EndedSession, User
from trustcenter.extensions import db, login_manager
from trustcenter.pagecache import is_anonymous_request

PENDING_MFA_KEY = "pending_mfa"
# The user id whose session may enrol a first authenticator (set by an invitation or an enrolment link).
ENROLMENT_KEY = "may_enrol"


# The viewer, their organisation (nearly every page shows its name) and whether this session was
# ended (signed out of, or upgraded by the second factor): one query on every signed-in request,
# so its statement is built once, not per request; building it cost more than running it.
VIEWER_QUERY = (select(User, exists().where(EndedSession.sid_hash == bindparam("sid_hash")))
                .options(joinedload(User.org)).where(User.id == bindparam("user_id")))


def load_user(session_id: str) -> User | None:
    """Session ids are `user-id:session-version`; a bumped version kills every older session.

    One query: the user, their organisation, and whether this session was signed out of.
    """
    user_id, _, version = session_id.partition(":")
    sid = session.get("sid")
    if not user_id or not sid:
        return None
    row = db.session().execute(VIEWER_QUERY, {"user_id": user_id, "sid_hash": service.secret_digest(sid)}).first()
    if row is None:
        return None
    user, signed_out = row
    if signed_out or not user.is_active or str(user.session_version) != version:
        return None
    return user


def start_session(user: User, second_factor_done: bool) -> None:
    """Replace whatever session the browser had (no fixation) and sign `user` in."""
    session.clear()
    session["sid"] = secrets.token_urlsafe(16)
    session["login_at"] = session["seen_at"] = session[PROOF_SESSION_KEY] = int(time.time())
    session[MFA_SESSION_KEY] = second_factor_done
    session.permanent = True
    login_user(user)


def mark_second_factor_done() -> None:
    """Passing the second factor is a privilege change: rotate the session id again.

    The password-only session ends for good, so a copy of its cookie cannot be
    finished with a code later.
    """
    _record_ended_session()
    db.session().commit()
    session["sid"] = secrets.token_urlsafe(16)
    session[MFA_SESSION_KEY] = True
    session.pop(ENROLMENT_KEY, None)
    note_proof()


def note_proof() -> None:
    """The person just proved who they are (a code, or the password again)."""
    session[PROOF_SESSION_KEY] = int(time.time())


def allow_enrolment(user: User) -> None:
    session[ENROLMENT_KEY] = user.id


def may_enrol(user: User) -> bool:
    """Anyone may add a second factor of their own accord; those who must have one, only when allowed."""
    return not user.mfa_required or session.get(ENROLMENT_KEY) == user.id


def end_session() -> None:
    logout_user()
    session.clear()


def sign_out() -> None:
    """End this session here and for any copy of its cookie, until it would have expired anyway."""
    _record_ended_session()
    db.session().commit()
    end_session()


def _record_ended_session() -> None:
    if "sid" in session and "login_at" in session:
        expires = session["login_at"] + current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
        service.end_session_for_good(db.session(), session["sid"],
                                     dt.datetime.fromtimestamp(expires, dt.timezone.utc))


def enforce_timeouts() -> None:
    """Sign out after `SESSION_IDLE_MINUTES` of inactivity or `SESSION_ABSOLUTE_HOURS` in all."""
    if is_anonymous_request() or "login_at" not in session:
        return
    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
    if now - session.get("seen_at", 0) > idle or now - session["login_at"] > absolute:
        end_session()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        return
    if now - session.get("seen_at", 0) > 60:  # avoid rewriting the cookie on every request
        session["seen_at"] = now


class CookieOnlySessionInterface(SecureCookieSessionInterface):
    """Open no signed session when the browser sent no session cookie (most public requests)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def init_sessions(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = None  # we rotate and time out sessions ourselves
    app.before_request(enforce_timeouts)


__all__ = ["allow_enrolment", "current_user", "end_session", "init_sessions", "mark_second_factor_done", "may_enrol",
           "note_proof", "sign_out", "start_session"]
