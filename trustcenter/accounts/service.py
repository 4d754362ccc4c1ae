"""Accounts: organisations, users, sign-in, tokens, second factor, profile.

Everything here runs without a request; routes pass in what they parsed.
Security-relevant changes are audited in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from trustcenter.audit import service as audit
from trustcenter.accounts import places
from trustcenter.accounts.models import CUSTOMER, PROVIDER, AccountToken, EndedSession, Organisation, User
from trustcenter.accounts.naming import MAX_NAME_LENGTH, clean_organisation_name, organisation_name_key
from trustcenter.accounts.passwords import PASSWORDS_INFO, Passwords, problems
from trustcenter.accounts.roles import Role
from trustcenter.addresses import InvalidAddress
from trustcenter.addresses import normalise_email as normalise_address
from trustcenter.crypto import keys_of
from trustcenter.crypto.keystore import TENANT
from trustcenter.db import as_utc, new_id, utcnow

INVITE_TTL = dt.timedelta(days=7)
RESET_TTL = dt.timedelta(hours=1)
# The personal fields a person may see and correct (GDPR Art. 16).
PROFILE_FIELDS = ("first_name", "last_name", "username", "country", "state", "timezone", "company_name", "address",
                  "phone")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164


def normalise_phone(value: str) -> str:
    """+44 (0)7700 900-123 style punctuation goes; the digits and the leading + stay."""
    return re.sub(r"\(0\)|[\s().-]", "", value)


class AccountError(ValueError):
    """A request that cannot be carried out; the message is safe to show."""


@dataclass(frozen=True)
class Actor:
    """Who is doing something, for the audit log."""

    user: User | None = None
    ip: str | None = None

    @property
    def audit_fields(self) -> dict[str, Any]:
        return {
            "actor_id": self.user.id if self.user else None,
            "actor_label": self.user.role if self.user else "system",
            "ip": self.ip,
        }


def record(session: Session, actor: Actor, action: str, subject: User | Organisation | None = None,
           **details: Any) -> None:
    """Audit `action` by `actor` on `subject`, in the caller's transaction."""
    org_id = subject.org_id if isinstance(subject, User) else getattr(subject, "id", None)
    # `__class__`, not `type()`: the subject may be Flask-Login's `current_user` proxy.
    audit.record(session, action, subject_type=subject.__class__.__name__.lower() if subject else None,
                 subject_id=subject.id if subject else None, org_id=org_id,
                 details=details or None, **actor.audit_fields)


# -- organisations and users ------------------------------------------------

def passwords_of(session: Session) -> Passwords:
    """The application's password hasher, carried by its sessions."""
    return session.info[PASSWORDS_INFO]


def organisation_index(session: Session, name: str) -> str:
    return keys_of(session).blind_index(organisation_name_key(name))


def create_organisation(session: Session, name: str, kind: str = CUSTOMER) -> Organisation:
    """A tenant with a key of its own, and a data key for its own records (its name first)."""
    name = clean_organisation_name(name)
    if not name or len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"An organisation needs a name of 1 to {MAX_NAME_LENGTH} characters.")
    index = organisation_index(session, name)
    if session.scalar(select(Organisation.id).where(Organisation.name_index == index)):
        raise AccountError(f"An organisation called {name!r} already exists.")
    keys = keys_of(session)
    org = Organisation(id=new_id(), kind=kind, name=name, name_index=index)
    keys.create_tenant_key(org.id)
    org.data_key_id = keys.create_data_key(org.id, TENANT)
    session.add(org)
    session.flush()
    return org


def organisation_named(session: Session, name: str) -> Organisation | None:
    index = organisation_index(session, name)
    return session.scalars(select(Organisation).where(Organisation.name_index == index)).first()


def provider_organisation(session: Session, name: str) -> Organisation:
    """The company running the trust center; its people are staff, DPO and administrators."""
    org = session.scalars(select(Organisation).where(Organisation.kind == PROVIDER)).first()
    return org or create_organisation(session, name, PROVIDER)


