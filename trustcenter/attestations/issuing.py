"""The application's side of issuing: its signing identity, its content and its live evidence."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from trustcenter.accounts.models import Organisation
from trustcenter.attestations import kinds, service, signing_identity
from trustcenter.attestations.models import Attestation
from trustcenter.attestations.render import logo_data_uri
from trustcenter.evidence.service import current_results, results_digest
from trustcenter.faq import service as faq_service
from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.requests.models import RightsRequest


def issuer() -> service.Issuer:
    content = current_content()
    return service.Issuer(identity=signing_identity(current_app), site=content.site,
                          logo=logo_data_uri(current_app.config["CONTENT_DIR"], content.site.logo),
                          verify_page=external_url("attestations.verify"))


def posture_for(session: Session, org: Organisation | None, actor_id: str | None) -> Attestation:
    """The posture attestation for the current content version and evidence: the stored one if unchanged."""
    content = current_content()
    evidence = current_results(session)
    published = faq_service.published_at(session, content.version, current_app.extensions["published_dates"])
    draft = kinds.posture(content, org, evidence, results_digest(evidence),
                          published.date() if published else None)
    attestation = service.issue(session, issuer(), draft, actor_id)
    session.commit()
    return attestation


def certificate_for(session: Session, request: RightsRequest, actor_id: str | None) -> Attestation:
    """The fulfilment certificate of a completed request, issued once."""
    org = session.get(Organisation, request.org_id)
    attestation = service.issue(session, issuer(), kinds.certificate(request, org), actor_id)
    session.commit()
    return attestation
