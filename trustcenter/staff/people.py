"""Administrators manage people: list, change roles, suspend and re-enable; every change audited.

Each person is loaded through `person_for`, which checks the viewer is an
administrator. A change that would leave no active administrator is refused,
so nobody can lock the provider out of its own trust center.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from trustcenter.accounts.models import PROVIDER, User
from trustcenter.accounts.roles import CUSTOMER_ROLES, PROVIDER_ROLES, Role
from trustcenter.accounts.service import AccountError, Actor, record

ACTIVE, SUSPENDED = "active", "disabled"


def everyone(session: Session, viewer: User, ip: str | None) -> list[User]:
    """Every account, provider first, then by organisation and name (opened here: names are sealed).

    The list shows customers' people too, so viewing it is audited like a customer's page.
    """
    people = sorted(session.scalars(select(User).options(joinedload(User.org))),
                    key=lambda u: (u.org.kind != PROVIDER, u.org.display_name.casefold(), u.display_name.casefold()))
    record(session, Actor(viewer, ip), "personal_data.viewed", None, page="people", people=len(people))
    session.commit()
    return people


def person_for(viewer: User, session: Session, user_id: str) -> User | None:
    """The account `user_id` if `viewer` is an administrator; None otherwise (answer 404)."""
    if viewer.role_enum is not Role.ADMIN or len(user_id) > 36:
        return None
    return session.get(User, user_id)


def roles_for(person: User) -> list[Role]:
    """Roles that fit the person's organisation: provider roles for the provider, customer roles otherwise."""
    allowed = PROVIDER_ROLES if person.org.kind == PROVIDER else CUSTOMER_ROLES
    return [role for role in Role if role in allowed]


def change_role(session: Session, admin: User, person: User, role: str, ip: str | None) -> None:
    new = Role(role) if role in {r.value for r in Role} else None
    if new is None or new not in roles_for(person):
        raise AccountError("Choose a role that fits the person's organisation.")
    if new is person.role_enum:
        return
    _keep_an_administrator(session, person, admin)
    old = person.role
    person.role = new.value
    person.session_version += 1  # a new role, a new sign-in: no session keeps the old privileges
    record(session, Actor(admin, ip), "user.role_changed", person, role_from=old, role_to=new.value)
    session.commit()


def suspend(session: Session, admin: User, person: User, ip: str | None) -> None:
    if person.status != ACTIVE:
        raise AccountError("Only an active account can be suspended.")
    if person.id == admin.id:
        raise AccountError("You cannot suspend your own account.")
    _keep_an_administrator(session, person, admin)
    person.status = SUSPENDED
    person.session_version += 1  # signed out everywhere at once
    record(session, Actor(admin, ip), "user.suspended", person)
    session.commit()


def reenable(session: Session, admin: User, person: User, ip: str | None) -> None:
    if person.status != SUSPENDED:
        raise AccountError("Only a suspended account can be re-enabled.")
    person.status = ACTIVE
    record(session, Actor(admin, ip), "user.reenabled", person)
    session.commit()


def _keep_an_administrator(session: Session, person: User, admin: User) -> None:
    """Refuse a change that takes away the last active administrator (or one's own administrator role)."""
    if person.role_enum is not Role.ADMIN or person.status != ACTIVE:
        return
    if person.id == admin.id:
        raise AccountError("You cannot take away your own administrator role; ask another administrator.")
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.status == ACTIVE, User.id != person.id))
    if not others:
        raise AccountError("This is the last active administrator; make someone else administrator first.")