def email_index(session: Session, normalised: str) -> str:
    """The blind index of an address already put through `normalise_email`."""
    return keys_of(session).blind_index(normalised)


def normalise_email(email: str) -> str:
    """The one address rule (trustcenter.addresses), with the accounts' error type."""
    try:
        return normalise_address(email)
    except InvalidAddress as error:
        raise AccountError(str(error)) from None


def create_user(session: Session, org: Organisation, email: str, role: Role | str, password: str | None = None,
                status: str = "active", index: str | None = None, **profile: str | None) -> User:
    """Create a person with a data key of their own, so they can be erased on their own.

    Pass `index` when the caller has computed the address's blind index already.
    """
    role = Role(role)
    if role.is_provider != (org.kind == PROVIDER):
        raise AccountError(f"The role {role.label} does not belong in {org.name}.")
    email = normalise_email(email)
    index = index or email_index(session, email)
    if session.scalar(select(User.id).where(User.org_id == org.id, User.email_index == index)):
        raise AccountError("That e-mail address already has an account in this organisation.")
    unknown = set(profile) - set(PROFILE_FIELDS + ("stripe_customer_id",))
    if unknown:
        raise AccountError(f"Unknown profile field {sorted(unknown)[0]!r}.")
    user = User(org=org, role=role.value, status=status, email_index=index, email=email,
                data_key_id=keys_of(session).create_data_key(org.id),
                **{name: value or None for name, value in profile.items()})
    if password is not None:
        set_password(session, user, password)
    session.add(user)
    session.flush()
    return user


def users_with_email(session: Session, email: str | None = None, *, index: str | None = None) -> list[User]:
    """People with this address, in any organisation; pass `index` when the caller has computed it."""
    if index is None:
        try:
            index = email_index(session, normalise_email(email or ""))
        except AccountError:
            return []
    return list(session.scalars(select(User).where(User.email_index == index)))


def active_users_with_email(session: Session, email: str | None = None, *, index: str | None = None) -> list[User]:
    """The people with this address who may sign in or get a link.

    Not erased either: an erased person's row may come back with a restored backup (or an erasure
    that stopped halfway), and their destroyed key still refuses them.
    """
    return [u for u in users_with_email(session, email, index=index) if u.status == "active" and not u.is_erased]


def set_password(session: Session, user: User, password: str) -> None:
    found = problems(password, (user.email or "", user.first_name or "", user.last_name or "",
                                user.org.name if user.org else ""))
    if found:
        raise AccountError(found[0])
    user.password_hash = passwords_of(session).hash(password)


# -- signing in -------------------------------------------------------------

def authenticate(session: Session, email: str, password: str, ip: str | None,
                 index: str | None = None) -> User | None:
    """The active user with this address and password, or None; same work either way.

    Pass `index` (the address's blind index) when the caller has computed it already.
    """
    hasher = passwords_of(session)
    candidates = active_users_with_email(session, email, index=index)
    user = next((u for u in candidates if hasher.verify(u.password_hash, password)), None)
    if not candidates:
        hasher.verify(None, password)  # as slow as a real check
    if user is None:
        subject = candidates[0] if candidates else None
        record(session, Actor(None, ip), "login.failure", subject, reason="bad credentials")
        session.commit()
        return None
    if user.password_hash and hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def complete_login(session: Session, user: User, ip: str | None, method: str) -> None:
    user.last_login_at = utcnow()
    user.last_login_ip = ip
    record(session, Actor(user, ip), "login.success", user, method=method)
    session.commit()


def sign_out_everywhere(session: Session, user: User, ip: str | None) -> None:
    """Invalidate every session of this user, including copied cookies."""
    user.session_version += 1
    record(session, Actor(user, ip), "session.revoked_all", user)
    session.commit()


# -- ended sessions -----------------------------------------------------------

def end_session_for_good(session: Session, sid: str, expires_at: dt.datetime) -> None:
    """Refuse this session id until `expires_at`, when its cookie is refused anyway; the caller commits."""
    session.merge(EndedSession(sid_hash=secret_digest(sid), expires_at=expires_at))


