"""Rights requests: filing, the one place that loads them, the moves between states, the thread and the clock.

No Flask imports: routes pass the viewer, a `Clock` built from the settings,
and a `send(session, to, template, **context)` that queues mail in the
caller's transaction. Every change is on the request's timeline and in the
audit log, committed together.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, tuple_, update
from sqlalchemy.orm import Session, defer

from trustcenter.accounts.models import CUSTOMER, PROVIDER, Organisation, User
from trustcenter.accounts.roles import PROVIDER_ROLES, Role
from trustcenter.accounts.service import AccountError, normalise_email, secret_digest
from trustcenter.audit import service as audit
from trustcenter.crypto import keys_of
from trustcenter.db import new_id, utcnow
from trustcenter.requests import attachments, clock, kinds
from trustcenter.requests.models import (
    OPEN_STATE_VALUES,
    Kind,
    RequestAttachment,
    RequestEvent,
    RequestLink,
    RightsRequest,
    State,
    reference_of,
)

Mailer = Callable[..., None]
REQUEST_KEY_PURPOSE = "request"
CONFIRM, FOLLOW = "confirm", "follow"  # purposes of mailed links
CONFIRM_TTL = dt.timedelta(hours=24)
# Each mail to someone without an account carries a new follow link; this long, so an old mail still opens it.
FOLLOW_TTL = dt.timedelta(days=90)
MAX_NAME = 200
MAX_MESSAGE = 5000
MAX_EXTENSION_MONTHS = 2
# The moves staff may make; a requester may only withdraw an open request (and replying resumes a pause).
TRANSITIONS: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.ACKNOWLEDGED, State.IN_PROGRESS, State.AWAITING_REQUESTER,
                                State.COMPLETED, State.REFUSED, State.REFERRED}),
    State.ACKNOWLEDGED: frozenset({State.IN_PROGRESS, State.AWAITING_REQUESTER, State.COMPLETED,
                                   State.REFUSED, State.REFERRED}),
    State.IN_PROGRESS: frozenset({State.AWAITING_REQUESTER, State.COMPLETED, State.REFUSED, State.REFERRED}),
    State.AWAITING_REQUESTER: frozenset({State.IN_PROGRESS, State.COMPLETED, State.REFUSED, State.REFERRED}),
}
# Moves whose message the requester must read: what is missing, why it was refused.
NEEDS_MESSAGE = {
    State.AWAITING_REQUESTER: "Say what you need from the requester.",
    State.REFUSED: "Give the reason for the refusal; the requester sees it.",
}
CLOSED = frozenset({State.COMPLETED, State.REFUSED, State.WITHDRAWN, State.REFERRED})


class RequestError(Exception):
    """The request cannot do that; the message says why and what to do instead."""


@dataclass(frozen=True)
class Clock:
    """The operator's working calendar and time zone (settings WORKING_CALENDAR and TIMEZONE)."""

    calendar: str = clock.DEFAULT_CALENDAR
    timezone: str = clock.DEFAULT_TIMEZONE

    def today(self, now: dt.datetime | None = None) -> dt.date:
        return clock.received_on(now or utcnow(), self.timezone)

    def due(self, request: RightsRequest) -> dt.date:
        return clock.due_date(request.received_on, extension_months=request.extension_months,
                              paused_days=request.paused_days, calendar=self.calendar)


@dataclass(frozen=True)
class Viewer:
    """Who acts, from where: the audit log's actor. Someone without an account has no user, only the requests
    their mailed links opened in this browser."""

    user: User | None
    ip: str | None = None
    follows: frozenset[str] = frozenset()

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.role_enum in PROVIDER_ROLES

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user is not None else None

    @property
    def label(self) -> str:
        return self.user.role if self.user is not None else "requester"


# -- loading, through one guard -------------------------------------------------------------------------------

def visible_to(user: User) -> Select[tuple[RightsRequest]]:
    """The requests `user` may see: provider roles all confirmed ones; a customer administrator their
    organisation's and those referred to it; anyone else their own."""
    query = select(RightsRequest)
    role = user.role_enum
    if role in PROVIDER_ROLES:
        return query.where(RightsRequest.state != State.UNCONFIRMED.value)
    if role is Role.CUSTOMER_ADMIN:
        return query.where(or_(RightsRequest.org_id == user.org_id, RightsRequest.referred_org_id == user.org_id))
    return query.where(RightsRequest.requester_id == user.id)


