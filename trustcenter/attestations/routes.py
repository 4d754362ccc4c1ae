"""Signed documents: customers' at /account/attestations, the DPO's at /staff/attestations, /verify for anyone.

Issuing a document is a POST (it stores the document and audits it), answered with a 303 to the download,
a GET that only reads (and audits the download).

Customers reach only their own organisation's documents (`load_for_customer`),
certificates only for requests the requests guard lets them see; every
download is audited and answered `private, no-store`.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from trustcenter.access import public, roles_required
from trustcenter.accounts.roles import CUSTOMER_ROLES, Role
from trustcenter.accounts.throttle import limited, parse, source_address
from trustcenter.attestations import kinds, service, signing_identity
from trustcenter.attestations.forms import RegisterForm, VerifyForm
from trustcenter.attestations.isolated import VerifierBusy
from trustcenter.attestations.issuing import certificate_for, issuer, posture_for
from trustcenter.attestations.models import Attestation, Kind
from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.request_guard import accepts_uploads
from trustcenter.requests import service as requests_service
from trustcenter.requests.models import State

bp = Blueprint("attestations", __name__, template_folder="templates")
CUSTOMERS = tuple(sorted(CUSTOMER_ROLES))
MAX_UPLOAD = 10 * 1024 * 1024
CODE_LOOKUPS = parse("60 per 10 minutes")


def _load(attestation_id: str) -> Attestation:
    """Every document is loaded through the service's guard; anything else is a 404."""
    found = service.attestation_for(db.session(), current_user, requests_service.visible_to(current_user),
                                    attestation_id)
    if found is None:
        abort(404)
    return found


def _download(attestation: Attestation) -> Response:
    session = db.session()
    data = service.stored_pdf(attestation)
    if data is None:
        abort(404)  # sealed under a key that has since been destroyed
    service.record_download(session, attestation, current_user.id, current_user.role, request.remote_addr)
    session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{attestation.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- customers ----------------------------------------------------------------------------------------------

@bp.get("/account/attestations")
@roles_required(*CUSTOMERS)
def customer_index() -> Response:
    session = db.session()
    completed = [r for r in requests_service.requests_of(session, current_user) if r.state_enum is State.COMPLETED]
    issued = service.issued_to(session, current_user, requests_service.visible_to(current_user))
    return render("attestations/customer.html", completed=completed, issued=issued)


@bp.post("/account/attestations/posture")
@roles_required(*CUSTOMERS)
def customer_posture() -> Response:
    """Issue (or find) the posture attestation for this organisation, then download it."""
    attestation = posture_for(db.session(), current_user.org, current_user.id)
    return redirect(url_for("attestations.customer_download", attestation_id=attestation.id), code=303)


@bp.post("/account/attestations/requests/<request_id>")
@roles_required(*CUSTOMERS)
def customer_certificate(request_id: str) -> Response:
    return _certificate_then("attestations.customer_download", request_id)


def _certificate_then(download: str, request_id: str) -> Response:
    """Issue (or find) the certificate of a completed request the requests guard lets this user see."""
    found = requests_service.request_for(db.session(), current_user, request_id)
    if found is None or found.state_enum is not State.COMPLETED:
        abort(404)
    attestation = certificate_for(db.session(), found, current_user.id)
    return redirect(url_for(download, attestation_id=attestation.id), code=303)


@bp.get("/account/attestations/<attestation_id>.pdf")
@roles_required(*CUSTOMERS)
def customer_download(attestation_id: str) -> Response:
    return _download(_load(attestation_id))


# -- the DPO ------------------------------------------------------------------------------------------------

@bp.route("/staff/attestations", methods=["GET", "POST"])
@roles_required(Role.DPO)
def staff_index() -> Response | tuple[Response, int]:
    session = db.session()
    form = RegisterForm()
    if form.validate_on_submit():
        make = kinds.request_register if form.kind.data == Kind.REQUEST_REGISTER.value else kinds.breach_register
        try:
            draft = make(session, form.start.data, form.end.data, dt.date.today())
        except kinds.PeriodError as error:
            form.end.errors.append(str(error))
        else:
            attestation = service.issue(session, issuer(), draft, current_user.id)
            session.commit()
            return redirect(url_for("attestations.staff_index", ready=attestation.id), code=303)
    status = 422 if request.method == "POST" else 200
    ready = _register_ready(session, request.args.get("ready", ""))
    completed = kinds.recently_completed(session)
    return render("attestations/staff.html", block="register_form", form=form, ready=ready,
                  issued=service.issued_to(session, current_user, requests_service.visible_to(current_user)),
                  completed=completed), status


def _register_ready(session, attestation_id: str) -> Attestation | None:  # noqa: ANN001 - a Session
    """The register just prepared (named in the redirect's ?ready=), if it is one."""
    found = session.get(Attestation, attestation_id[:36]) if attestation_id else None
    return found if found is not None and found.period_start is not None else None


@bp.post("/staff/attestations/posture")
@roles_required(Role.DPO)
def staff_posture() -> Response:
    attestation = posture_for(db.session(), None, current_user.id)
    return redirect(url_for("attestations.staff_download", attestation_id=attestation.id), code=303)


@bp.post("/staff/attestations/requests/<request_id>")
@roles_required(Role.DPO)
def staff_certificate(request_id: str) -> Response:
    return _certificate_then("attestations.staff_download", request_id)


@bp.get("/staff/attestations/<attestation_id>.pdf")
@roles_required(Role.DPO)
def staff_download(attestation_id: str) -> Response:
    return _download(_load(attestation_id))


# -- anyone ---------------------------------------------------------------------------------------------------

@bp.route("/verify", methods=["GET", "POST"])
@public
@accepts_uploads(MAX_UPLOAD, lambda: True)
@limited([("address", parse("30 per 10 minutes"), source_address)])
def verify() -> Response | tuple[Response, int]:
    """Check an uploaded PDF, or a verification code (GET ?code=, as the QR code links)."""
    session = db.session()
    form = VerifyForm()
    verdict = None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                verdict = service.verify_file(session, form.document.data.read(MAX_UPLOAD + 1),
                                              signing_identity(current_app))
            except VerifierBusy:
                abort(503)  # "Busy: please try again in a minute"
    elif request.args.get("code"):
        _count_lookup()
        verdict = service.verify_code(session, request.args["code"][:40])
    status = 422 if request.method == "POST" and verdict is None else 200
    return render("attestations/verify.html", block="verdict_region", form=form, verdict=verdict,
                  code=request.args.get("code", "")[:40]), status


def _count_lookup() -> None:
    """Codes cannot be guessed in any useful time (50 bits), but nobody needs to try 60 in 10 minutes."""
    if not current_app.extensions["throttle"].hit(CODE_LOOKUPS, "verify_code", "address", source_address()):
        raise TooManyRequests()


@bp.get("/.well-known/trustcenter-ca.pem")
@public
def ca_certificate() -> Response:
    response = Response(signing_identity(current_app).ca_pem, mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'inline; filename="trustcenter-ca.pem"'
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
