"""Doing what a request asks: erasure (after the DPO's approval), rectification, restriction and objection.

Each step is on the request's timeline (the requester sees it) and in the audit log. The people a
request concerns are its requester's account, or, for someone who asked without one, the accounts
with the address they confirmed.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from trustcenter.accounts import erasure
from trustcenter.accounts.models import ERASED, Organisation, User
from trustcenter.accounts.roles import Role
from trustcenter.accounts.service import PROFILE_FIELDS, AccountError, Actor, check_profile_value, record
from trustcenter.crypto import keys_of
from trustcenter.db import utcnow
from trustcenter.requests import service
from trustcenter.requests.kinds import ORGANISATION_SCOPE
from trustcenter.requests.models import Kind, RequestAttachment, RequestEvent, RightsRequest, State
from trustcenter.requests.service import Clock, Mailer, RequestError, Viewer

APPROVED = "approved"  # the event kind that records the DPO's approval of an erasure
ERASED_MARK = "erased:"
ERASED_REQUESTER = "Erased person"
# What a person may object to that the software itself can stop.
STOPPABLE = {"update_mail": "E-mails about changes to this trust center"}
RECTIFIABLE = {name: name.replace("_", " ").capitalize() for name in PROFILE_FIELDS}


def people_concerned(session: Session, request: RightsRequest) -> list[User]:
    """The accounts a request is about: the requester's own, or those with the confirmed address."""
    if request.requester_id is not None:
        person = session.get(User, request.requester_id)
        return [person] if person is not None and person.status != ERASED else []
    return list(session.scalars(select(User).where(User.email_index == request.requester_index,
                                                   User.status != ERASED)))


def organisation_scope(request: RightsRequest) -> bool:
    """A customer administrator asked to erase their whole organisation (the end of the contract)."""
    return request.kind_enum is Kind.ERASURE and (request.details or {}).get("scope") == ORGANISATION_SCOPE


def is_approved(session: Session, request: RightsRequest) -> bool:
    return session.scalar(select(RequestEvent.id).where(RequestEvent.request_id == request.id,
                                                        RequestEvent.kind == APPROVED).limit(1)) is not None


def awaiting_approval(session: Session, limit: int = 20) -> list[RightsRequest]:
    """Open erasure requests the DPO has not approved yet, oldest due first: the DPO's own list."""
    approved = select(RequestEvent.request_id).where(RequestEvent.kind == APPROVED)
    return list(session.scalars(select(RightsRequest).where(
        RightsRequest.kind == Kind.ERASURE.value,
        RightsRequest.state.in_([s.value for s in State if s.is_open]),
        RightsRequest.id.not_in(approved)).order_by(RightsRequest.due_on).limit(limit)))


# -- erasure --------------------------------------------------------------------------------------------------

def approve_erasure(session: Session, viewer: Viewer, request: RightsRequest) -> None:
    """The Data Protection Officer's approval: nothing is erased without it."""
    _require_open(request, Kind.ERASURE)
    if viewer.user is None or viewer.user.role_enum is not Role.DPO:
        raise RequestError("Only the Data Protection Officer can approve an erasure.")
    service.add_event(session, request, viewer, APPROVED, visible=False, body="Erasure approved by the DPO.")
    service.audit_request(session, viewer, "request.erasure_approved", request)
    session.commit()


def carry_out_erasure(session: Session, viewer: Viewer, request: RightsRequest, the_clock: Clock,
                      send: Mailer) -> str:
    """Crypto-shred what the request asks for, then complete it; returns what was done, in words.

    The request keeps what the law needs (what was asked, what was done, when), re-sealed under
    a new key; the old key, under which the requester's own words were sealed, is destroyed, so
    earlier backups cannot show them either.
    """
    _require_open(request, Kind.ERASURE)
    if not viewer.is_staff:
        raise RequestError("Only our staff can carry out an erasure.")
    if not is_approved(session, request):
        raise RequestError("The Data Protection Officer has to approve this erasure first.")
    actor = Actor(viewer.user, viewer.ip)
    reference, email = request.reference, request.requester_email
    # Asked without an account: their other requests without one, found by the address they confirmed.
    without_account = [] if request.requester_id else session.scalars(select(RightsRequest).where(
        RightsRequest.requester_id.is_(None), RightsRequest.requester_index == request.requester_index)).all()
    if organisation_scope(request):
        org = session.get(Organisation, request.org_id)
        if org is None:
            raise RequestError("The organisation no longer exists.")
        count = erasure.erase_organisation(session, org, actor, via=f"request {reference}")
        outcome = (f"Erased the organisation and its {count} account{'s' if count != 1 else ''}: every personal "
                   f"value, the organisation's name included, on {dt.date.today():%-d %B %Y}.")
    else:
        people = people_concerned(session, request)
        for person in people:
            erasure.erase_user(session, person, actor, via=f"request {reference}")  # forgets their requests
        outcome = (f"Erased {len(people)} account{'s' if len(people) != 1 else ''} and every personal value held "
                   f"in them on {dt.date.today():%-d %B %Y}." if people else
                   "No account held data about this person; nothing needed erasing.")
    session.refresh(request)
    for each in [request, *without_account]:
        forget(session, each)
    others = len(without_account) - (request in without_account)
    if others:
        outcome += f" Removed the personal details from {others} earlier request{'s' if others != 1 else ''}."
    service.close(session, viewer, request, State.COMPLETED, outcome)
    if email:  # the request no longer holds the address: told here, from the copy taken before
        send(session, email, "request_updated", request=request, message=outcome)
        session.commit()
    return outcome