def request_for(session: Session, user: User, request_id: str) -> RightsRequest | None:
    """The request `request_id` if `user` may see it, else None (answer 404: no hint that it exists)."""
    if not request_id or len(request_id) > 36:
        return None
    return session.scalar(visible_to(user).where(RightsRequest.id == request_id))


def followed_request(session: Session, viewer: Viewer, request_id: str) -> RightsRequest | None:
    """For someone without an account: a request one of their mailed links opened in this browser."""
    if viewer.user is not None or request_id not in viewer.follows:
        return None
    found = session.get(RightsRequest, request_id)
    if found is None or found.requester_id is not None or found.state_enum is State.UNCONFIRMED:
        return None
    return found


def may_act_as_requester(viewer: Viewer, request: RightsRequest) -> bool:
    """Only the person who asked may reply and withdraw. Their organisation's administrator and a controller
    it was referred to read it; replying in someone's name would pass their identity checks, and withdrawing
    would cancel their right."""
    user = viewer.user
    if user is None:
        return request.requester_id is None and request.id in viewer.follows
    return request.requester_id == user.id


def requests_of(session: Session, user: User, limit: int = 200) -> list[RightsRequest]:
    """A customer's list: newest first."""
    return list(session.scalars(visible_to(user).order_by(RightsRequest.received_at.desc()).limit(limit)))


def timeline(session: Session, request: RightsRequest, for_requester: bool) -> list[RequestEvent]:
    query = select(RequestEvent).where(RequestEvent.request_id == request.id)
    if for_requester:
        query = query.where(RequestEvent.visible_to_requester.is_(True))
    return list(session.scalars(query.order_by(RequestEvent.at, RequestEvent.id)))


def viewed(session: Session, viewer: Viewer, request: RightsRequest) -> None:
    """Staff opening a request read a person's data: recorded like every such view."""
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.viewed", request)
    session.commit()


# -- filing ---------------------------------------------------------------------------------------------------

def file_request(session: Session, viewer: Viewer, kind: Kind, answers: dict[str, Any], the_clock: Clock,
                 send: Mailer, staff_inbox: str, now: dt.datetime | None = None) -> RightsRequest:
    """File a signed-in customer's request: the clock starts now; staff and the requester are told."""
    user = viewer.user
    if user is None:
        raise RequestError("Sign in first, or use the form for people without an account.")
    details = _clean(kind, answers, user)
    request = _new_request(session, kind, details, org_id=user.org_id, requester=user, email=user.email or "",
                           name=user.display_name, the_clock=the_clock, now=now)
    _event(session, request, viewer.user_id, "requester", "submitted", state_to=State.SUBMITTED)
    _audit(session, viewer.user_id, "requester", viewer.ip, "request.submitted", request, kind=kind.value)
    _mail_receipt(session, request, send, staff_inbox)
    session.commit()
    return request


