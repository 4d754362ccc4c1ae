"""What goes into each kind of document: the drafts `service.issue` renders and signs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.accounts.models import Organisation
from trustcenter.attestations.models import KIND_LABELS, Kind
from trustcenter.attestations.service import Draft, cache_key_of
from trustcenter.evidence.claims import POLICY_ANCHORS, password_policy
from trustcenter.faq.content import Content
from trustcenter.notices.models import Incident
from trustcenter.requests.models import Kind as RequestKind
from trustcenter.requests.models import RightsRequest, State

# Every register lists at most this many entries; a longer period is refused with a clear message.
MAX_REGISTER_ROWS = 5000
MAX_PERIOD_DAYS = 3 * 366
DONE = {
    RequestKind.QUERY: "The data query {ref} was answered",
    RequestKind.ACCESS: "A copy of the personal data requested under Article 15 ({ref}) was provided",
    RequestKind.RECTIFICATION: "The rectification requested under Article 16 ({ref}) was made",
    RequestKind.ERASURE: "The erasure of the personal data requested under Article 17 ({ref}) was completed",
    RequestKind.RESTRICTION: "The restriction of processing requested under Article 18 ({ref}) was applied",
    RequestKind.PORTABILITY: "The personal data requested under Article 20 ({ref}) was provided for portability",
    RequestKind.OBJECTION: "The objection under Article 21 ({ref}) was upheld and processing stopped",
}


class PeriodError(ValueError):
    """A register period that cannot be reported: the message says what to choose instead."""


def posture(content: Content, org: Organisation | None, evidence: Sequence[Any], evidence_digest: str,
            published_on: dt.date | None = None) -> Draft:
    """The FAQ of `content` with the live evidence, for one customer (or for the company itself)."""
    prepared_for = org.name if org is not None else content.site.company
    sections = ([content.introduction] if content.introduction else []) + list(content.sections)
    return Draft(
        kind=Kind.POSTURE, title=KIND_LABELS[Kind.POSTURE], template="posture.html",
        context={"sections": sections, "evidence": list(evidence), "prepared_for": prepared_for,
                 "policy": password_policy(), "policy_anchors": POLICY_ANCHORS,
                 "content_version": content.version,
                 "published_on": f"{published_on:%-d %B %Y}" if published_on else None},
        cache_key=cache_key_of(Kind.POSTURE.value, org.id if org else "", content.version, evidence_digest),
        org_id=org.id if org else None, data_key_id=org.data_key_id if org else None,
        prepared_for=prepared_for, content_version=content.version)


def certificate(request: RightsRequest, org: Organisation) -> Draft:
    """'Erasure of … completed on …': for a completed request, sealed under the request's own key."""
    if request.state_enum is not State.COMPLETED or request.closed_at is None:
        raise ValueError("only a completed request has a fulfilment certificate")
    completed_on = request.closed_at.date()
    statement = (DONE[request.kind_enum].format(ref=request.reference)
                 + f" for {request.requester_name or 'the requester'} on {completed_on:%-d %B %Y}.")
    return Draft(
        kind=Kind.CERTIFICATE, title=f"{KIND_LABELS[Kind.CERTIFICATE]} {request.reference}",
        template="certificate.html",
        context={"statement": statement, "reference": request.reference, "kind_label": request.kind_enum.label,
                 "organisation": org.name, "received_on": f"{request.received_on:%-d %B %Y}",
                 "due_on": f"{request.due_on:%-d %B %Y}", "completed_on": f"{completed_on:%-d %B %Y}",
                 "on_time": completed_on <= request.due_on, "outcome": request.outcome},
        cache_key=cache_key_of(Kind.CERTIFICATE.value, request.id, request.closed_at.isoformat()),
        org_id=request.org_id, request_id=request.id, data_key_id=request.data_key_id, prepared_for=org.name)


def check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise PeriodError("The period ends before it starts: choose an end date on or after the start date.")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise PeriodError("Choose a period of at most three years; make one report per year for longer ones.")


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    utc = dt.timezone.utc
    return dt.datetime.combine(start, dt.time(), utc), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc)


def _period_text(start: dt.date, end: dt.date) -> str:
    return f"{start:%-d %B %Y} to {end:%-d %B %Y}"


