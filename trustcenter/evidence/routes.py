"""`/staff/evidence`: every check's current result with details and history, and "Run checks now"."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, redirect, request, url_for
from flask_login import current_user

from trustcenter.access import roles_required
from trustcenter.accounts.roles import PROVIDER_ROLES
from trustcenter.accounts.service import Actor, record
from trustcenter.evidence import service
from trustcenter.evidence.display import BADGES
from trustcenter.evidence.probe import STATUS_WORDS
from trustcenter.evidence.tasks import VERSION
from trustcenter.extensions import db
from trustcenter.htmx import render

bp = Blueprint("evidence", __name__, url_prefix="/staff/evidence", template_folder="templates")
HISTORY = 10


@bp.get("")
@roles_required(*PROVIDER_ROLES)
def overview() -> Response:
    session = db.session()
    return render("evidence/staff.html", block="results", results=service.current_results(session),
                  history=service.history(session, HISTORY), words=STATUS_WORDS, badges=BADGES,
                  details_of=json.loads, ran=request.args.get("ran") == "1")


@bp.post("/run")
@roles_required(*PROVIDER_ROLES)
def run() -> Response:
    """Run every check now, as staff; audited like any other staff action."""
    session = db.session()
    results = service.run_checks(current_app._get_current_object(), session)
    counts = {status: sum(1 for r in results if r.status == status) for status in STATUS_WORDS}
    record(session, Actor(current_user._get_current_object(), request.remote_addr), "evidence.checked", None,
           digest=service.results_digest(results), **counts)
    session.commit()
    current_app.extensions[VERSION].expire()  # this process's cached FAQ pages show the new results at once
    return redirect(url_for("evidence.overview", ran=1), code=303)