def file_without_account(session: Session, viewer: Viewer, kind: Kind, answers: dict[str, Any], name: str,
                         email: str, provider: Organisation, send: Mailer, the_clock: Clock,
                         now: dt.datetime | None = None) -> None:
    """Someone without an account asks: nothing is filed, and no clock runs, until they follow the link mailed
    to the address they gave (single use, 24 hours). So nobody can file in someone else's name."""
    name = _checked_message(name, required=True, why="Enter your name.")[:MAX_NAME]
    try:
        email = normalise_email(email)
    except AccountError as error:
        raise RequestError(str(error)) from None
    details = _clean(kind, answers, None)
    request = _new_request(session, kind, details, org_id=provider.id, requester=None, email=email, name=name,
                           the_clock=the_clock, now=now, state=State.UNCONFIRMED)
    token = _issue_link(session, request, CONFIRM, CONFIRM_TTL)
    _audit(session, None, "requester", viewer.ip, "request.awaiting_confirmation", request, kind=kind.value)
    send(session, email, "request_confirm", request=request, token=token,
         hours=int(CONFIRM_TTL.total_seconds() // 3600))
    session.commit()


def confirm_request(session: Session, viewer: Viewer, raw_token: str, the_clock: Clock, send: Mailer,
                    staff_inbox: str, now: dt.datetime | None = None) -> RightsRequest:
    """Spend a confirmation link (one conditional UPDATE, so two clicks file once): the request is received
    now, and the clock starts."""
    moment = now or utcnow()
    spent = session.execute(update(RequestLink).where(
        RequestLink.token_hash == secret_digest(raw_token or ""), RequestLink.purpose == CONFIRM,
        RequestLink.used_at.is_(None), RequestLink.expires_at > moment,
    ).values(used_at=moment).returning(RequestLink.request_id), execution_options={"synchronize_session": False})
    request_id = spent.scalar_one_or_none()
    request = session.get(RightsRequest, request_id) if request_id else None
    if request is None or request.state_enum is not State.UNCONFIRMED:
        session.rollback()
        raise RequestError("This link has expired or has already been used. If you filed a request and have not "
                           "heard from us, file it again.")
    request.received_at = request.updated_at = moment
    request.received_on = the_clock.today(moment)
    request.due_on = the_clock.due(request)
    request.state = State.SUBMITTED.value
    request.duplicate_of = _open_duplicate(session, request.requester_index, request.fingerprint, but=request.id)
    _event(session, request, None, "requester", "submitted", state_to=State.SUBMITTED)
    _audit(session, None, "requester", viewer.ip, "request.submitted", request, kind=request.kind, confirmed=True)
    _mail_receipt(session, request, send, staff_inbox)
    session.commit()
    return request


def follow_link_request(session: Session, raw_token: str, now: dt.datetime | None = None) -> RightsRequest | None:
    """The request a mailed follow link opens, while the link is valid."""
    link = session.scalar(select(RequestLink).where(
        RequestLink.token_hash == secret_digest(raw_token or ""), RequestLink.purpose == FOLLOW,
        RequestLink.expires_at > (now or utcnow())))
    return session.get(RightsRequest, link.request_id) if link is not None else None


def issue_follow_link(session: Session, request: RightsRequest) -> str:
    """A link for someone without an account to read and answer their request; each mail carries a new one."""
    return _issue_link(session, request, FOLLOW, FOLLOW_TTL)


def _issue_link(session: Session, request: RightsRequest, purpose: str, ttl: dt.timedelta) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(RequestLink(request_id=request.id, purpose=purpose, token_hash=secret_digest(raw),
                            expires_at=utcnow() + ttl))
    session.flush()
    return raw


def purge_unconfirmed(session: Session, older_than: dt.timedelta = CONFIRM_TTL) -> int:
    """Requests never confirmed, once their link has expired: each row deleted only if still unconfirmed (a
    confirmation at that very moment wins), then its key destroyed. Expired follow links go too."""
    cutoff = utcnow() - older_than
    stale = session.execute(select(RightsRequest.id, RightsRequest.data_key_id).where(
        RightsRequest.state == State.UNCONFIRMED.value, RightsRequest.received_at < cutoff)).all()
    keys = keys_of(session)
    count = 0
    for request_id, key_id in stale:
        deleted = session.execute(delete(RightsRequest).where(RightsRequest.id == request_id,
                                                              RightsRequest.state == State.UNCONFIRMED.value))
        if deleted.rowcount == 1:
            session.commit()
            keys.destroy_data_key(key_id)
            count += 1
    session.execute(delete(RequestLink).where(RequestLink.expires_at < utcnow()))
    session.commit()
    return count


def _clean(kind: Kind, answers: dict[str, Any], user: User | None) -> dict[str, str]:
    is_admin = user is not None and user.role_enum is Role.CUSTOMER_ADMIN
    try:
        return kinds.clean(kind, answers, is_admin)
    except ValueError as error:
        raise RequestError(str(error)) from None


def _new_request(session: Session, kind: Kind, details: dict[str, str], *, org_id: str, requester: User | None,
                 email: str, name: str, the_clock: Clock, now: dt.datetime | None,
                 state: State = State.SUBMITTED) -> RightsRequest:
    keys = keys_of(session)
    requester_index = requester.email_index if requester is not None else keys.blind_index(email)
    record_org = record_key_org(session) or org_id
    fingerprint = keys.blind_index(json.dumps([kind.value, details], sort_keys=True))
    received_at = now or utcnow()
    request = RightsRequest(
        org_id=org_id, requester_id=requester.id if requester else None, kind=kind.value, state=state.value,
        requester_index=requester_index, fingerprint=fingerprint,
        data_key_id=keys.create_data_key(record_org, purpose=REQUEST_KEY_PURPOSE),
        received_at=received_at, received_on=the_clock.today(received_at), updated_at=received_at,
        extension_months=0, paused_days=0,
        requester_email=email, requester_name=name, details=details)
    request.due_on = the_clock.due(request)
    if state is not State.UNCONFIRMED:
        request.duplicate_of = _open_duplicate(session, requester_index, fingerprint)
    session.add(request)
    session.flush()
    return request


def record_key_org(session: Session) -> str | None:
    """Requests are the provider's records: sealed under its tenant, so that closing a customer organisation
    (its tenant crypto-shredded) leaves the record of the request that closed it."""
    return session.scalar(select(Organisation.id).where(Organisation.kind == PROVIDER).limit(1))


def _open_duplicate(session: Session, requester_index: str, fingerprint: str, but: str | None = None) -> str | None:
    """An identical open request from the same person: flagged to staff, never merged."""
    query = select(RightsRequest.id).where(
        RightsRequest.requester_index == requester_index, RightsRequest.fingerprint == fingerprint,
        RightsRequest.state.in_(OPEN_STATE_VALUES))
    if but:
        query = query.where(RightsRequest.id != but)
    return session.scalar(query.order_by(RightsRequest.received_at).limit(1))


# -- moves ----------------------------------------------------------------------------------------------------

def move(session: Session, viewer: Viewer, request: RightsRequest, to: State, message: str, the_clock: Clock,
         send: Mailer, referred_org: Organisation | None = None, now: dt.datetime | None = None) -> None:
    """A staff move from one state to another; the requester is told by mail, with the message."""
    if not viewer.is_staff:
        raise RequestError("Only our staff can change the state of a request.")
    current = request.state_enum
    if to not in TRANSITIONS.get(current, frozenset()):
        raise RequestError(f"A request that is {current.label.lower()} cannot become {to.label.lower()}.")
    message = _checked_message(message, required=to in NEEDS_MESSAGE, why=NEEDS_MESSAGE.get(to, ""))
    if to is State.REFERRED:
        if referred_org is None:
            raise RequestError("Choose the customer that holds this data as controller.")
        request.referred_org_id = referred_org.id
    today = the_clock.today(now)
    _resume_clock(request, today, the_clock)
    if to is State.AWAITING_REQUESTER:
        request.paused_since = today
    _set_state(request, to, now)
    if to in (State.COMPLETED, State.REFUSED) and message:
        request.outcome = message
    _event(session, request, viewer.user_id, viewer.label, "state", state_from=current, state_to=to, body=message)
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.state_changed", request,
           state_from=current.value, state_to=to.value)
    _mail_requester(session, request, send, "request_updated", message=message)
    if to is State.REFERRED and referred_org is not None:
        _mail_controller(session, request, referred_org, send)
    session.commit()


def withdraw(session: Session, viewer: Viewer, request: RightsRequest, send: Mailer, the_clock: Clock,
             now: dt.datetime | None = None) -> None:
    if not may_act_as_requester(viewer, request):
        raise RequestError("Only the person who asked can withdraw it.")
    current = request.state_enum
    if not current.is_open:
        raise RequestError("This request is closed already.")
    _resume_clock(request, the_clock.today(now), the_clock)
    _set_state(request, State.WITHDRAWN, now)
    _event(session, request, viewer.user_id, "requester", "state", state_from=current, state_to=State.WITHDRAWN)
    _audit(session, viewer.user_id, "requester", viewer.ip, "request.withdrawn", request)
    _mail_requester(session, request, send, "request_updated", message="")
    session.commit()


def extend(session: Session, viewer: Viewer, request: RightsRequest, months: int, reason: str, the_clock: Clock,
           send: Mailer, now: dt.datetime | None = None) -> None:
    """Extend the deadline by one or two months (Art. 12(3)): only within the first month, with a reason the
    requester is told."""
    if not viewer.is_staff:
        raise RequestError("Only our staff can extend a deadline.")
    if not request.state_enum.is_open:
        raise RequestError("This request is closed.")
    if months not in (1, 2) or request.extension_months + months > MAX_EXTENSION_MONTHS:
        left = MAX_EXTENSION_MONTHS - request.extension_months
        raise RequestError(f"The deadline can be extended by at most two months in all; {left} left." if left
                           else "The deadline has been extended by two months already, the most the law allows.")
    reason = _checked_message(reason, required=True, why="Give the reason for the extension; the requester sees it.")
    today = the_clock.today(now)
    if not extension_allowed(request, today, the_clock):
        raise RequestError("The first month has passed: the law allows an extension only if the requester is "
                           "told within one month of receipt.")
    request.extension_months += months
    request.extension_reason = reason
    request.due_on = the_clock.due(request)
    request.updated_at = now or utcnow()
    _event(session, request, viewer.user_id, viewer.label, "extended", body=reason)
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.extended", request, months=months)
    _mail_requester(session, request, send, "request_extended", message=reason)
    session.commit()


def post_message(session: Session, viewer: Viewer, request: RightsRequest, body: str, send: Mailer,
                 the_clock: Clock, staff_inbox: str, internal: bool = False, attachment: Upload | None = None,
                 now: dt.datetime | None = None) -> None:
    """A message on the thread, with a file or not. A requester's reply to a question resumes the clock; staff
    messages are mailed to the requester unless marked internal."""
    body = _checked_message(body, required=attachment is None, why="Write a message or attach a file.")
    if viewer.is_staff:
        event = _event(session, request, viewer.user_id, viewer.label, "note" if internal else "message", body=body,
                       visible=not internal)
    else:
        if not may_act_as_requester(viewer, request):
            raise RequestError("Only the person who asked can reply.")
        if not request.state_enum.is_open:
            raise RequestError("This request is closed. File a new request if you need more.")
        event = _event(session, request, viewer.user_id, "requester", "message", body=body)
    if attachment is not None:
        _attach(session, request, event, attachment)
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.message", request, internal=internal,
           attachment=attachment is not None)
    if viewer.is_staff:
        if not internal:
            _mail_requester(session, request, send, "request_message", message=body)
    else:
        if request.state_enum is State.AWAITING_REQUESTER:
            _resume_clock(request, the_clock.today(now), the_clock)
            _set_state(request, State.IN_PROGRESS, now)
            _event(session, request, None, "system", "state", state_from=State.AWAITING_REQUESTER,
                   state_to=State.IN_PROGRESS)
        send(session, _staff_address(session, request, staff_inbox), "request_reply_received", request=request)
    request.updated_at = now or utcnow()
    session.commit()


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _attach(session: Session, request: RightsRequest, event: RequestEvent, upload: Upload) -> None:
    try:
        media_type = attachments.media_type_of(upload.data, upload.filename)
    except attachments.AttachmentRefused as error:
        session.rollback()
        raise RequestError(str(error)) from None
    session.add(RequestAttachment(request_id=request.id, event=event, data_key_id=request.data_key_id,
                                  media_type=media_type, size=len(upload.data), content=upload.data,
                                  filename=attachments.safe_name(upload.filename, media_type)))


