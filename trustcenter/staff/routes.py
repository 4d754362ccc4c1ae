"""Staff and DPO pages: the audit log browser."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from trustcenter.access import roles_required
from trustcenter.accounts.roles import PROVIDER_ROLES
from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.staff import service

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")
PAGE_SIZE = 50


def _date(name: str) -> dt.datetime | None:
    """A yyyy-mm-dd query parameter as a UTC datetime; anything else is ignored."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@bp.get("/audit")
@roles_required(*PROVIDER_ROLES)
def audit_log() -> Response:
    session = db.session()
    filters = {
        "action": request.args.get("action", "").strip()[:64] or None,
        "since": _date("since"),
        "until": _date("until"),
    }
    if filters["until"]:
        filters["until"] += dt.timedelta(days=1)  # inclusive of the whole day
    entries, has_more = service.browse_audit_log(session, current_user, request.remote_addr, filters,
                                                 before_id=_int("before"), page_size=PAGE_SIZE)
    return render("staff/audit.html", block="rows", entries=entries, has_more=has_more,
                  next_before=entries[-1].id if entries else None, args=request.args)


@bp.get("/customers")
@roles_required(*PROVIDER_ROLES)
def customers() -> str:
    return render_template("staff/customers.html", organisations=service.customer_organisations(db.session()))


@bp.get("/customers/<org_id>")
@roles_required(*PROVIDER_ROLES)
def customer(org_id: str) -> str:
    session = db.session()
    org = service.get_customer_for(current_user, session, org_id)
    if org is None:
        abort(404)
    people = service.people_of(session, current_user, org, request.remote_addr)
    return render_template("staff/customer.html", org=org, people=people)
