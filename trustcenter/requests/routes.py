"""Rights requests: customers file and follow theirs at /account/requests; staff work the queue at /staff/requests.

Every request is loaded through `service.request_for`, which checks tenant and role; anything else is a 404.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from trustcenter.access import public, roles_required
from trustcenter.accounts.service import provider_organisation, secret_digest
from trustcenter.accounts.throttle import account_key, throttled
from trustcenter.accounts.models import User
from trustcenter.accounts.roles import PROVIDER_ROLES, Role
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.htmx import render
from trustcenter.exports import service as exports
from trustcenter.exports.models import PERSON
from trustcenter.request_guard import accepts_uploads
from trustcenter.spreadsheet import csv_lines
from trustcenter.requests import attachments, fulfilment, kinds, service
from trustcenter.requests.forms import (
    AssignForm,
    ConfirmForm,
    ExtendForm,
    FulfilForm,
    KindChoiceForm,
    MessageForm,
    MoveForm,
    QueueFilterForm,
    WithdrawForm,
    answers_of,
    request_form,
)
from trustcenter.requests.mail import send
from trustcenter.requests.models import Kind, RightsRequest, State
from trustcenter.requests.service import Clock, QueueFilters, RequestError, Viewer

bp = Blueprint("requests", __name__, template_folder="templates")
staff_bp = Blueprint("staff_requests", __name__, url_prefix="/staff/requests", template_folder="templates")
QUEUE_PAGE_SIZE = 50
KIND_VALUES = frozenset(kind.value for kind in Kind)
# A 10 MB file plus the form around it, in multipart encoding.
UPLOAD_LIMIT = attachments.MAX_BYTES + 64 * 1024


@bp.app_template_filter("state_label")
def state_label(value: str) -> str:
    return State(value).label


def the_clock() -> Clock:
    return Clock(current_app.config["WORKING_CALENDAR"], current_app.config["TIMEZONE"])


FOLLOWED_KEY = "followed_requests"  # requests this browser may follow without an account, opened by mailed links
MAX_FOLLOWED = 20


def viewer() -> Viewer:
    if not current_user.is_authenticated:
        return Viewer(None, request.remote_addr, frozenset(session.get(FOLLOWED_KEY, ())))
    return Viewer(current_user._get_current_object(), request.remote_addr)  # the user, not the proxy


def staff_inbox() -> str:
    """New requests and replies go to the Data Protection Officer's address from the content."""
    return current_content().site.dpo_email


def load(request_id: str) -> RightsRequest:
    found = service.request_for(db.session(), current_user, request_id)
    if found is None:
        abort(404)
    return found


def flash_form_errors(form: FlaskForm) -> None:
    flash(" ".join(error for errors in form.errors.values() for error in errors), "error")


def attempt(action: Callable[[], object], success: str) -> None:
    """Run a service call; say what happened, or why it could not."""
    try:
        action()
    except RequestError as error:
        flash(str(error), "error")
    else:
        flash(success, "success")


def back_to(request_id: str) -> Response:
    return redirect(url_for("requests.detail", request_id=request_id), code=303)


# -- customers ------------------------------------------------------------------------------------------------

@bp.get("/account/requests")
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
def index() -> str:
    session = db.session()
    requests = service.requests_of(session, current_user)
    return render_template("requests/index.html", requests=requests, today=the_clock().today(),
                           days_left=service.days_left)


@bp.route("/account/requests/new", methods=["GET", "POST"])
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
def new() -> Response | str:
    """Step one picks the right (a GET form); step two asks only what that right needs."""
    choice = KindChoiceForm(request.args if request.method == "GET" else MultiDict({"kind": request.args.get("kind")}))
    kind = Kind(choice.kind.data) if choice.validate() else None
    is_admin = current_user.role_enum is Role.CUSTOMER_ADMIN
    form = request_form(kind, is_admin) if kind else None
    status = 200
    if kind and form is not None and request.method == "POST":
        if form.validate_on_submit():
            try:
                filed = service.file_request(db.session(), viewer(), kind, answers_of(form), the_clock(), send,
                                             staff_inbox())
            except RequestError as error:
                flash(str(error), "error")
            else:
                flash(f"Request {filed.reference} filed. We have sent you a receipt.", "success")
                return back_to(filed.id)
        status = 422
    elif request.method == "POST":
        status = 400
    response = render("requests/new.html", block="request_form", choice=choice, kind=kind, form=form,
                      kinds={k.value: k for k in Kind})
    response.status_code = status
    return response