def forget_person(session: Session, person: User) -> None:
    """Erasure hook (`accounts.erasure.ERASURE_HOOKS`): forget every request an erased account filed."""
    for each in session.scalars(select(RightsRequest).where(RightsRequest.requester_id == person.id)).all():
        forget(session, each)


def forget(session: Session, request: RightsRequest) -> None:
    """Keep the record of a request without the person: their name, address, answers, words and files go.

    What stays (kind, dates, states, who acted, staff's outcome) is re-sealed under a new key and the old
    key destroyed, so copies of the database taken before show nothing of theirs either. The address's
    blind index and the answers' fingerprint are replaced too: from an address, nobody finds the request.
    """
    if request.requester_index.startswith(ERASED_MARK):
        return  # forgotten already
    keys = keys_of(session)
    kept = {"outcome": request.outcome, "extension_reason": request.extension_reason}
    old_key = request.data_key_id
    new_key = keys.create_data_key(service.record_key_org(session) or request.org_id,
                                   purpose=service.REQUEST_KEY_PURPOSE)
    session.execute(update(RequestEvent).where(RequestEvent.request_id == request.id).values(
        body_sealed=None, data_key_id=new_key), execution_options={"synchronize_session": False})
    session.execute(delete(RequestAttachment).where(RequestAttachment.request_id == request.id))
    request.data_key_id = new_key
    request.requester_email, request.requester_name, request.details = None, ERASED_REQUESTER, {}
    request.outcome, request.extension_reason = kept["outcome"], kept["extension_reason"]
    request.requester_index = request.fingerprint = erased_mark(request.id)
    request.duplicate_of = None
    service.system_event(session, request, "forgotten", visible=False,
                         body="The requester's personal data was erased; this record keeps what was asked and done.")
    session.flush()
    keys.destroy_data_key(old_key)


def erased_mark(request_id: str) -> str:
    """An index no address or answer produces, unique per request, 64 characters."""
    return (ERASED_MARK + hashlib.sha256(request_id.encode()).hexdigest())[:64]


# -- rectification, restriction, objection --------------------------------------------------------------------

def rectify(session: Session, viewer: Viewer, request: RightsRequest, person: User, field: str,
            value: str) -> None:
    """Correct one field; the requester sees what it said and what it says now."""
    _require_open(request, Kind.RECTIFICATION)
    _require_staff(viewer)
    _require_concerned(session, request, person)
    if field not in RECTIFIABLE:
        raise RequestError("Choose a field that can be corrected.")
    value = value.strip() or None
    try:
        check_profile_value(field, value)
    except AccountError as error:
        raise RequestError(str(error)) from None
    before = getattr(person, field)
    setattr(person, field, value)
    service.add_event(session, request, viewer, "rectified",
                      body=f"{RECTIFIABLE[field]}: was “{before or 'empty'}”, now “{value or 'empty'}”.")
    record(session, Actor(viewer.user, viewer.ip), "profile.rectified", person, fields=[field],
           request=request.reference)
    session.commit()


def restrict(session: Session, viewer: Viewer, request: RightsRequest, person: User, lift: bool = False) -> None:
    """Mark a person restricted (Art. 18): no optional mail, nothing sent to third parties. Lifting is a step too."""
    _require_staff(viewer)
    _require_concerned(session, request, person)
    if request.kind_enum is not Kind.RESTRICTION:
        raise RequestError("Only a restriction request restricts processing.")
    if lift:
        person.restricted_at = None
        body = "Restriction lifted: processing may resume. We tell you before we lift a restriction (Article 18(3))."
    else:
        _require_open(request, Kind.RESTRICTION)
        person.restricted_at = utcnow()
        body = ("Processing restricted: we keep your data but use it only with your consent, for legal claims or "
                "to protect others (Article 18(2)), and send you no optional mail.")
    service.add_event(session, request, viewer, "restriction_lifted" if lift else "restricted", body=body)
    record(session, Actor(viewer.user, viewer.ip), "person.restriction_lifted" if lift else "person.restricted",
           person, request=request.reference)
    session.commit()


def stop_processing(session: Session, viewer: Viewer, request: RightsRequest, person: User) -> str:
    """Stop the processing objected to (Art. 21) where the software can; returns what was stopped."""
    _require_open(request, Kind.OBJECTION)
    _require_staff(viewer)
    _require_concerned(session, request, person)
    processing = (request.details or {}).get("processing", "")
    if processing not in STOPPABLE:
        raise RequestError("This processing cannot be stopped from here: do it by hand, then complete the request "
                           "saying what you did, or refuse it with the reason.")
    objections = set(person.objections.split())
    objections.add(processing)
    person.objections = " ".join(sorted(objections))
    service.add_event(session, request, viewer, "objection_upheld", body=f"Stopped: {STOPPABLE[processing]}.")
    record(session, Actor(viewer.user, viewer.ip), "person.objection_upheld", person, processing=processing,
           request=request.reference)
    session.commit()
    return STOPPABLE[processing]


def wants_optional_mail(person: User, kind: str = "update_mail") -> bool:
    """Whether optional mail (updates, subscriptions) may go to `person`: not while restricted or objected to."""
    return person.restricted_at is None and kind not in person.objections.split()


def _require_open(request: RightsRequest, kind: Kind) -> None:
    if request.kind_enum is not kind:
        raise RequestError(f"This is not a request for {kind.label.lower()}.")
    if not request.state_enum.is_open:
        raise RequestError("This request is closed.")


def _require_staff(viewer: Viewer) -> None:
    if not viewer.is_staff:
        raise RequestError("Only our staff can do this.")


def _require_concerned(session: Session, request: RightsRequest, person: User) -> None:
    if person.id not in {p.id for p in people_concerned(session, request)}:
        raise RequestError("That account is not the one this request is about.")
