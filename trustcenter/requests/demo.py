"""Synthetic demo requests, so a new installation shows a queue with every kind of due date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.accounts.models import User
from trustcenter.accounts.service import users_with_email
from trustcenter.db import utcnow
from trustcenter.requests import service
from trustcenter.requests.models import Kind, RightsRequest, State
from trustcenter.requests.service import Clock, Mailer, Viewer

# requester, kind, answers, days ago, the staff move made since (None: none yet), its message
DEMO_REQUESTS = [
    ("tom.member@northwind.example", Kind.ACCESS, {}, 33, None, ""),
    ("omar.member@bluebell.example", Kind.RECTIFICATION, {"field": "address", "correction": "14 rue de l'Exemple"},
     26, State.ACKNOWLEDGED, ""),
    ("lena.admin@bluebell.example", Kind.QUERY, {"question": "Which subprocessors see our patients' data?"},
     12, State.AWAITING_REQUESTER, "Could you tell us which product module you mean?"),
    ("priya.admin@northwind.example", Kind.OBJECTION,
     {"processing": "update_mail", "grounds": "We follow the changelog feed instead."}, 3, None, ""),
    ("tom.member@northwind.example", Kind.QUERY, {"question": "How long are backups kept?"}, 40, State.COMPLETED,
     "Backups are kept for 35 days, then deleted; see the FAQ's data retention section."),
]
STAFF_EMAIL = "support@cloudstem.example"


def load_requests(session: Session, the_clock: Clock, send: Mailer, staff_inbox: str) -> Iterator[str]:
    """File the demo requests once, back-dated so the queue shows overdue, due-soon and on-track ones."""
    if session.scalar(select(RightsRequest.id).limit(1)) is not None:
        return
    staff = _person(session, STAFF_EMAIL)
    if staff is None:
        return
    for email, kind, answers, days_ago, move, message in DEMO_REQUESTS:
        requester = _person(session, email)
        if requester is None:
            continue
        filed = service.file_request(session, Viewer(requester), kind, answers, the_clock, send, staff_inbox,
                                     now=utcnow() - dt.timedelta(days=days_ago))
        if move is not None:
            service.move(session, Viewer(staff), filed, move, message, the_clock, send)
    yield f"Filed {len(DEMO_REQUESTS)} demo requests (see /staff/requests)."


def _person(session: Session, email: str) -> User | None:
    found = users_with_email(session, email)
    return found[0] if found else None
