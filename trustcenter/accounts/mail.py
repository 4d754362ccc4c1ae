"""Account e-mails: rendered from templates, queued in the caller's transaction."""

from __future__ import annotations

from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from trustcenter.faq.current import current_content
from trustcenter.notify import queue_mail

SUBJECTS = {
    "invitation": "You're invited to the {site.company} trust center",
    "already_member": "You already have a {site.company} trust center account",
    "password_reset": "Reset your {site.company} trust center password",
    "password_changed": "Your {site.company} trust center password was changed",
    "mfa_changed": "Two-factor authentication changed on your {site.company} account",
    "enrolment_link": "Set up two-factor authentication for the {site.company} trust center",
}


def send(session: Session, to: str, template: str, **context: Any) -> None:
    """Render `accounts/mail/<template>.{txt,html}` and put it in the outbox."""
    site = current_content().site
    subject = SUBJECTS[template].format(site=site)
    text = render_template(f"accounts/mail/{template}.txt", site=site, **context)
    html = render_template(f"accounts/mail/{template}.html", site=site, subject=subject, **context)
    queue_mail(session, to=to, subject=subject, text=text, html=html)