def request_register(session: Session, start: dt.date, end: dt.date, today: dt.date) -> Draft:
    """Every rights request received in the period: what was asked, by which customer, and how it ended."""
    check_period(start, end)
    requests = list(session.scalars(
        select(RightsRequest).where(RightsRequest.received_on >= start, RightsRequest.received_on <= end,
                                    RightsRequest.state != State.UNCONFIRMED.value)
        .order_by(RightsRequest.received_on, RightsRequest.id).limit(MAX_REGISTER_ROWS + 1)))
    if len(requests) > MAX_REGISTER_ROWS:
        raise PeriodError(f"More than {MAX_REGISTER_ROWS} requests in this period: choose a shorter one.")
    names = _organisation_names(session, {r.org_id for r in requests})
    rows, late, still_open = [], 0, 0
    for request in requests:
        closed = request.closed_at.date() if request.closed_at else None
        overdue = (closed or today) > request.due_on and (request.state_enum is State.COMPLETED
                                                          or request.state_enum.is_open)
        late += overdue
        still_open += request.state_enum.is_open
        rows.append((request.reference, names.get(request.org_id, ""), request.kind_enum.label,
                     f"{request.received_on:%Y-%m-%d}", f"{request.due_on:%Y-%m-%d}",
                     f"{closed:%Y-%m-%d}" if closed else "", request.state_enum.label, "late" if overdue else ""))
    fingerprint = [(r.id, r.state, r.closed_at, r.due_on) for r in requests]
    return _register(Kind.REQUEST_REGISTER, start, end, rows, fingerprint, today, {
        "headings": ("Reference", "Customer", "Right", "Received", "Due", "Closed", "State", "Deadline"),
        "summary": (("Still open", str(still_open)), ("Past their deadline", str(late))),
        "explanation": "Requests from data subjects and customers under Articles 12 to 22 GDPR, received in the "
                       "period, with the date each was due (one month, or as extended under Article 12(3)) and "
                       "how it ended. Names and contact details of requesters are left out."})


def breach_register(session: Session, start: dt.date, end: dt.date, today: dt.date) -> Draft:
    """Every incident the company became aware of in the period (Article 33(5)), with its two clocks."""
    check_period(start, end)
    since, until = _bounds(start, end)
    incidents = list(session.scalars(
        select(Incident).where(Incident.aware_at >= since, Incident.aware_at < until)
        .order_by(Incident.aware_at, Incident.id).limit(MAX_REGISTER_ROWS + 1)))
    if len(incidents) > MAX_REGISTER_ROWS:
        raise PeriodError(f"More than {MAX_REGISTER_ROWS} incidents in this period: choose a shorter one.")
    rows = [(i.reference, f"{i.aware_at:%Y-%m-%d %H:%M}", i.title, i.severity_enum.label, i.status_enum.label,
             f"{i.authority_notified_at:%Y-%m-%d %H:%M}" if i.authority_notified_at else "not notified",
             f"{i.customers_notified_at:%Y-%m-%d %H:%M}" if i.customers_notified_at else "not notified")
            for i in incidents]
    fingerprint = [(i.id, i.status, i.updated_at) for i in incidents]
    return _register(Kind.BREACH_REGISTER, start, end, rows, fingerprint, today, {
        "headings": ("Reference", "Aware (UTC)", "Incident", "Severity", "Status", "Authority told",
                     "Customers told"),
        "summary": (("Authority notified", str(sum(i.authority_notified_at is not None for i in incidents))),),
        "explanation": "Personal data breaches and suspected breaches the company became aware of in the period, "
                       "as Article 33(5) GDPR asks it to document, with when the supervisory authority and the "
                       "affected customers were told (times in UTC)."})


def _register(kind: Kind, start: dt.date, end: dt.date, rows: list[tuple[str, ...]], fingerprint: Any,
              today: dt.date, context: dict[str, Any]) -> Draft:
    return Draft(kind=kind, title=KIND_LABELS[kind], template="register.html",
                 context={"rows": rows, "period_text": _period_text(start, end), **context},
                 cache_key=cache_key_of(kind.value, start, end, today if end >= today else "", fingerprint),
                 period=(start, end))


def _organisation_names(session: Session, org_ids: set[str]) -> dict[str, str]:
    if not org_ids:
        return {}
    return {org.id: org.name for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}


def recently_completed(session: Session, limit: int = 50) -> list[RightsRequest]:
    """The DPO's list of requests with a fulfilment certificate to download, newest first."""
    return list(session.scalars(select(RightsRequest).where(RightsRequest.state == State.COMPLETED.value)
                                .order_by(RightsRequest.closed_at.desc()).limit(limit)))
