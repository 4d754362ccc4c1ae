"""The audit log as investigators read it: people by name, actions in words, ids kept for the record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustcenter.accounts.models import Organisation, User
from trustcenter.audit.models import AuditEntry
from trustcenter.requests.models import reference_of

ACTIONS = {
    "attestation.downloaded": "Signed document downloaded",
    "attestation.issued": "Signed document issued",
    "audit.verified": "Audit log verified",
    "audit.viewed": "Audit log viewed",
    "backup.created": "Backup created",
    "backup.listed": "Backups listed",
    "backup.pruned": "Old backups deleted",
    "backup.restore_refused": "Backup restore refused",
    "backup.restored": "Backup restored",
    "evidence.checked": "Evidence checks run",
    "identity.confirmed": "Identity confirmed",
    "identity.not_confirmed": "Identity not confirmed",
    "invitation.accepted": "Invitation accepted",
    "invitation.existing_member": "Invitation to an existing member",
    "invitation.sent": "Invitation sent",
    "keys.purge_retired": "Retired keys deleted",
    "keys.rotate_master": "Master key rotated",
    "keys.rotate_tenant": "Tenant key rotated",
    "login.failure": "Sign-in failed",
    "login.success": "Signed in",
    "mfa.disabled": "Two-factor authentication turned off",
    "mfa.enabled": "Two-factor authentication turned on",
    "mfa.enrolment_link_issued": "Enrolment link sent",
    "mfa.enrolment_link_used": "Enrolment link used",
    "mfa.recovery_code_used": "Recovery code used",
    "mfa.recovery_codes_replaced": "New recovery codes made",
    "org.created": "Organisation created",
    "organisation.erased": "Organisation erased",
    "password.reset": "Password reset",
    "password.reset_requested": "Password reset asked for",
    "personal_data.viewed": "Personal data viewed",
    "profile.updated": "Profile updated",
    "request.assigned": "Request assigned",
    "request.extended": "Request deadline extended",
    "request.message": "Request message",
    "request.state_changed": "Request state changed",
    "request.submitted": "Request filed",
    "request.viewed": "Request viewed",
    "request.withdrawn": "Request withdrawn",
    "requests.viewed": "Request queue viewed",
    "retention.purged": "Expired records deleted",
    "session.revoked_all": "Signed out everywhere",
    "user.created": "Account created",
    "user.erased": "Person erased",
}


@dataclass(frozen=True)
class Party:
    """An actor or subject: what the page says, and the id an investigator copies."""

    label: str
    id: str | None = None


@dataclass(frozen=True)
class Row:
    entry: AuditEntry
    action: str
    actor: Party
    subject: Party | None
    details: str


def rows_for(session: Session, entries: list[AuditEntry]) -> list[Row]:
    """Each entry with its people and organisations named (one query each), for viewers allowed to see them."""
    ids = {e.actor_id for e in entries} | {e.subject_id for e in entries if e.subject_type == "user"}
    people = _by_id(session, User, ids)
    orgs = _by_id(session, Organisation, {e.subject_id for e in entries if e.subject_type == "organisation"})
    return [Row(entry=e, action=ACTIONS.get(e.action, e.action), actor=_actor(e, people),
                subject=_subject(e, people, orgs), details=_details(e.details)) for e in entries]


def _by_id(session: Session, model: type[User] | type[Organisation], ids: Iterable[str | None]) -> dict[str, Any]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))}


def _actor(entry: AuditEntry, people: dict[str, User]) -> Party:
    person = people.get(entry.actor_id or "")
    if person is not None:
        return Party(f"{person.display_name} ({entry.actor_label})", entry.actor_id)
    return Party(entry.actor_label, entry.actor_id)


def _subject(entry: AuditEntry, people: dict[str, User], orgs: dict[str, Organisation]) -> Party | None:
    if not entry.subject_type:
        return None
    if entry.subject_type == "rights_request" and entry.subject_id:
        return Party(f"Request {reference_of(entry.subject_id)}", entry.subject_id)
    found = (people if entry.subject_type == "user" else orgs).get(entry.subject_id or "")
    if found is None:
        return Party(entry.subject_type, entry.subject_id)
    return Party(found.display_name, entry.subject_id)


def _details(details: dict[str, Any] | None) -> str:
    """`fields: ['first_name']` as "fields: first name"; other values as they are."""
    if not details:
        return ""
    return "; ".join(f"{key.replace('_', ' ')}: {_value(value)}" for key, value in details.items())


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item).replace("_", " ") for item in value)
    return str(value)
