"""The mail each recipient of a notice gets: the notice itself, and where to acknowledge it."""

from __future__ import annotations

from flask import render_template

from trustcenter.faq.current import current_content
from trustcenter.links import external_url
from trustcenter.notices.models import Incident, Notice
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
    """The SMS: who it is from, what it is about, and where to read it; the notice itself stays behind sign-in."""
    site = current_content().site
    link = external_url("notices.show", notice_id=notice.id)
    head = f"{site.company}: {notice.phase_enum.label.lower()} about a personal data incident ({incident.reference})."
    tail = f" Read and acknowledge it: {link}"
    room = MAX_BODY - len(head) - len(tail) - 1
    title = notice.title if len(notice.title) <= room else notice.title[:max(room - 1, 0)] + "…"
    return f"{head} {title}{tail}" if room > 0 else head + tail
