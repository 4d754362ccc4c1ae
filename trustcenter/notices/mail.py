"""The mail each recipient of a notice gets: the notice itself, and where to acknowledge it."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.notices import subscriptions
from trustcenter.notices.models import Incident, Notice, Subscription
from trustcenter.notices.sms import MAX_BODY


def compose(notice: Notice, incident: Incident) -> tuple[str, str, str]:
    """Subject, plain text and HTML; the same for every recipient (it names nobody)."""
    site = current_content().site
    subject = f"{notice.phase_enum.label}: {notice.title} ({incident.reference})"
    link = external_url("notices.show", notice_id=notice.id)
    paragraphs = [p.strip() for p in notice.body.split("\n\n") if p.strip()]
    text = render_template("notices/mail/notice.txt", site=site, notice=notice, incident=incident,
                           paragraphs=paragraphs, link=link)
    html = render_template("notices/mail/notice.html", site=site, subject=subject, notice=notice,
                           incident=incident, paragraphs=paragraphs, link=link)
    return subject, text, html


def text_message(notice: Notice, incident: Incident) -> str:
    """The SMS: who it is from, what it is about, and where to read it; the notice itself stays behind sign-in.
    The link always fits; the title is cut with "..." (plain ASCII keeps the text in the cheaper encoding)."""
    site = current_content().site
    tail = f" Read and acknowledge it: {external_url('notices.show', notice_id=notice.id)}"
    head = f"{site.company}: {notice.phase_enum.label.lower()} about a personal data incident ({incident.reference})."
    body = f"{head} {notice.title}"
    room = MAX_BODY - len(tail)
    return (body if len(body) <= room else body[:max(room - 3, 0)] + "...") + tail


SUBSCRIPTION_SUBJECTS = {
    "subscription_confirm": "Confirm your subscription to {company}'s trust center",
    "subscription_exists": "You are already subscribed to {company}'s trust center",
    "digest": "What changed at {company}'s trust center",
}


def send_subscription_mail(session: Session, to: str, template: str, *, subscription: Subscription,
                           confirm: str | None = None, unsubscribe: str | None = None,
                           message_id: str | None = None, **context: Any) -> None:
    """Render `notices/mail/<template>.txt` and its HTML twin and queue it; digests can be unsubscribed in one click."""
    site = current_content().site
    subject = SUBSCRIPTION_SUBJECTS[template].format(company=site.company)
    links = {"confirm_url": external_url("notices.confirm_subscription", token=confirm) if confirm else None,
             "unsubscribe_url": external_url("notices.unsubscribe", token=unsubscribe) if unsubscribe else None,
             "changelog_url": external_url("faq.changelog")}
    values = {"site": site, "subscription": subscription, **links, **context}
    text = render_template(f"notices/mail/{template}.txt", **values)
    html = render_template(f"notices/mail/{template}.html", subject=subject, **values)
    subscriptions.queue(session, to, subject, text, html,
                        unsubscribe_url=links["unsubscribe_url"] if template == "digest" else None,
                        message_id=message_id)