def files_of(session: Session, request: RightsRequest,
             events: list[RequestEvent]) -> dict[str, list[RequestAttachment]]:
    """The files on the events shown, by event id; their content is not loaded (it is only for downloads)."""
    shown = [e.id for e in events]
    found: dict[str, list[RequestAttachment]] = {}
    if not shown:
        return found
    for item in session.scalars(select(RequestAttachment).options(defer(RequestAttachment.content_sealed)).where(
            RequestAttachment.request_id == request.id, RequestAttachment.event_id.in_(shown))
            .order_by(RequestAttachment.uploaded_at)):
        found.setdefault(item.event_id, []).append(item)
    return found


def file_for(session: Session, request: RightsRequest, file_id: str, for_requester: bool) -> RequestAttachment | None:
    """A file of this request; the requester's side never reaches a file on an internal note."""
    if not file_id or len(file_id) > 36:
        return None
    query = select(RequestAttachment).join(RequestEvent, RequestEvent.id == RequestAttachment.event_id).where(
        RequestAttachment.id == file_id, RequestAttachment.request_id == request.id)
    if for_requester:
        query = query.where(RequestEvent.visible_to_requester.is_(True))
    return session.scalar(query)


def record_download(session: Session, viewer: Viewer, request: RightsRequest, item: RequestAttachment) -> None:
    """Every download is on the timeline and in the audit log."""
    _event(session, request, viewer.user_id, viewer.label, "downloaded", body=item.filename or "",
           visible=not viewer.is_staff or _is_visible(session, item))
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.file_downloaded", request, file=item.id)
    session.commit()