@bp.get("/account/requests/<request_id>")
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
def detail(request_id: str) -> str:
    return show(load(request_id), "requests")


def show(found: RightsRequest, actions: str) -> str:
    """A request as its requester sees it; `actions` is the blueprint whose reply and withdraw routes to use."""
    prefix = "requests." if actions == "requests" else "requests.followed_"
    events = service.timeline(db.session(), found, for_requester=True)
    return render_template("requests/detail.html", request_=found, answers=kinds.answers_in_words(
        found.kind_enum, found.details), events=events, files=service.files_of(db.session(), found, events),
        file_endpoint=prefix + "file",
        may_act=service.may_act_as_requester(viewer(), found), message_form=MessageForm(),
        withdraw_form=WithdrawForm(), today=the_clock().today(), days_left=service.days_left,
        export=exports.export_for_request(db.session(), found.id) if found.requester_id else None,
        reply_url=url_for(prefix + "reply", request_id=found.id),
        withdraw_url=url_for(prefix + "withdraw", request_id=found.id))


@bp.post("/account/requests/<request_id>/reply")
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
@accepts_uploads(UPLOAD_LIMIT, allowed=lambda: current_user.is_authenticated)
def reply(request_id: str) -> Response:
    found = load(request_id)
    post_reply(found)
    return back_to(found.id)


@bp.post("/account/requests/<request_id>/withdraw")
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
def withdraw(request_id: str) -> Response:
    found = load(request_id)
    withdraw_request(found)
    return back_to(found.id)


def uploaded(form: MessageForm) -> service.Upload | None:
    """The file sent with a message, read whole (the request guard capped the body already)."""
    storage = form.attachment.data
    if not storage or not getattr(storage, "filename", ""):
        return None
    return service.Upload(storage.filename, storage.read(attachments.MAX_BYTES + 1))


def post_reply(found: RightsRequest) -> None:
    form = MessageForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return
    attempt(lambda: service.post_message(db.session(), viewer(), found, form.body.data, send, the_clock(),
                                         staff_inbox(), attachment=uploaded(form)), "Message sent.")


def withdraw_request(found: RightsRequest) -> None:
    if WithdrawForm().validate_on_submit():
        attempt(lambda: service.withdraw(db.session(), viewer(), found, send, the_clock()),
                f"Request {found.reference} withdrawn.")


# -- people without an account --------------------------------------------------------------------------------

@bp.route("/requests/new", methods=["GET", "POST"])
@public
@throttled("10 per 10 minutes", "5 per hour", key=account_key("email"), per_account="10 per day")
def new_without_account() -> Response | str:
    """The same two steps, plus a name and the address to confirm; nothing is filed until it is confirmed."""
    if current_user.is_authenticated and not current_user.role_enum.is_provider:
        kind = request.args.get("kind", "")
        return redirect(url_for("requests.new", kind=kind if kind in KIND_VALUES else None), code=303)
    choice = KindChoiceForm(request.args if request.method == "GET" else MultiDict({"kind": request.args.get("kind")}))
    kind = Kind(choice.kind.data) if choice.validate() else None
    form = request_form(kind, False, contact=True) if kind else None
    status = 200
    if kind and form is not None and request.method == "POST":
        if form.validate_on_submit():
            session_ = db.session()
            try:
                provider = provider_organisation(session_, current_content().site.company)
                service.file_without_account(session_, viewer(), kind, answers_of(form), form.name.data,
                                             form.email.data, provider, send, the_clock())
            except RequestError as error:
                form.email.errors.append(str(error))
            else:
                return render_template("requests/check_mail.html", email=form.email.data)
        status = 422
    elif request.method == "POST":
        status = 400
    response = render("requests/new.html", block="request_form", choice=choice, kind=kind, form=form,
                      kinds={k.value: k for k in Kind}, without_account=True)
    response.status_code = status
    return response


@bp.route("/requests/confirm/<token>", methods=["GET", "POST"])
@public
# Counted per link by its digest: the counters never hold a usable token.
@throttled("20 per 10 minutes", "10 per 15 minutes",
           key=lambda: secret_digest((request.view_args or {}).get("token", "")))
