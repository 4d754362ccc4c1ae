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

from trustcenter.access import needs_second_factor, one_click, public, roles_required
from trustcenter.accounts.throttle import account_key, throttled
from trustcenter.accounts.roles import CUSTOMER_ROLES, PROVIDER_ROLES
from trustcenter.db import as_utc
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.htmx import render, wants_fragment
from trustcenter.notices import service, subprocessors, subscriptions
from trustcenter.notices.forms import (
    AnnounceForm,
    AuthorityForm,
    ConfirmForm,
    IncidentForm,
    NoticeForm,
    ObjectionForm,
    RegisterFilterForm,
    SubscribeForm,
    TopicsForm,
)
from trustcenter.notices.mail import compose, send_subscription_mail
from trustcenter.notices.models import PUBLISHED, Incident, Notice, Phase, Severity, Status, SubprocessorChange
from trustcenter.notices.service import Actor, Facts, NoticeError, RegisterFilters
from trustcenter.notices.subscriptions import SubscriptionError
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
        form.aware_at.data = as_utc(incident.aware_at).replace(tzinfo=None)
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
                                                   Severity(form.severity.data), Status(form.status.data), tenants,
                                                   aware_at=utc(form.aware_at.data)),
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
    session = db.session()
    report = service.delivery(session, found, notice)
    if not wants_fragment():  # the list of people: each view is audited (the progress it polls is counts only)
        service.delivery_viewed(session, actor(), found, notice)
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
    for field in (form.since, form.until):
        if field.errors:
            field.raw_data = []  # a date input cannot show what is not a date; the error says what was wrong
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
    found = service.register(session, register_filters(form))
    service.register_downloaded(session, actor(), len(found))
    rows = service.register_rows(session, found)
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
    receipt = service.mark_read(session, current_user, notice)
    incident = session.get(Incident, notice.incident_id)
    return render_template("notices/show.html", notice=notice, incident=incident,
                           acknowledged=receipt.acknowledged_at is not None,
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
    if needs_second_factor(current_user):
        return []  # the password alone shows nothing of the account
    if not request.path.startswith("/account"):
        return []
    return service.unacknowledged(db.session(), current_user)


# -- subscriptions ----------------------------------------------------------------------------------------------

def provider_name() -> str:
    return current_content().site.company


@bp.route("/subscribe", methods=["GET", "POST"])
@public
@throttled("10 per 10 minutes", "30 per hour", key=account_key("email"), per_account="3 per day")
def subscribe() -> Response | str:
    form = SubscribeForm()
    if form.validate_on_submit():
        try:
            subscriptions.subscribe(db.session(), form.email.data, form.faq.data, form.subprocessors.data,
                                    send_subscription_mail, request.remote_addr)
        except SubscriptionError as error:
            db.session().rollback()
            form.email.errors.append(str(error))
        else:
            return render("notices/subscribe_sent.html", block="sent", email=form.email.data)
    status = 422 if request.method == "POST" else 200
    return render("notices/subscribe.html", block="subscribe_form", form=form), status


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_subscription(token: str) -> Response | str:
    """A button, not the link itself: mail scanners open links, and must not confirm for anyone."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        found = subscriptions.confirm(db.session(), token, request.remote_addr, provider_name())
        if found is None:
            return render_template("notices/subscription_link_expired.html"), 410
        flash("Subscribed: we will e-mail you when something changes.", "success")
        return redirect(url_for("faq.changelog"), code=303)
    if subscriptions.from_token(db.session(), token, "confirm") is None:
        return render_template("notices/subscription_link_expired.html"), 410
    return render_template("notices/subscription_confirm.html", form=form)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@one_click
def unsubscribe(token: str) -> Response | str:
    """RFC 8058: a mail provider POSTs `List-Unsubscribe=One-Click` here with no session and no CSRF token;
    the token in the address is the proof. A person opening the link gets a page with a button."""
    session = db.session()
    found = subscriptions.from_token(session, token, "unsubscribe")
    if request.method == "POST":
        if found is not None:
            subscriptions.unsubscribe(session, found, request.remote_addr)
        return render_template("notices/unsubscribed.html")  # the same answer when it was gone already
    if found is None:
        return render_template("notices/unsubscribed.html")
    return render_template("notices/unsubscribe.html", token=token)


@bp.route("/account/subscriptions", methods=["GET", "POST"])
@roles_required(*CUSTOMERS)
def account_subscriptions() -> Response | str:
    session = db.session()
    found = subscriptions.of_user(session, current_user)
    confirmed = found is not None and found.state == subscriptions.CONFIRMED
    form = TopicsForm(data=None if request.method == "POST" else {
        "faq": confirmed and found.faq, "subprocessors": confirmed and found.subprocessors})
    if form.validate_on_submit():
        subscriptions.set_for_user(session, current_user, form.faq.data, form.subprocessors.data, provider_name(),
                                   request.remote_addr)
        flash("Your choices are saved." if form.faq.data or form.subprocessors.data
              else "Unsubscribed: we will not e-mail you about changes.", "success")
        return redirect(url_for("notices.account_subscriptions"), code=303)
    return render_template("notices/account_subscriptions.html", form=form, email=current_user.email)


# -- subprocessor changes ---------------------------------------------------------------------------------------

def load_change(change_id: str) -> SubprocessorChange:
    found = subprocessors.change_for(db.session(), current_user, change_id)
    if found is None:
        abort(404)
    return found


@bp.route("/staff/subprocessor-changes", methods=["GET", "POST"])
@roles_required(*STAFF)
def subprocessor_changes() -> Response | str:
    session = db.session()
    form = AnnounceForm()
    if form.validate_on_submit():
        if attempt(lambda: subprocessors.announce(session, current_user, request.remote_addr, form.subprocessor.data,
                                                  form.change.data, form.details.data or "", form.days.data),
                   "Announced: customers see it in their account and may object until the window closes."):
            return redirect(url_for("notices.subprocessor_changes"), code=303)
    found = subprocessors.changes(session)
    counts = subprocessors.objection_counts(session)
    status = 422 if request.method == "POST" else 200
    return render_template("notices/staff_changes.html", form=form, changes=found, counts=counts,
                           is_open=subprocessors.is_open), status


@bp.get("/staff/subprocessor-changes/<change_id>")
@roles_required(*STAFF)
def subprocessor_change(change_id: str) -> str:
    session = db.session()
    found = load_change(change_id)
    return render_template("notices/staff_change.html", change=found, is_open=subprocessors.is_open(found),
                           objections=subprocessors.objections(session, found))


@bp.get("/account/subprocessor-changes")
@roles_required(*CUSTOMERS)
def customer_changes() -> str:
    session = db.session()
    found = subprocessors.changes(session)
    objected = subprocessors.objections_of_org(session, current_user.org_id)
    return render_template("notices/customer_changes.html", changes=found, objected=objected,
                           is_open=subprocessors.is_open, form=ObjectionForm())


@bp.post("/account/subprocessor-changes/<change_id>/object")
@roles_required(*CUSTOMERS)
def object_to_change(change_id: str) -> Response:
    session = db.session()
    found = load_change(change_id)
    form = ObjectionForm()
    if form.validate_on_submit():
        attempt(lambda: subprocessors.object_to(session, current_user, request.remote_addr, found, form.reason.data),
                "Your objection is recorded. Our Data Protection Officer will be in touch.")
    else:
        flash_form_errors(form)
    return redirect(url_for("notices.customer_changes"), code=303)