def _is_visible(session: Session, item: RequestAttachment) -> bool:
    return bool(session.scalar(select(RequestEvent.visible_to_requester).where(RequestEvent.id == item.event_id)))


def assign(session: Session, viewer: Viewer, request: RightsRequest, assignee: User | None) -> None:
    if not viewer.is_staff or (assignee is not None and assignee.role_enum not in PROVIDER_ROLES):
        raise RequestError("Requests are assigned to our staff, the DPO or an administrator.")
    request.assignee_id = assignee.id if assignee else None
    _event(session, request, viewer.user_id, viewer.label, "assigned", visible=False,
           body=assignee.display_name if assignee else "Nobody")
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.assigned", request,
           assignee=assignee.id if assignee else None)
    session.commit()


def customer_organisations(session: Session) -> list[Organisation]:
    """Customers a request can be filtered by or referred to, by name (opened here: names are sealed)."""
    customers = session.scalars(select(Organisation).where(Organisation.kind == CUSTOMER))
    return sorted(customers, key=lambda org: org.display_name.casefold())


def provider_people(session: Session) -> list[User]:
    """Who a request can be assigned to."""
    people = session.scalars(select(User).where(User.role.in_([r.value for r in PROVIDER_ROLES]),
                                                User.status == "active"))
    return sorted(people, key=lambda person: person.display_name.casefold())