def confirm(token: str) -> Response | str:
    """A button, not the link itself: mail scanners that open links must not file requests."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            filed = service.confirm_request(db.session(), viewer(), token, the_clock(), send, staff_inbox())
        except RequestError as error:
            return render_template("requests/link_expired.html", message=str(error)), 410
        remember_followed(filed.id)
        flash(f"Request {filed.reference} filed. We have sent you a receipt.", "success")
        return redirect(url_for("requests.followed", request_id=filed.id), code=303)
    return render_template("requests/confirm.html", form=form, token=token)


@bp.get("/requests/follow/<token>")
@public
def follow(token: str) -> Response | str:
    """A mailed link opens its request in this browser, then the address bar shows the plain request URL."""
    found = service.follow_link_request(db.session(), token)
    if found is None or found.requester_id is not None:
        return render_template("requests/link_expired.html", message=(
            "This link has expired. Use the link in the newest mail about your request, or write to our Data "
            "Protection Officer.")), 410
    remember_followed(found.id)
    return redirect(url_for("requests.followed", request_id=found.id), code=303)


def remember_followed(request_id: str) -> None:
    followed = [i for i in session.get(FOLLOWED_KEY, []) if i != request_id]
    session[FOLLOWED_KEY] = (followed + [request_id])[-MAX_FOLLOWED:]


def load_followed(request_id: str) -> RightsRequest:
    found = service.followed_request(db.session(), viewer(), request_id)
    if found is None:
        abort(404)
    return found


@bp.get("/requests/<request_id>")
@public
def followed(request_id: str) -> str:
    return show(load_followed(request_id), "followed")


@bp.post("/requests/<request_id>/reply")
@public
# Only a browser that a mailed link let follow this request may send it a file.
@accepts_uploads(UPLOAD_LIMIT, allowed=lambda: (request.view_args or {}).get("request_id") in session.get(
    FOLLOWED_KEY, ()))
@throttled("30 per hour", "30 per hour", key=lambda: (request.view_args or {}).get("request_id"))
def followed_reply(request_id: str) -> Response:
    found = load_followed(request_id)
    post_reply(found)
    return redirect(url_for("requests.followed", request_id=found.id), code=303)


@bp.post("/requests/<request_id>/withdraw")
@public
def followed_withdraw(request_id: str) -> Response:
    found = load_followed(request_id)
    withdraw_request(found)
    return redirect(url_for("requests.followed", request_id=found.id), code=303)


# -- staff ----------------------------------------------------------------------------------------------------

@staff_bp.get("")
@roles_required(*PROVIDER_ROLES)
def queue() -> Response:
    session = db.session()
    filters = QueueFilterForm(request.args)
    organisations = service.customer_organisations(session)
    filters.org.choices = [("", "Any customer")] + [(org.id, org.display_name) for org in organisations]
    people = service.provider_people(session)
    filters.assignee.choices = [("", "Anyone"), ("none", "Nobody yet")] + [(p.id, p.display_name) for p in people]
    today = the_clock().today()
    if not filters.validate():
        response = render("requests/queue.html", block="rows", filters=filters, rows=[], next_page=None,
                          calendar_name=current_app.config["WORKING_CALENDAR"],
                          today=today, names={}, orgs={}, days_left=service.days_left)
        response.status_code = 400
        return response
    rows, cursor = service.queue_page(session, viewer(), QueueFilters(
        kind=filters.kind.data or "", state=filters.state.data or "", due=filters.due.data or "",
        org_id=filters.org.data or "", assignee=filters.assignee.data or "", after=filters.cursor()),
        today, QUEUE_PAGE_SIZE)
    next_page = filters.query_for(after=f"{cursor[0].isoformat()}.{cursor[1]}") if cursor else None
    to_approve = fulfilment.awaiting_approval(session) if current_user.role_enum is Role.DPO else []
    return render("requests/queue.html", block="rows", filters=filters, rows=rows, next_page=next_page, today=today,
                  calendar_name=current_app.config["WORKING_CALENDAR"], to_approve=to_approve,
                  names=service.people_named(session, {r.assignee_id for r in rows}),
                  orgs=service.organisations_named(session, {r.org_id for r in rows}), days_left=service.days_left)


@bp.get("/staff/requests.csv")  # beside the queue: a blueprint prefix cannot end in ".csv"
@roles_required(*PROVIDER_ROLES)
def register() -> Response:
    """The register as CSV: every request the queue's filters select (default: open ones), streamed."""
    filters = QueueFilterForm(request.args)
    filters.org.choices = [("", "")]
    filters.assignee.choices = [("", "")]
    if not filters.validate():
        abort(400)
    rows = service.register_rows(db.session(), viewer(), QueueFilters(
        kind=filters.kind.data or "", state=filters.state.data or "", due=filters.due.data or "",
        org_id=filters.org.data or "", assignee=filters.assignee.data or ""), the_clock().today())
    response = Response(stream_with_context(csv_lines(service.REGISTER_COLUMNS, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="requests-{the_clock().today()}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@staff_bp.get("/<request_id>", endpoint="detail")
@roles_required(*PROVIDER_ROLES)
def staff_detail(request_id: str) -> str:
    session = db.session()
    found = load(request_id)
    events = service.timeline(session, found, for_requester=False)
    service.viewed(session, viewer(), found)
    move_form = MoveForm()
    move_form.to.choices = [(s.value, s.label) for s in State if s in service.TRANSITIONS.get(found.state_enum, ())]
    move_form.referred_org.choices = [("", "Choose a customer")] + [
        (org.id, org.display_name) for org in service.customer_organisations(session)]
    assign_form = AssignForm(assignee=found.assignee_id or "")
    assign_form.assignee.choices = [("", "Nobody")] + [(p.id, p.display_name) for p in service.provider_people(session)]
    today = the_clock().today()
    concerned = fulfilment.people_concerned(session, found)
    return render_template(
        "requests/staff_detail.html", request_=found, events=events, today=today, days_left=service.days_left,
        files=service.files_of(session, found, events),
        concerned=concerned, fulfil_form=FulfilForm(), rectifiable=fulfilment.RECTIFIABLE,
        export=exports.export_for_request(session, found.id),
        approved=fulfilment.is_approved(session, found), whole_organisation=fulfilment.organisation_scope(found),
        stoppable=fulfilment.STOPPABLE,
        answers=kinds.answers_in_words(found.kind_enum, found.details), move_form=move_form,
        extend_form=ExtendForm(), assign_form=assign_form, message_form=MessageForm(),
        may_extend=found.state_enum.is_open and found.extension_months < service.MAX_EXTENSION_MONTHS and
        service.extension_allowed(found, today, the_clock()),
        names=service.people_named(session, {e.actor_id for e in events} | {found.assignee_id, found.requester_id}),
        orgs=service.organisations_named(session, {found.org_id, found.referred_org_id}))


def staff_back_to(request_id: str) -> Response:
    return redirect(url_for("staff_requests.detail", request_id=request_id), code=303)


@staff_bp.post("/<request_id>/move")
@roles_required(*PROVIDER_ROLES)
def move(request_id: str) -> Response:
    session = db.session()
    found = load(request_id)
    form = MoveForm()
    form.to.choices = [(s.value, s.label) for s in State]
    if not form.validate_on_submit():
        flash("Choose the new state.", "error")
        return staff_back_to(found.id)
    referred = None
    if form.referred_org.data:
        referred = next((org for org in service.customer_organisations(session)
                         if org.id == form.referred_org.data), None)
    try:
        service.move(session, viewer(), found, State(form.to.data), form.message.data, the_clock(), send,
                     referred_org=referred)
    except RequestError as error:
        flash(str(error), "error")
    else:
        flash(f"{found.reference} is now {found.state_enum.label.lower()}. The requester has been told.", "success")
    return staff_back_to(found.id)


@staff_bp.post("/<request_id>/extend")
@roles_required(*PROVIDER_ROLES)
def extend(request_id: str) -> Response:
    found = load(request_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return staff_back_to(found.id)
    attempt(lambda: service.extend(db.session(), viewer(), found, int(form.months.data), form.reason.data,
                                   the_clock(), send),
            "Deadline extended. The requester has been told the reason.")
    return staff_back_to(found.id)


@staff_bp.post("/<request_id>/message")
@roles_required(*PROVIDER_ROLES)
@accepts_uploads(UPLOAD_LIMIT, allowed=lambda: current_user.is_authenticated)
def message(request_id: str) -> Response:
    found = load(request_id)
    form = MessageForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return staff_back_to(found.id)
    attempt(lambda: service.post_message(db.session(), viewer(), found, form.body.data, send, the_clock(),
                                         staff_inbox(), internal=bool(form.internal.data), attachment=uploaded(form)),
            "Internal note added." if form.internal.data else "Message sent to the requester.")
    return staff_back_to(found.id)


@staff_bp.post("/<request_id>/assign")
@roles_required(*PROVIDER_ROLES)
def assign(request_id: str) -> Response:
    session = db.session()
    found = load(request_id)
    form = AssignForm()
    if form.validate_on_submit():
        people = {p.id: p for p in service.provider_people(session)}
        if form.assignee.data and form.assignee.data not in people:
            flash("Requests are assigned to our staff, the DPO or an administrator.", "error")
            return staff_back_to(found.id)
        service.assign(session, viewer(), found, people.get(form.assignee.data or ""))
        flash("Assignment saved.", "success")
    return staff_back_to(found.id)


FULFILMENT_ACTIONS = ("approve", "erase", "rectify", "restrict", "lift", "stop", "export")


@staff_bp.post("/<request_id>/fulfil/<action>")
@roles_required(*PROVIDER_ROLES)
def fulfil(request_id: str, action: str) -> Response:
    """Do what the request asks; one route, each action checked and recorded by `fulfilment`."""
    session = db.session()
    found = load(request_id)
    form = FulfilForm()
    if action not in FULFILMENT_ACTIONS:
        abort(404)
    if not form.validate_on_submit():
        flash("That did not work: reload the page and try again.", "error")
        return staff_back_to(found.id)
    person = next((p for p in fulfilment.people_concerned(session, found) if p.id == form.person.data), None)
    try:
        message = run_fulfilment(action, found, person, form)
    except RequestError as error:
        flash(str(error), "error")
    else:
        flash(message, "success")
    return staff_back_to(found.id)


def run_fulfilment(action: str, found: RightsRequest, person: User | None, form: FulfilForm) -> str:
    session, who = db.session(), viewer()
    if action == "approve":
        fulfilment.approve_erasure(session, who, found)
        return "Erasure approved. It can be carried out now."
    if action == "erase":
        return fulfilment.carry_out_erasure(session, who, found, the_clock(), send)
    if person is None:
        raise RequestError("Choose the account this request is about.")
    if action == "export":
        return answer_with_export(found, person)
    if action == "rectify":
        fulfilment.rectify(session, who, found, person, form.field.data or "", form.value.data or "")
        return "Corrected. The requester sees what it said and what it says now."
    if action in ("restrict", "lift"):
        fulfilment.restrict(session, who, found, person, lift=action == "lift")
        return "Restriction lifted." if action == "lift" else "Processing restricted."
    return f"Stopped: {fulfilment.stop_processing(session, who, found, person)}."


# -- files ----------------------------------------------------------------------------------------------------

def send_attachment(found: RightsRequest, for_requester: bool, file_id: str) -> Response:
    """A file as a download under its checked type, never rendered in the page; each download recorded."""
    session = db.session()
    item = service.file_for(session, found, file_id, for_requester)
    if item is None:
        abort(404)
    content, media_type, name = item.content or b"", item.media_type, item.filename or "file"
    service.record_download(session, viewer(), found, item)
    # send_file writes the name both plainly and RFC 5987-encoded, so any name survives the header.
    response = send_file(io.BytesIO(content), mimetype=media_type, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/account/requests/<request_id>/files/<file_id>")
@roles_required(Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)
def file(request_id: str, file_id: str) -> Response:
    return send_attachment(load(request_id), True, file_id)


@bp.get("/requests/<request_id>/files/<file_id>")
@public
def followed_file(request_id: str, file_id: str) -> Response:
    return send_attachment(load_followed(request_id), True, file_id)


@staff_bp.get("/<request_id>/files/<file_id>")
@roles_required(*PROVIDER_ROLES)
def staff_file(request_id: str, file_id: str) -> Response:
    return send_attachment(load(request_id), False, file_id)


def answer_with_export(found: RightsRequest, person: User) -> str:
    """Access and portability (Art. 15, 20): the worker prepares the person's export; when it is ready, the
    request completes and the requester downloads it from the request's page."""
    if found.kind_enum not in (Kind.ACCESS, Kind.PORTABILITY) or not found.state_enum.is_open:
        raise RequestError("Only an open access or portability request is answered with an export.")
    if found.requester_id != person.id:
        raise RequestError("The export is for the requester's own account: they download it from their page.")
    try:
        exports.request_export(db.session(), exports.Actor(current_user._get_current_object(), request.remote_addr),
                               PERSON, request_id=found.id, subject=person)
    except exports.ExportError as error:
        raise RequestError(str(error)) from None
    service.add_event(db.session(), found, viewer(), "export_requested", body="We are preparing your export.")
    db.session().commit()
    return "The export is being prepared; the request completes by itself when it is ready."
