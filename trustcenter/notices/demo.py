"""A synthetic demo incident and subprocessor change, so a new installation shows the register and the banner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.accounts.models import Organisation, User
from trustcenter.accounts.service import users_with_email
from trustcenter.db import utcnow
from trustcenter.notices import service, subprocessors
from trustcenter.notices.models import Incident, Phase, Severity, Status

DPO_EMAIL = "dpo@cloudstem.example"
STAFF_EMAIL = "support@cloudstem.example"
AFFECTED_CUSTOMER_ADMIN = "priya.admin@northwind.example"


def load_notices(session: Session) -> Iterator[str]:
    """Once: a closed low-severity incident nobody had to be told of, and an open one with a published notice
    to one demo customer; and a subprocessor change with its objection window open."""
    if session.scalar(select(Incident.id).limit(1)) is not None:
        return
    dpo, staff, customer = (_person(session, email) for email in (DPO_EMAIL, STAFF_EMAIL, AFFECTED_CUSTOMER_ADMIN))
    if dpo is None or staff is None or customer is None:
        return
    now = utcnow()
    old = service.record_incident(
        session, service.Actor(staff), service.Facts(
            "Misdirected invoice e-mail", "An invoice PDF was e-mailed to the wrong contact at the right customer.",
            people_affected="1 customer contact", records_affected="1 invoice",
            consequences="None likely: the recipient works for the same customer and deleted it.",
            measures="Recipient confirmed deletion; invoice contacts are now checked twice.",
            contact=DPO_EMAIL), Severity.LOW, now - dt.timedelta(days=40), [customer.org_id],
        now=now - dt.timedelta(days=40))
    service.update_incident(session, service.Actor(staff), old, service.Facts(
        old.title, old.nature, old.people_affected or "", old.records_affected or "", old.consequences or "",
        old.measures or "", old.contact or ""), Severity.LOW, Status.CONFIRMED, [customer.org_id])
    service.close_incident(session, service.Actor(staff), old)
    current = service.record_incident(
        session, service.Actor(dpo), service.Facts(
            "Support mailbox readable by a former contractor",
            "A former contractor's access to the shared support mailbox was not removed for 9 days.",
            people_affected="About 40 customer contacts who wrote to support", records_affected="About 120 e-mails",
            consequences="Low: no access was found in the mailbox's log.",
            measures="Access removed; leaver checklist now covers the mailbox.", contact=DPO_EMAIL),
        Severity.MEDIUM, now - dt.timedelta(hours=20), [customer.org_id])
    notice = service.draft_notice(session, service.Actor(dpo), current, Phase.INITIAL, current.title,
                                  "A former contractor could read our shared support mailbox for 9 days.\n\n"
                                  "We found no sign that they did. If you sent us passwords by e-mail, change them.")
    service.publish(session, service.Actor(dpo), current, notice)
    org = session.get(Organisation, customer.org_id)
    subprocessors.announce(session, staff, None, "Northstar Mail Relay Ltd", "Added for transactional e-mail",
                           "Hosted in Ireland (EU).")
    yield (f"Recorded 2 demo incidents; a notice is published to {org.display_name if org else 'a customer'} "
           "(see /staff/incidents); 1 subprocessor change announced.")


def _person(session: Session, email: str) -> User | None:
    found = users_with_email(session, email)
    return found[0] if found else None
