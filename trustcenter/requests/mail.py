"""Request e-mails: they say what happened and link to the request; what was written stays behind sign-in."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.notify import queue_mail
from trustcenter.requests import service
from trustcenter.requests.models import RightsRequest

SUBJECTS = {
    "request_received": "We received your request {reference}",
    "request_new": "New request {reference} ({kind}), due {due}",
    "request_updated": "Your request {reference}: {state}",
    "request_extended": "Your request {reference}: we need more time",
    "request_message": "A new message about your request {reference}",
    "request_reply_received": "The requester replied on {reference}",
    "request_due_soon": "Request {reference} is due {due}",
    "request_confirm": "Confirm your request to {company}",
    "request_referred": "A request about personal data you control: {reference}",
}
# Mail for staff links to the queue's page, everyone else's to their own.
STAFF_TEMPLATES = frozenset({"request_new", "request_reply_received", "request_due_soon"})


def send(session: Session, to: str, template: str, *, request: RightsRequest, **context: Any) -> None:
    """Render `requests/mail/<template>.txt` (and its HTML twin) and put it in the outbox."""
    site = current_content().site
    subject = SUBJECTS[template].format(reference=request.reference, kind=request.kind_enum.label,
                                        due=f"{request.due_on:%-d %b %Y}", state=request.state_enum.label.lower(),
                                        company=site.company)
    link = link_for(session, request, template, context.get("token"))
    text = render_template(f"requests/mail/{template}.txt", site=site, request=request, link=link, **context)
    paragraphs = [p for p in text.split("\n\n") if p.strip() and link not in p]
    html = render_template("requests/mail/_layout.html", site=site, subject=subject, paragraphs=paragraphs,
                           link=link, link_text=f"Open request {request.reference}")
    queue_mail(session, to=to, subject=subject, text=text, html=html)


def link_for(session: Session, request: RightsRequest, template: str, token: str | None) -> str:
    """Staff open the queue's page; customers their account's; someone without an account a link of their own."""
    if template in STAFF_TEMPLATES:
        return external_url("staff_requests.detail", request_id=request.id)
    if template == "request_confirm":
        return external_url("requests.confirm", token=token)
    if request.requester_id is None and template != "request_referred":
        return external_url("requests.follow", token=service.issue_follow_link(session, request))
    return external_url("requests.detail", request_id=request.id)
