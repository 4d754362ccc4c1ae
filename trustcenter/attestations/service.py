"""Issuing signed documents once, finding them again, and saying whether an uploaded one is ours and unchanged.

Every document goes the same way (`issue`): a fresh verification code, the
template rendered to tagged PDF/A-3b, a PAdES signature by the deployment's
signing certificate, and the signed bytes stored sealed with their SHA-256.
A document whose inputs are unchanged (the same `cache_key`) is not made
again: the stored copy is served, so its code and hash stay the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, defer

from trustcenter.attestations.models import Attestation, Kind
from trustcenter.attestations.render import Letterhead, render_pdf
from trustcenter.attestations.isolated import check_untrusted
from trustcenter.attestations.signature import SignatureReport, sign_pdf
from trustcenter.accounts.roles import Role
from trustcenter.audit import record
from trustcenter.crypto.certificates import SigningIdentity
from trustcenter.crypto.errors import CryptoError
from trustcenter.db import new_id
from trustcenter.faq.content import Site
from trustcenter.requests.models import RightsRequest

# Crockford's base32: no I, L, O or U, so a code read aloud or typed from paper survives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits
STATUS_WORDS = {"passing": "Passing", "failing": "Failing", "not_checked": "Not checked"}


@dataclass(frozen=True)
class Issuer:
    """Everything documents need from the deployment: who signs, what the site says, where /verify is."""

    identity: SigningIdentity
    site: Site
    logo: str | None
    verify_page: str  # absolute URL of /verify

    def verify_url(self, code: str) -> str:
        return f"{self.verify_page}?code={code}"


@dataclass(frozen=True)
class Draft:
    """A document to issue: its template and context, and what to record about it."""

    kind: Kind
    title: str
    template: str
    context: dict[str, Any]
    cache_key: str
    org_id: str | None = None
    request_id: str | None = None
    data_key_id: str | None = None
    prepared_for: str | None = None
    content_version: str | None = None
    period: tuple[dt.date, dt.date] | None = None


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(text: str) -> str:
    """What someone typed, as stored: upper case, O→0, I/L→1, the dash put back."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum()).translate(str.maketrans("OIL", "011"))
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return ""
    return f"{cleaned[:5]}-{cleaned[5:]}"


def cache_key_of(*parts: Any) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()


def cached(session: Session, cache_key: str) -> Attestation | None:
    """The newest document issued for exactly these inputs."""
    query = (select(Attestation).where(Attestation.cache_key == cache_key).order_by(Attestation.issued_at.desc())
             .options(defer(Attestation.pdf_sealed)))  # the caller redirects to the download, which reads it
    return session.scalars(query.limit(1)).first()


def issue(session: Session, issuer: Issuer, draft: Draft, actor_id: str | None,
          now: dt.datetime | None = None) -> Attestation:
    """Render, sign and store `draft` (or return the stored copy of the same inputs)."""
    existing = cached(session, draft.cache_key)
    if existing is not None:
        return existing
    now = now or dt.datetime.now(dt.timezone.utc)
    code = new_code()
    letterhead = Letterhead(company=issuer.site.company, logo=issuer.logo, code=code,
                            verify_url=issuer.verify_url(code), verify_page=issuer.verify_page,
                            title=draft.title, issued_at_text=f"{now:%-d %B %Y, %H:%M} UTC")
    rendered = render_pdf(draft.template, letterhead, site=issuer.site, status_words=STATUS_WORDS, **draft.context)
    signed = sign_pdf(rendered.data, issuer.identity, reason=draft.title, location=issuer.verify_page)
    attestation = Attestation(
        id=new_id(), code=code, kind=draft.kind.value, org_id=draft.org_id, request_id=draft.request_id,
        cache_key=draft.cache_key, title=draft.title[:200], content_version=draft.content_version,
        period_start=draft.period[0] if draft.period else None, period_end=draft.period[1] if draft.period else None,
        issued_at=now, issued_by=actor_id, signer=issuer.identity.issuer_name[:200],
        signer_fingerprint=issuer.identity.fingerprint(), sha256=hashlib.sha256(signed).hexdigest(),
        size=len(signed), pages=rendered.pages, data_key_id=draft.data_key_id)
    attestation.prepared_for = draft.prepared_for
    attestation.pdf = signed
    session.add(attestation)
    record(session, "attestation.issued", actor_id=actor_id, subject_type="attestation", subject_id=attestation.id,
           org_id=draft.org_id, details={"kind": draft.kind.value, "code": code, "pages": rendered.pages})
    return attestation


