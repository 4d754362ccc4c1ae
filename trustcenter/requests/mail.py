"""Request e-mails: they say what happened and link to the request; what was written stays behind sign-in."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.notify import queue_mail
from trustcenter.requests.models import RightsRequest

SUBJECTS = {
    "request_received": "We received your request {reference}",
    "request_new": "New request {reference} ({kind}), due {due}",
    "request_updated": "Your request {reference}: {state}",
    "request_extended": "Your request {reference}: we need more time",
    "request_message": "A new message about your request {reference}",
    "request_reply_received": "The requester replied on {reference}",
    "request_referred": "A request about personal data you control: {reference}",
}
# Mail for staff links to the queue's page, everyone else's to their own.
STAFF_TEMPLATES = frozenset({"request_new", "request_reply_received"})


def send(session: Session, to: str, template: str, *, request: RightsRequest, **context: Any) -> None:
    """Render `requests/mail/<template>.txt` (and its HTML twin) and put it in the outbox."""
    site = current_content().site
    subject = SUBJECTS[template].format(reference=request.reference, kind=request.kind_enum.label,
                                        due=f"{request.due_on:%-d %b %Y}", state=request.state_enum.label.lower(),
                                        company=site.company)
    endpoint = "staff_requests.detail" if template in STAFF_TEMPLATES else "requests.detail"
    link = external_url(endpoint, request_id=request.id)
    text = render_template(f"requests/mail/{template}.txt", site=site, request=request, link=link, **context)
    paragraphs = [p for p in text.split("\n\n") if p.strip() and link not in p]
    html = render_template("requests/mail/_layout.html", site=site, subject=subject, paragraphs=paragraphs,
                           link=link, link_text=f"Open request {request.reference}")
    queue_mail(session, to=to, subject=subject, text=text, html=html)