def purge_ended_sessions(session: Session, older_than: dt.timedelta) -> int:
    """Records of ended sessions whose cookies have expired anyway; the caller commits."""
    del older_than  # their own expiry decides, not the retention period
    return session.execute(delete(EndedSession).where(EndedSession.expires_at < utcnow())).rowcount or 0


# -- one-time tokens --------------------------------------------------------

def secret_digest(raw: str) -> str:
    """What we store of a token or session id: finding it again needs the original."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(session: Session, user: User, purpose: str, ttl: dt.timedelta) -> str:
    """A 256-bit random token; only its hash is stored. Older tokens of the same purpose die."""
    for old in session.scalars(select(AccountToken).where(AccountToken.user_id == user.id,
                                                          AccountToken.purpose == purpose,
                                                          AccountToken.used_at.is_(None))):
        old.used_at = utcnow()
    raw = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=secret_digest(raw),
                             expires_at=utcnow() + ttl))
    session.flush()
    return raw


def valid_token(session: Session, raw: str, purpose: str) -> AccountToken | None:
    """The unused, unexpired token for `raw`, if any."""
    if not raw or len(raw) > 100:
        return None
    token = session.scalars(select(AccountToken).where(AccountToken.token_hash == secret_digest(raw),
                                                       AccountToken.purpose == purpose)).first()
    if token is None or token.used_at is not None or as_utc(token.expires_at) < utcnow():
        return None
    return token


def token_user(session: Session, raw: str, purpose: str) -> User | None:
    token = valid_token(session, raw, purpose)
    return session.get(User, token.user_id) if token else None


def redeem_token(session: Session, raw: str, purpose: str) -> User:
    """Mark the token used and return its user; raise when it is not valid any more.

    One conditional UPDATE spends it: of two requests with the same link at the
    same moment, only one changes the row, and the other is refused.
    """
    spent = session.execute(update(AccountToken).where(
        AccountToken.token_hash == secret_digest(raw or ""), AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow(),
    ).values(used_at=utcnow()).returning(AccountToken.user_id), execution_options={"synchronize_session": False})
    user_id = spent.scalar_one_or_none()
    if user_id is None:
        raise AccountError("This link has expired or has already been used. Ask for a new one.")
    user = session.get(User, user_id)
    assert user is not None
    return user


# -- profile (GDPR Art. 16) ------------------------------------------------

def update_profile(session: Session, user: User, changes: dict[str, str | None], ip: str | None) -> list[str]:
    """Correct the user's own stored data; returns the names of the fields that changed."""
    cleaned = {name: (changes[name] or "").strip() or None for name in PROFILE_FIELDS if name in changes}
    if cleaned.get("phone"):
        cleaned["phone"] = normalise_phone(cleaned["phone"])
    # Unchanged values pass as they are, even one that predates today's rules; nothing is set until all pass.
    updates = {name: value for name, value in cleaned.items() if getattr(user, name) != value}
    for name, value in updates.items():
        check_profile_value(name, value)
    for name, value in updates.items():
        setattr(user, name, value)
    changed = list(updates)
    if changed:
        record(session, Actor(user, ip), "profile.updated", user, fields=changed)
    session.commit()
    return changed


def check_profile_value(name: str, value: str | None) -> None:
    """The rules the profile form shows, enforced here too: whatever calls the service gets the same answer."""
    label = name.replace("_", " ").capitalize()
    if value is None:
        if name == "first_name":
            raise AccountError("Enter your first name.")
        return
    if len(value) > 200:
        raise AccountError(f"{label} must be at most 200 characters.")
    if name == "country" and not places.is_country(value):
        raise AccountError("Choose a country from the list.")
    if name == "timezone" and not places.is_time_zone(value):
        raise AccountError("Choose a time zone from the list.")
    if name == "phone" and not PHONE.match(value):
        raise AccountError("Give the mobile number with its country code, such as +44 7700 900123.")


def colleagues(session: Session, org_id: str) -> list[User]:
    return list(session.scalars(select(User).where(User.org_id == org_id).order_by(User.created_at)))
