"""Staff, DPO and administrator pages: customers, the audit log, and (administrators) people."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from limits import parse
from wtforms.fields.choices import SelectChoice

from trustcenter.access import roles_required
from trustcenter.accounts import onboarding
from trustcenter.accounts.mail import send
from trustcenter.accounts.models import Organisation
from trustcenter.accounts.roles import PROVIDER_ROLES, Role
from trustcenter.accounts.service import AccountError
from trustcenter.accounts.throttle import limited
from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.staff import people as staff_people
from trustcenter.staff import service
from trustcenter.staff.forms import AdminInviteForm, AuditFilterForm, RoleForm

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


# -- people (administrators only) --------------------------------------------------------------------------


@bp.route("/people", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@limited([("inviter", parse("20 per hour"), lambda: current_user.get_id())])
def people() -> Response | str:
    """Everyone with an account, and an invitation form for any organisation."""
    session = db.session()
    form = AdminInviteForm()
    organisations = service.all_organisations(session)
    form.org_id.choices = [SelectChoice(org.id, org.display_name) for org in organisations]
    if form.validate_on_submit():
        try:
            onboarding.invite(session, current_user, session.get(Organisation, form.org_id.data), form.email.data,
                              form.role.data, send, request.remote_addr)
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            flash("Invitation sent.", "success")
            return redirect(url_for("staff.people"), code=303)
    return render_template("staff/people.html", form=form,
                           people=staff_people.everyone(session, current_user, request.remote_addr),
                           roles_for=staff_people.roles_for)


@bp.post("/people/<user_id>/<action>")
@roles_required(Role.ADMIN)
def change_person(user_id: str, action: str) -> Response:
    """Change a role, suspend or re-enable: one route, each action audited by the service."""
    session = db.session()
    person = staff_people.person_for(current_user, session, user_id)
    if person is None or action not in ("role", "suspend", "enable"):
        abort(404)
    try:
        if action == "role":
            staff_people.change_role(session, current_user, person, RoleForm().role.data or "", request.remote_addr)
        elif action == "suspend":
            staff_people.suspend(session, current_user, person, request.remote_addr)
        else:
            staff_people.reenable(session, current_user, person, request.remote_addr)
    except AccountError as error:
        flash(str(error), "error")
    else:
        flash("Saved. The change is in the audit log.", "success")
    return redirect(url_for("staff.people"), code=303)
