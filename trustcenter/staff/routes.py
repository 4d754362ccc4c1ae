"""Staff and DPO pages: the audit log browser."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from trustcenter.access import roles_required
from trustcenter.accounts.roles import PROVIDER_ROLES
from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.staff import service
from trustcenter.staff.forms import AuditFilterForm

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates")
PAGE_SIZE = 50


@bp.get("/audit")
@roles_required(*PROVIDER_ROLES)
def audit_log() -> Response:
    filters = AuditFilterForm(request.args)
    if not filters.validate():
        response = render("staff/audit.html", block="rows", filters=filters, entries=[], has_more=False)
        response.status_code = 400
        return response
    entries, has_more = service.browse_audit_log(db.session(), current_user, request.remote_addr,
                                                 filters.search_filters(), before_id=filters.before.data,
                                                 page_size=PAGE_SIZE)
    older = filters.query_for(before=entries[-1].entry.id) if has_more else None
    return render("staff/audit.html", block="rows", filters=filters, entries=entries, has_more=has_more,
                  older=older)


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