def record_download(session: Session, attestation: Attestation, actor_id: str | None, actor_label: str,
                    ip: str | None) -> None:
    record(session, "attestation.downloaded", actor_id=actor_id, actor_label=actor_label,
           subject_type="attestation", subject_id=attestation.id, org_id=attestation.org_id, ip=ip,
           details={"kind": attestation.kind, "code": attestation.code})


def visible_to(user: Any, visible_requests: Select[Any]) -> Select[tuple[Attestation]]:
    """The documents a user may see: the DPO every one; a customer their organisation's posture attestations
    and the certificates of the requests `visible_requests` (the requests guard's query for them) shows."""
    query = select(Attestation)
    if user.role_enum is Role.DPO:
        return query
    own_requests = visible_requests.with_only_columns(RightsRequest.id)
    return query.where(Attestation.org_id == user.org_id,
                       or_(Attestation.request_id.is_(None), Attestation.request_id.in_(own_requests)))


def attestation_for(session: Session, user: Any, visible_requests: Select[Any],
                    attestation_id: str) -> Attestation | None:
    """The document `attestation_id` if `user` may see it, else None (answer 404: no hint that it exists)."""
    if not attestation_id or len(attestation_id) > 36:
        return None
    return session.scalar(visible_to(user, visible_requests).where(Attestation.id == attestation_id))


def issued_to(session: Session, user: Any, visible_requests: Select[Any], limit: int = 50) -> list[Attestation]:
    """What `user` may see of what was issued, newest first, without reading the PDFs."""
    query = (visible_to(user, visible_requests).order_by(Attestation.issued_at.desc()).limit(limit)
             .options(defer(Attestation.pdf_sealed)))
    return list(session.scalars(query))


def stored_pdf(attestation: Attestation) -> bytes | None:
    """The signed bytes, or None once the key they were sealed under has been destroyed (an erased tenant)."""
    try:
        return attestation.pdf
    except CryptoError:
        return None


# -- verification ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """What /verify says about an uploaded file or a code."""

    outcome: str  # "authentic", "altered", "unknown", "not_ours", "unreadable"
    attestation: Attestation | None = None
    signature: SignatureReport | None = None
    prepared_for: str | None = None
    exact_copy: bool = False  # the uploaded bytes are the ones issued (not just a code that exists)

    @property
    def authentic(self) -> bool:
        return self.outcome == "authentic"


def by_code(session: Session, text: str) -> Attestation | None:
    code = normalise_code(text)
    return session.scalar(select(Attestation).where(Attestation.code == code)) if code else None


def verify_code(session: Session, text: str) -> Verdict:
    attestation = by_code(session, text)
    if attestation is None:
        return Verdict("unknown")
    return Verdict("authentic", attestation, prepared_for=_prepared_for(attestation))


def verify_file(session: Session, data: bytes, identity: SigningIdentity) -> Verdict:
    """Ours and unchanged: byte for byte a document we issued (and signed when we issued it).

    Anything else is read in a limited child process (`isolated`), only to tell an altered copy of one of
    ours (a signature from a certificate our CA issued) from a PDF we never signed. Raises `VerifierBusy`
    when this process is already reading as many files as it may.
    """
    attestation = session.scalar(select(Attestation).where(Attestation.sha256 == hashlib.sha256(data).hexdigest()))
    if attestation is not None:
        # Our own bytes: the signature held when we made them, and a later certificate expiry or CA rotation
        # does not make the document any less the one we issued.
        return Verdict("authentic", attestation, prepared_for=_prepared_for(attestation), exact_copy=True)
    signature = check_untrusted(data, identity.ca_certificate)
    if signature is None:
        return Verdict("unreadable")
    if signature.from_our_ca:
        return Verdict("altered", None, signature)  # signed by us, but not the bytes we issued
    return Verdict("not_ours", None, signature)


def _prepared_for(attestation: Attestation) -> str | None:
    """The organisation a posture attestation was made for, unless it has since been erased.

    Certificates and registers say nothing here: a code alone should not tell anyone whose request it was.
    """
    if attestation.kind_enum is not Kind.POSTURE:
        return None
    try:
        return attestation.prepared_for
    except CryptoError:
        return None
