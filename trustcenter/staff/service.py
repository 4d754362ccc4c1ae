"""What staff may look up about customers, loaded through one guard."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustcenter.accounts.models import CUSTOMER, Organisation, User
from trustcenter.accounts.service import Actor, colleagues, record
from trustcenter.audit import service as audit
from trustcenter.staff.audit_view import Row, rows_for


def customer_organisations(session: Session) -> list[tuple[Organisation, int]]:
    """Customer organisations with their number of people; no personal data."""
    counts = (select(Organisation, func.count(User.id)).outerjoin(User, User.org_id == Organisation.id)
              .where(Organisation.kind == CUSTOMER).group_by(Organisation.id))
    # Names are sealed, so the database cannot sort them: sorted here, after opening.
    return sorted(((org, count) for org, count in session.execute(counts)),
                  key=lambda row: row[0].display_name.casefold())


def all_organisations(session: Session) -> list[Organisation]:
    """The provider first, then customers by name (opened here: names are sealed)."""
    return sorted(session.scalars(select(Organisation)),
                  key=lambda org: (org.kind == CUSTOMER, org.display_name.casefold()))


def get_customer_for(viewer: User, session: Session, org_id: str) -> Organisation | None:
    """The customer organisation `org_id` if `viewer` works for the provider; None otherwise (answer 404)."""
    if not viewer.role_enum.is_provider or len(org_id) > 36:
        return None
    org = session.get(Organisation, org_id)
    return org if org is not None and org.kind == CUSTOMER else None


def people_of(session: Session, viewer: User, org: Organisation, ip: str | None) -> list[User]:
    """The customer's people with their personal data; every such view is audited."""
    people = colleagues(session, org.id)
    record(session, Actor(viewer, ip), "personal_data.viewed", org, people=len(people))
    session.commit()
    return people


def browse_audit_log(session: Session, viewer: User, ip: str | None, filters: dict[str, Any],
                     before_id: int | None, page_size: int) -> tuple[list[Row], bool]:
    """A page of the audit log, newest first, people named, and whether older entries exist; reading it is audited."""
    entries = audit.search(session, before_id=before_id, limit=page_size + 1, **filters)
    rows = rows_for(session, entries[:page_size])
    audit.record(session, "audit.viewed", actor_id=viewer.id, actor_label=viewer.role, ip=ip,
                 details={k: str(v) for k, v in filters.items() if v} or None)
    session.commit()
    return rows, len(entries) > page_size