def close(session: Session, viewer: Viewer, request: RightsRequest, to: State, outcome: str,
          now: dt.datetime | None = None) -> None:
    """Close a request after fulfilling it (the move a person would make, made by the fulfilment itself)."""
    current = request.state_enum
    _set_state(request, to, now)
    request.paused_since = None
    request.outcome = outcome
    _event(session, request, viewer.user_id, viewer.label, "state", state_from=current, state_to=to, body=outcome)
    _audit(session, viewer.user_id, viewer.label, viewer.ip, "request.state_changed", request,
           state_from=current.value, state_to=to.value)
    session.commit()


def add_event(session: Session, request: RightsRequest, viewer: Viewer, kind: str, body: str = "",
              visible: bool = True) -> None:
    _event(session, request, viewer.user_id, viewer.label, kind, body=body, visible=visible)
    request.updated_at = utcnow()


def system_event(session: Session, request: RightsRequest, kind: str, body: str = "", visible: bool = True) -> None:
    """A step nobody took by hand (the software's own), on the timeline."""
    _event(session, request, None, "system", kind, body=body, visible=visible)


def audit_request(session: Session, viewer: Viewer, action: str, request: RightsRequest, **details: Any) -> None:
    _audit(session, viewer.user_id, viewer.label, viewer.ip, action, request, **details)


# -- the clock on a request -----------------------------------------------------------------------------------

def extension_allowed(request: RightsRequest, today: dt.date, the_clock: Clock) -> bool:
    """Still within the first month (paused days count, the current pause too): Art. 12(3)'s window."""
    paused = request.paused_days + _paused_so_far(request, today)
    return clock.may_extend(request.received_on, today, paused_days=paused, calendar=the_clock.calendar)


def _paused_so_far(request: RightsRequest, today: dt.date) -> int:
    return (today - request.paused_since).days if request.paused_since else 0


def _resume_clock(request: RightsRequest, today: dt.date, the_clock: Clock) -> None:
    """Leaving a pause adds its days to the deadline (waiting for the requester does not count)."""
    if request.paused_since is None:
        return
    request.paused_days += max(0, (today - request.paused_since).days)
    request.paused_since = None
    request.due_on = the_clock.due(request)


def days_left(request: RightsRequest, today: dt.date) -> int | None:
    """Working on it: days until due. Paused or closed: None (the clock is not running)."""
    if not request.state_enum.is_open or request.paused_since is not None:
        return None
    return clock.days_left(request.due_on, today)


# -- records --------------------------------------------------------------------------------------------------

def _set_state(request: RightsRequest, to: State, now: dt.datetime | None) -> None:
    moment = now or utcnow()
    request.state = to.value
    request.updated_at = moment
    request.closed_at = moment if to in CLOSED else None


