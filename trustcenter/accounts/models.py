"""Organisations (tenants), their users, one-time tokens and recovery codes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustcenter.accounts.roles import MFA_REQUIRED, Role
from trustcenter.crypto import KeyDestroyed, encrypted
from trustcenter.db import new_id, utcnow
from trustcenter.db import Base

CUSTOMER, PROVIDER = "customer", "provider"
ERASED = "erased"  # a user status: the person's data key is destroyed
ERASED_PERSON, ERASED_ORGANISATION = "Erased person", "Erased organisation"
ROLES = {role.value: role for role in Role}


class Organisation(Base):
    """A customer company (a data controller), or the provider running the site."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # A data key of the tenant's own: erasing the tenant erases its name too.
    data_key_id: Mapped[str] = mapped_column(String(36))
    # HMAC of the name's comparison key (accounts.naming): unique, and found without storing it in clear.
    name_index: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=CUSTOMER)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    name = encrypted[str](nullable=False)

    users: Mapped[list[User]] = relationship(back_populates="org")

    # Every UPDATE checks the data key the row was loaded with: a write prepared before a key rotation
    # (or an erasure) moved the row fails loudly instead of sealing under a key that is going away.
    __mapper_args__ = {"version_id_col": data_key_id, "version_id_generator": False}

    @property
    def display_name(self) -> str:
        """The name, or a plain word when the tenant was erased (its key destroyed): never a crash on a page."""
        try:
            return self.name or ERASED_ORGANISATION
        except KeyDestroyed:
            return ERASED_ORGANISATION


class User(Base):
    """A person who signs in. Every personal field is sealed under the person's own data key."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email_index"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    data_key_id: Mapped[str] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")  # invited, active, disabled
    # HMAC of the normalised address: exact lookup without storing it in clear.
    email_index: Mapped[str] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by "sign out everywhere" and password changes: older sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # GDPR Art. 18: set while processing is restricted; no optional mail, nothing sent to third parties.
    restricted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # GDPR Art. 21: the processing this person objected to and we stopped, e.g. "update_mail" (space-separated).
    objections: Mapped[str] = mapped_column(String(200), default="", server_default="")

    email = encrypted[str]()
    first_name = encrypted[str]()
    last_name = encrypted[str]()
    username = encrypted[str]()
    country = encrypted[str]()
    state = encrypted[str]()
    timezone = encrypted[str]()
    company_name = encrypted[str]()
    address = encrypted[str]()
    phone = encrypted[str]()  # a mobile number in E.164 form, for breach notices by SMS
    last_login_ip = encrypted[str]()
    stripe_customer_id = encrypted[str]()
    totp_secret = encrypted[str]()

    org: Mapped[Organisation] = relationship(back_populates="users")

    __mapper_args__ = {"version_id_col": data_key_id, "version_id_generator": False}  # as on Organisation

    # flask-login's interface, kept here so the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def role_enum(self) -> Role:
        return ROLES.get(self.role) or Role(self.role)  # the dict first: an Enum call costs ten times more

    @property
    def mfa_required(self) -> bool:
        return self.role_enum in MFA_REQUIRED

    @property
    def is_erased(self) -> bool:
        """True once the person's data key is destroyed: every personal value of theirs is gone."""
        if self.status == ERASED:
            return True
        try:
            _ = self.email
        except KeyDestroyed:
            return True
        return False

    @property
    def display_name(self) -> str:
        if self.is_erased:
            return ERASED_PERSON
        first, last = self.first_name, self.last_name
        return (f"{first} {last}" if first and last else first or last) or self.email or "Unnamed user"


class AccountToken(Base):
    """A single-use, expiring token for an invitation or a password reset; only its hash is kept."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite, reset
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EndedSession(Base):
    """A session its holder signed out of: a copy of its cookie is refused until it would have expired anyway.

    Session cookies are signed, not stored; without this, "sign out" would only
    make the browser forget a cookie that still worked elsewhere.
    """

    __tablename__ = "ended_sessions"

    sid_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ResetRequest(Base):
    """A password-reset request waiting for the worker, which alone looks the address up.

    The web request stores this and nothing else, whether or not the address has
    an account, so its answer and its timing are the same either way. The
    address and source IP are sealed under the service's own data key; the row
    is deleted once handled.
    """

    __tablename__ = "reset_requests"
    __system_key__ = "reset_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    data_key_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)

    email = encrypted[str]()
    ip = encrypted[str]()


class RecoveryCode(Base):
    """A hashed, single-use MFA recovery code."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
