"""Export work for the worker: build queued exports one at a time; the retention purge deletes expired ones."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, render_template
from sqlalchemy.orm import Session

from trustcenter.exports import service
from trustcenter.exports.about import about
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.notify import queue_mail
from trustcenter.registry import RETENTION_PURGERS, WORKER_TASKS, registry

log = logging.getLogger(__name__)


def init_tasks(app: Flask) -> None:
    worker = service.worker_name()

    def build_one() -> int:
        with app.app_context():  # the page for people is rendered from a template
            session = db.session()
            export = service.claim_next(session, worker)
            if export is None:
                return 0
            export_id = export.id
            content = current_content()
            try:
                service.build(session, export, render_index, about(content.site, content.version), content.version,
                              days=app.config["EXPORT_DAYS"])
                tell_ready(session, export_id)
            except Exception:  # noqa: BLE001 - one bad export must not stop the worker or the mail
                log.exception("export %s failed", export_id)
                service.fail(session, export_id, "Something went wrong while preparing it. Prepare a new one.")
            return 1

    def purge(session: Session, _older_than: dt.timedelta) -> int:
        return service.purge_expired(session)  # on their own clock: EXPORT_DAYS, whatever the log's retention

    registry(app, WORKER_TASKS).register("exports", build_one)
    registry(app, RETENTION_PURGERS).register("expired exports", purge)


def render_index(data: dict, about_data: dict) -> str:
    return render_template("exports/archive.html", data=data, about=about_data, site=current_content().site)


def tell_ready(session: Session, export_id: str) -> None:
    """Mail whoever asked: the export is ready, for so many days (the link leads to the signed-in page)."""
    from trustcenter.accounts.models import User
    from trustcenter.exports.models import Export
    from trustcenter.links import external_url

    export = session.get(Export, export_id)
    if export is not None and export.request_id:
        answer_request(session, export)
        return
    asker = session.get(User, export.requested_by) if export and export.requested_by else None
    if export is None or asker is None or not asker.email:
        return
    site = current_content().site
    link = external_url("exports.detail", export_id=export.id)
    text = render_template("exports/mail/ready.txt", site=site, export=export, link=link)
    queue_mail(session, to=asker.email, subject=f"Your {site.company} data export is ready", text=text,
               html=render_template("requests/mail/_layout.html", site=site, subject="Your data export is ready",
                                    paragraphs=[p for p in text.split("\n\n") if link not in p], link=link,
                                    link_text="Download your export"))
    session.commit()


def answer_request(session: Session, export) -> None:  # noqa: ANN001
    """An access or portability request answered with this export: completed, the requester told by mail."""
    from trustcenter.accounts.models import User
    from trustcenter.requests import service as requests
    from trustcenter.requests.mail import send
    from trustcenter.requests.models import RightsRequest

    request = session.get(RightsRequest, export.request_id)
    staff = session.get(User, export.requested_by) if export.requested_by else None
    if request is None or not request.state_enum.is_open:
        return
    outcome = (f"Your data is ready: download the export from this page until {export.expires_at:%-d %B %Y}. "
               "It holds everything we hold about you, as JSON, CSV and a page to read, with a manifest.")
    requests.close(session, requests.Viewer(staff), request, requests.State.COMPLETED, outcome)
    if request.requester_email:
        send(session, request.requester_email, "request_updated", request=request, message=outcome)
        session.commit()