def _checked_message(text: str | None, required: bool, why: str) -> str:
    text = (text or "").strip()
    if required and not text:
        raise RequestError(why)
    if len(text) > MAX_MESSAGE:
        raise RequestError(f"A message can be at most {MAX_MESSAGE} characters.")
    return text


def _event(session: Session, request: RightsRequest, actor_id: str | None, actor_label: str, kind: str, *,
           state_from: State | None = None, state_to: State | None = None, body: str = "",
           visible: bool = True) -> RequestEvent:
    event = RequestEvent(id=new_id(), request_id=request.id, data_key_id=request.data_key_id, actor_id=actor_id,
                         actor_label=actor_label, kind=kind, state_from=state_from.value if state_from else None,
                         state_to=state_to.value if state_to else None, visible_to_requester=visible,
                         body=body or None, at=utcnow())
    session.add(event)
    return event


def _audit(session: Session, actor_id: str | None, actor_label: str, ip: str | None, action: str,
           request: RightsRequest, **details: Any) -> None:
    session.flush()
    audit.record(session, action, actor_id=actor_id, actor_label=actor_label, subject_type="rights_request",
                 subject_id=request.id, org_id=request.org_id, ip=ip, details=details or None)


# -- mail -----------------------------------------------------------------------------------------------------

def _mail_receipt(session: Session, request: RightsRequest, send: Mailer, staff_inbox: str) -> None:
    send(session, request.requester_email, "request_received", request=request)
    send(session, staff_inbox, "request_new", request=request)


def _mail_requester(session: Session, request: RightsRequest, send: Mailer, template: str, message: str) -> None:
    if request.requester_email:
        send(session, request.requester_email, template, request=request, message=message)


def _mail_controller(session: Session, request: RightsRequest, org: Organisation, send: Mailer) -> None:
    """The customer's administrators: the request concerns data they control."""
    admins = session.scalars(select(User).where(and_(User.org_id == org.id, User.role == Role.CUSTOMER_ADMIN.value,
                                                     User.status == "active")))
    for admin in admins:
        if admin.email:
            send(session, admin.email, "request_referred", request=request, org_name=org.display_name)


def _staff_address(session: Session, request: RightsRequest, staff_inbox: str) -> str:
    """The assignee when there is one, the DPO's inbox otherwise."""
    if request.assignee_id:
        assignee = session.get(User, request.assignee_id)
        if assignee is not None and assignee.is_active and assignee.email:
            return assignee.email
    return staff_inbox


# -- the staff queue ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilters:
    """Empty means any; `state` "" means open requests, "all" any state."""

    kind: str = ""
    state: str = ""
    due: str = ""  # "", "overdue", or a number of days ahead
    org_id: str = ""
    assignee: str = ""  # "", "none", or a user id
    after: tuple[dt.date, str] | None = None


def queue_page(session: Session, viewer: Viewer, filters: QueueFilters, today: dt.date,
               page_size: int) -> tuple[list[RightsRequest], tuple[dt.date, str] | None]:
    """A page of the queue, soonest due first (overdue at the top), and the cursor of the next page.

    Keyset pagination on (due_on, id): a page a thousand pages deep costs what the first one does.
    Reading it is audited: the rows name people.
    """
    query = _filtered(visible_to(viewer.user), filters, today)
    if filters.after is not None:
        query = query.where(tuple_(RightsRequest.due_on, RightsRequest.id) > tuple_(*filters.after))
    rows = list(session.scalars(query.order_by(RightsRequest.due_on, RightsRequest.id).limit(page_size + 1)))
    page, more = rows[:page_size], len(rows) > page_size
    audit.record(session, "requests.viewed", actor_id=viewer.user_id, actor_label=viewer.label, ip=viewer.ip,
                 details={k: v for k, v in (("kind", filters.kind), ("state", filters.state), ("due", filters.due),
                                            ("org", filters.org_id), ("assignee", filters.assignee)) if v} or None)
    session.commit()
    return page, ((page[-1].due_on, page[-1].id) if more else None)


