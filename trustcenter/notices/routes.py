"""Incidents and notices at /staff/incidents; the customers' inbox at /account/notices and its banner.

Every incident and notice is loaded through the service's guards (`incident_for`, `notice_for_staff`,
`notice_for_customer`); anything else is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from trustcenter.access import roles_required
from trustcenter.accounts.roles import CUSTOMER_ROLES, PROVIDER_ROLES
from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.notices import service
from trustcenter.notices.forms import AuthorityForm, ConfirmForm, IncidentForm, NoticeForm, RegisterFilterForm
from trustcenter.notices.mail import compose
from trustcenter.notices.models import PUBLISHED, Incident, Notice, Phase, Severity, Status
from trustcenter.notices.service import Actor, Facts, NoticeError, RegisterFilters
from trustcenter.redirects import safe_next
from trustcenter.spreadsheet import csv_lines

bp = Blueprint("notices", __name__, template_folder="templates")
STAFF = tuple(PROVIDER_ROLES)
CUSTOMERS = tuple(CUSTOMER_ROLES)


def actor() -> Actor:
    return Actor(current_user._get_current_object(), request.remote_addr)  # the user, not the proxy


def load_incident(incident_id: str) -> Incident:
    found = service.incident_for(db.session(), current_user, incident_id)
    if found is None:
        abort(404)
    return found


def load_staff_notice(incident: Incident, notice_id: str) -> Notice:
    found = service.notice_for_staff(db.session(), current_user, incident, notice_id)
    if found is None:
        abort(404)
    return found


def attempt(action: Callable[[], object], success: str) -> bool:
    try:
        action()
    except NoticeError as error:
        db.session().rollback()
        flash(str(error), "error")
        return False
    flash(success, "success")
    return True


def back_to(incident: Incident) -> Response:
    return redirect(url_for("notices.incident", incident_id=incident.id), code=303)


def flash_form_errors(form: object) -> None:
    errors = getattr(form, "errors", {})
    flash(" ".join(error for messages in errors.values() for error in messages), "error")


# -- incidents ------------------------------------------------------------------------------------------------

@bp.get("/staff/incidents")
@roles_required(*STAFF)
def incidents() -> str:
    found = service.register(db.session(), RegisterFilters())
    return render_template("notices/incidents.html", incidents=found, clocks={
        i.id: service.clock_of(i) for i in found})


def incident_form(incident: Incident | None = None) -> IncidentForm:
    session = db.session()
    form = IncidentForm(obj=incident)
    form.tenants.choices = [SelectChoice(org.id, org.display_name) for org in service.customers(session)]
    if incident is None:
        del form.status  # a new incident is suspected until staff say otherwise
    if incident is not None and request.method == "GET":
        form.tenants.data = service.tenants_of(session, incident)
        form.scope.data = "all" if incident.all_customers else "chosen"
        form.aware_at.data = incident.aware_at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return form


def facts_of(form: IncidentForm) -> Facts:
    return Facts(**{name: getattr(form, name).data or "" for name in (
        "title", "nature", "people_affected", "records_affected", "consequences", "measures", "contact")})


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc)


@bp.route("/staff/incidents/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new_incident() -> Response | str:
    form = incident_form()
    if form.validate_on_submit():
        tenants = None if form.scope.data == "all" else list(form.tenants.data)
        try:
            found = service.record_incident(db.session(), actor(), facts_of(form), Severity(form.severity.data),
                                            utc(form.aware_at.data), tenants)
        except NoticeError as error:
            db.session().rollback()
            form.form_errors.append(str(error))
        else:
            flash(f"Incident {found.reference} recorded. The 72-hour clock runs from when the company became "
                  "aware.", "success")
            return back_to(found)
    status = 422 if request.method == "POST" else 200
    return render_template("notices/incident_form.html", form=form, incident=None), status


@bp.route("/staff/incidents/<incident_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_incident(incident_id: str) -> Response | str:
    found = load_incident(incident_id)
    form = incident_form(found)
    if form.validate_on_submit():
        tenants = None if form.scope.data == "all" else list(form.tenants.data)
        if attempt(lambda: service.update_incident(db.session(), actor(), found, facts_of(form),
                                                   Severity(form.severity.data), Status(form.status.data), tenants),
                   f"Incident {found.reference} updated."):
            return back_to(found)
    status = 422 if request.method == "POST" else 200
    return render_template("notices/incident_form.html", form=form, incident=found), status


@bp.get("/staff/incidents/<incident_id>")
@roles_required(*STAFF)
def incident(incident_id: str) -> str:
    session = db.session()
    found = load_incident(incident_id)
    notices = service.notices_of(session, found)
    names = {org.id: org.display_name for org in service.customers(session)}
    published = [n for n in notices if n.state == PUBLISHED]
    notice_form = NoticeForm(phase=Phase.UPDATE.value if published else Phase.INITIAL.value)
    return render_template("notices/incident.html", incident=found, clock=service.clock_of(found), notices=notices,
                           tenants=sorted(names.get(t, t) for t in service.tenants_of(session, found)),
                           authority_form=AuthorityForm(), notice_form=notice_form, confirm=ConfirmForm(),
                           is_dpo=actor().is_dpo)


@bp.post("/staff/incidents/<incident_id>/authority")
@roles_required(*STAFF)
def authority(incident_id: str) -> Response:
    found = load_incident(incident_id)
    form = AuthorityForm()
    if form.validate_on_submit():
        attempt(lambda: service.record_authority_notification(db.session(), actor(), found, utc(form.notified_at.data),
                                                              form.how.data, form.delay_reasons.data or ""),
                "Notification of the supervisory authority recorded.")
    else:
        flash_form_errors(form)
    return back_to(found)


@bp.post("/staff/incidents/<incident_id>/close")
@roles_required(*STAFF)
def close(incident_id: str) -> Response:
    found = load_incident(incident_id)
    if ConfirmForm().validate_on_submit():
        attempt(lambda: service.close_incident(db.session(), actor(), found), f"Incident {found.reference} closed.")
    return back_to(found)


# -- notices --------------------------------------------------------------------------------------------------

@bp.post("/staff/incidents/<incident_id>/notices")
@roles_required(*STAFF)
def draft(incident_id: str) -> Response:
    found = load_incident(incident_id)
    form = NoticeForm()
    if form.validate_on_submit():
        attempt(lambda: service.draft_notice(db.session(), actor(), found, Phase(form.phase.data), form.title.data,
                                             form.body.data), "Draft saved. Publish it, or send it for approval.")
    else:
        flash_form_errors(form)
    return back_to(found)


@bp.post("/staff/incidents/<incident_id>/notices/<notice_id>/approval")
@roles_required(*STAFF)
def ask_for_approval(incident_id: str, notice_id: str) -> Response:
    found = load_incident(incident_id)
    notice = load_staff_notice(found, notice_id)
    if ConfirmForm().validate_on_submit():
        attempt(lambda: service.ask_for_approval(db.session(), actor(), found, notice),
                "Sent to the Data Protection Officer for approval.")
    return back_to(found)


@bp.post("/staff/incidents/<incident_id>/notices/<notice_id>/publish")
@roles_required(*STAFF)
def publish(incident_id: str, notice_id: str) -> Response:
    found = load_incident(incident_id)
    notice = load_staff_notice(found, notice_id)
    if ConfirmForm().validate_on_submit():
        attempt(lambda: service.publish(db.session(), actor(), found, notice),
                "Published. Affected customers see it now; the mail goes out in the background.")
    return back_to(found)


@bp.get("/staff/incidents/<incident_id>/notices/<notice_id>")
@roles_required(*STAFF)
def delivery(incident_id: str, notice_id: str) -> str:
    found = load_incident(incident_id)
    notice = load_staff_notice(found, notice_id)
    report = service.delivery(db.session(), found, notice)
    return render("notices/delivery.html", block="delivery", incident=found, notice=notice, report=report,
                  confirm=ConfirmForm())


@bp.post("/staff/incidents/<incident_id>/notices/<notice_id>/resend")
@roles_required(*STAFF)
def resend(incident_id: str, notice_id: str) -> Response:
    found = load_incident(incident_id)
    notice = load_staff_notice(found, notice_id)
    if ConfirmForm().validate_on_submit():
        try:
            count = service.resend(db.session(), actor(), found, notice, compose)
        except NoticeError as error:
            db.session().rollback()
            flash(str(error), "error")
        else:
            flash(f"Sent again to {count} {'person' if count == 1 else 'people'} who had not acknowledged it.",
                  "success")
    return redirect(url_for("notices.delivery", incident_id=found.id, notice_id=notice.id), code=303)


# -- the register -----------------------------------------------------------------------------------------------

def register_filters(form: RegisterFilterForm) -> RegisterFilters:
    return RegisterFilters(since=form.since.data, until=form.until.data,
                           severity=Severity(form.severity.data) if form.severity.data else None)


@bp.get("/staff/incidents/register")
@roles_required(*STAFF)
def register() -> Response:
    form = RegisterFilterForm(request.args)
    valid = form.validate()
    found = service.register(db.session(), register_filters(form)) if valid else []
    filters = {name: request.args[name] for name in ("since", "until", "severity") if request.args.get(name)}
    response = render("notices/register.html", block="register", form=form, incidents=found,
                      clocks={i.id: service.clock_of(i) for i in found}, csv_args=filters)
    response.status_code = 200 if valid else 400
    return response


@bp.get("/staff/incidents/register.csv")
@roles_required(*STAFF)
def register_csv() -> Response:
    form = RegisterFilterForm(request.args)
    if not form.validate():
        abort(400)
    session = db.session()
    rows = service.register_rows(session, service.register(session, register_filters(form)))
    response = Response(stream_with_context(csv_lines(service.REGISTER_COLUMNS, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="breach-register-{dt.date.today()}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- customers --------------------------------------------------------------------------------------------------

def load_customer_notice(notice_id: str) -> Notice:
    found = service.notice_for_customer(db.session(), current_user, notice_id)
    if found is None:
        abort(404)
    return found


@bp.get("/account/notices")
@roles_required(*CUSTOMERS)
def inbox() -> str:
    return render_template("notices/inbox.html", notices=service.inbox(db.session(), current_user),
                           confirm=ConfirmForm())


@bp.get("/account/notices/<notice_id>")
@roles_required(*CUSTOMERS)
def show(notice_id: str) -> str:
    session = db.session()
    notice = load_customer_notice(notice_id)
    service.mark_read(session, current_user, notice)
    incident = session.get(Incident, notice.incident_id)
    acknowledged = any(r is not None and r.acknowledged_at for n, r in service.inbox(session, current_user)
                       if n.id == notice.id)
    return render_template("notices/show.html", notice=notice, incident=incident, acknowledged=acknowledged,
                           confirm=ConfirmForm())


@bp.post("/account/notices/<notice_id>/acknowledge")
@roles_required(*CUSTOMERS)
def acknowledge(notice_id: str) -> Response:
    notice = load_customer_notice(notice_id)
    if ConfirmForm().validate_on_submit():
        service.acknowledge(db.session(), current_user, notice, request.remote_addr)
        if request.headers.get("HX-Request") and not request.headers.get("HX-Boosted"):
            return Response("", status=200)  # the banner's entry is swapped out
        flash("Thank you: your acknowledgement is recorded.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for("notices.show", notice_id=notice.id), code=303)


@bp.app_template_global()
def banner_notices() -> list[Notice]:
    """For the banner in the customer area: what the signed-in customer has not acknowledged."""
    if not current_user.is_authenticated or current_user.role_enum in PROVIDER_ROLES:
        return []
    if not request.path.startswith("/account"):
        return []
    return service.unacknowledged(db.session(), current_user)
