"""The mail each recipient of a notice gets: the notice itself, and where to acknowledge it."""

from __future__ import annotations

from flask import render_template

from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.notices.models import Incident, Notice


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