def _filtered(query: Select[tuple[RightsRequest]], filters: QueueFilters,
              today: dt.date) -> Select[tuple[RightsRequest]]:
    if filters.state == "":
        query = query.where(RightsRequest.state.in_(OPEN_STATE_VALUES))
    elif filters.state != "all":
        query = query.where(RightsRequest.state == filters.state)
    if filters.kind:
        query = query.where(RightsRequest.kind == filters.kind)
    if filters.org_id:
        query = query.where(RightsRequest.org_id == filters.org_id)
    if filters.assignee == "none":
        query = query.where(RightsRequest.assignee_id.is_(None))
    elif filters.assignee:
        query = query.where(RightsRequest.assignee_id == filters.assignee)
    if filters.due == "overdue":
        query = query.where(RightsRequest.due_on < today)
    elif filters.due.isdigit():
        query = query.where(RightsRequest.due_on <= today + dt.timedelta(days=int(filters.due)))
    return query


def people_named(session: Session, ids: set[str | None]) -> dict[str, User]:
    """Assignees and actors by id, one query."""
    wanted = [i for i in ids if i]
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}


def organisations_named(session: Session, ids: set[str | None]) -> dict[str, Organisation]:
    wanted = [i for i in ids if i]
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(wanted)))} if wanted else {}


# -- reminders before the due date ---------------------------------------------------------------------------

REMINDERS = ((7, "reminded_7_days"), (1, "reminded_1_day"))


def send_due_reminders(session: Session, send: Mailer, staff_inbox: str, today: dt.date) -> int:
    """Mail staff 7 days and 1 day before a request is due, once each; returns how many were sent.

    One conditional UPDATE claims each reminder, so two workers never send the same one twice.
    """
    sent = 0
    for days, flag in REMINDERS:
        column = getattr(RightsRequest, flag)
        due = session.scalars(select(RightsRequest).where(
            RightsRequest.state.in_(OPEN_STATE_VALUES), RightsRequest.paused_since.is_(None),
            RightsRequest.due_on <= today + dt.timedelta(days=days), column.is_(False)).limit(100)).all()
        for request in due:
            claimed = session.execute(update(RightsRequest).where(RightsRequest.id == request.id, column.is_(False))
                                      .values({flag: True}), execution_options={"synchronize_session": False})
            if claimed.rowcount != 1:
                continue
            left = clock.days_left(request.due_on, today)
            send(session, _staff_address(session, request, staff_inbox), "request_due_soon", request=request,
                 days_left=left)
            sent += 1
        session.commit()
    return sent


# -- the register (CSV) ---------------------------------------------------------------------------------------

REGISTER_COLUMNS = ("reference", "type", "state", "customer", "received", "due", "extension_months",
                    "paused_days", "closed", "assigned_to", "possible_duplicate_of", "referred_to")
REGISTER_BATCH = 1000


def register_rows(session: Session, viewer: Viewer, filters: QueueFilters, today: dt.date) -> Iterator[list[str]]:
    """Every request the filters select, oldest due first, as register rows: what a regulator asks to see.

    No requester's name or address: the reference leads to them for whoever may look. Read in keyset
    batches, so a register of a million requests streams in constant memory. The download is audited.
    """
    audit.record(session, "requests.register_downloaded", actor_id=viewer.user_id, actor_label=viewer.label,
                 ip=viewer.ip, details={"state": filters.state or "open", "kind": filters.kind or "any"})
    session.commit()
    orgs = {org.id: org.display_name for org in session.scalars(select(Organisation))}
    staff = {person.id: person.display_name for person in provider_people(session)}
    query = _filtered(visible_to(viewer.user), filters, today).order_by(RightsRequest.due_on, RightsRequest.id)
    after: tuple[dt.date, str] | None = None
    while True:
        page = query if after is None else query.where(
            tuple_(RightsRequest.due_on, RightsRequest.id) > tuple_(*after))
        batch = session.scalars(page.limit(REGISTER_BATCH)).all()
        for r in batch:
            yield [r.reference, r.kind_enum.label, r.state_enum.label, orgs.get(r.org_id, ""),
                   r.received_on.isoformat(), r.due_on.isoformat(), str(r.extension_months), str(r.paused_days),
                   r.closed_at.date().isoformat() if r.closed_at else "", staff.get(r.assignee_id or "", ""),
                   reference_of(r.duplicate_of) if r.duplicate_of else "",
                   orgs.get(r.referred_org_id or "", "")]
        if len(batch) < REGISTER_BATCH:
            return
        after = (batch[-1].due_on, batch[-1].id)
        session.expunge_all()  # constant memory over any number of rows
