"""Everything held about a person, or a whole customer organisation, as plain data (no Flask imports).

The shape is `schema.SCHEMA`; docs/exports.md describes each field. Secrets (password hashes, TOTP
secrets, recovery codes, tokens) are never exported: an export says that they exist, not what they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, defer

from trustcenter.accounts.models import ERASED, Organisation, RecoveryCode, User
from trustcenter.accounts.service import PROFILE_FIELDS
from trustcenter.audit.models import AuditEntry
from trustcenter.crypto import keys_of
from trustcenter.notices.models import Incident, Notice, NoticeReceipt, Subscription
from trustcenter.requests import kinds
from trustcenter.requests.models import RequestAttachment, RequestEvent, RightsRequest

Progress = Callable[[int, int], None]  # (people done, people in all)
LOGIN_ACTIONS = ("login.success", "login.failure")


def stamp(moment: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601; times in UTC with their offset, so nobody has to guess the zone."""
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.astimezone(dt.timezone.utc).isoformat()
    return moment.isoformat()


def organisation_block(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.display_name, "kind": org.kind, "created_at": stamp(org.created_at)}


def people_of(session: Session, org: Organisation) -> list[User]:
    """Everyone of the organisation we still hold data about (an erased person's row holds none)."""
    return list(session.scalars(select(User).where(User.org_id == org.id, User.status != ERASED)
                                .order_by(User.created_at)))


def person_block(session: Session, person: User) -> dict[str, Any]:
    """One person: profile, role, security settings, sign-ins, audit entries, requests and preferences."""
    requests = list(session.scalars(select(RightsRequest).where(RightsRequest.requester_id == person.id)
                                    .order_by(RightsRequest.received_at)))
    # Every value below opens under the person's key or one of their requests' keys: unwrap them together.
    keys_of(session).data_aeads([person.data_key_id, *(each.data_key_id for each in requests)])
    entries = _audit_entries(session, person)
    messages, files = _threads(session, [each.id for each in requests])
    return {
        "id": person.id,
        "profile": {"email": person.email, **{name: getattr(person, name) for name in PROFILE_FIELDS},
                    "payment_customer_reference": person.stripe_customer_id},
        "account": {"role": person.role, "status": person.status, "created_at": stamp(person.created_at),
                    "last_sign_in_at": stamp(person.last_login_at), "last_sign_in_address": person.last_login_ip},
        "security": {
            "two_factor_enabled": bool(person.totp_enabled),
            "recovery_codes_left": session.scalar(select(func.count()).select_from(RecoveryCode).where(
                RecoveryCode.user_id == person.id, RecoveryCode.used_at.is_(None))) or 0,
            "password_set": person.password_hash is not None,
        },
        "sign_ins": [_sign_in(entry) for entry in entries if entry.action in LOGIN_ACTIONS],
        "audit_entries": [_audit(entry, person) for entry in entries],
        "requests": [_request(each, messages.get(each.id, []), files) for each in requests],
        "notices": _notices(session, person),
        "preferences": {"processing_restricted_since": stamp(person.restricted_at),
                        "objections": person.objections.split(), "updates_by_email": _updates(session, person)},
    }


def collect(session: Session, org: Organisation, people: list[User], progress: Progress | None = None,
            ) -> dict[str, Any]:
    """The `people` of `org`, one block each, reporting progress after each person."""
    blocks = []
    for number, person in enumerate(people, 1):
        blocks.append(person_block(session, person))
        if progress is not None:
            progress(number, len(people))
    return {"organisation": organisation_block(org), "people": blocks}


def _audit_entries(session: Session, person: User) -> list[AuditEntry]:
    """Entries where the person acted or was acted on (kept for the audit log's retention, 35 days)."""
    return list(session.scalars(select(AuditEntry).where(or_(
        AuditEntry.actor_id == person.id,
        and_(AuditEntry.subject_type == "user", AuditEntry.subject_id == person.id))).order_by(AuditEntry.id)))


def _sign_in(entry: AuditEntry) -> dict[str, Any]:
    details = entry.details or {}
    return {"at": stamp(entry.at), "succeeded": entry.action == "login.success", "address": details.get("ip")}


def _audit(entry: AuditEntry, person: User) -> dict[str, Any]:
    details = {key: value for key, value in (entry.details or {}).items()}
    return {"id": entry.id, "at": stamp(entry.at), "action": entry.action,
            "role": "actor" if entry.actor_id == person.id else "subject",
            "actor": entry.actor_label, "details": details}


def _notices(session: Session, person: User) -> list[dict[str, Any]]:
    """Breach notices addressed to the person, with when they were mailed, texted, read and acknowledged."""
    rows = session.execute(select(NoticeReceipt, Notice, Incident).join(Notice, Notice.id == NoticeReceipt.notice_id)
                           .join(Incident, Incident.id == Notice.incident_id)
                           .where(NoticeReceipt.user_id == person.id).order_by(Notice.published_at))
    return [{"incident": incident.reference, "phase": notice.phase, "title": notice.title, "text": notice.body,
             "published_at": stamp(notice.published_at), "mailed_at": stamp(receipt.mailed_at),
             "text_message_sent_at": stamp(receipt.sms_sent_at), "read_at": stamp(receipt.read_at),
             "acknowledged_at": stamp(receipt.acknowledged_at)} for receipt, notice, incident in rows]


def _updates(session: Session, person: User) -> dict[str, bool] | None:
    """What the person subscribed to by e-mail, under their own address."""
    found = session.scalars(select(Subscription).where(Subscription.address_index == person.email_index,
                                                       Subscription.state == "confirmed")).first()
    return {"faq": found.faq, "subprocessors": found.subprocessors} if found else None


def _threads(session: Session, request_ids: list[str],
             ) -> tuple[dict[str, list[RequestEvent]], dict[str, list[str]]]:
    """The messages the requesters see, by request, and the names of the files on them, by event.

    Two queries for all of a person's requests; the files' content is not loaded, only their names.
    """
    if not request_ids:
        return {}, {}
    messages: dict[str, list[RequestEvent]] = {}
    for event in session.scalars(select(RequestEvent).where(
            RequestEvent.request_id.in_(request_ids), RequestEvent.visible_to_requester.is_(True))
            .order_by(RequestEvent.at, RequestEvent.id)):
        messages.setdefault(event.request_id, []).append(event)
    files: dict[str, list[str]] = {}
    for item in session.scalars(select(RequestAttachment).options(defer(RequestAttachment.content_sealed))
                                .where(RequestAttachment.request_id.in_(request_ids))
                                .order_by(RequestAttachment.uploaded_at)):
        files.setdefault(item.event_id, []).append(item.filename or "")
    return messages, files


def _request(request: RightsRequest, events: list[RequestEvent], files: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "reference": request.reference, "kind": request.kind, "state": request.state,
        "received_on": stamp(request.received_on), "due_on": stamp(request.due_on),
        "closed_at": stamp(request.closed_at),
        "answers": {question: answer for question, answer in kinds.answers_in_words(request.kind_enum,
                                                                                     request.details)},
        "outcome": request.outcome,
        "messages": [{"at": stamp(e.at), "from": "requester" if e.actor_label == "requester" else e.actor_label,
                      "kind": e.kind, "text": e.body, "attachments": files.get(e.id, [])} for e in events],
    }
