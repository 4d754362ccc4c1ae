"""Exports at /account/exports: prepare one, watch it being built (htmx polling), download it for a week.

Every export is loaded through `service.export_for`, which checks whose it is; anything else is a 404.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from trustcenter.access import roles_required
from trustcenter.accounts.roles import Role
from trustcenter.exports import service
from trustcenter.exports.models import ORGANISATION, PERSON
from trustcenter.extensions import db
from trustcenter.htmx import render

bp = Blueprint("exports", __name__, url_prefix="/account/exports", template_folder="templates")
CUSTOMERS = (Role.CUSTOMER_ADMIN, Role.CUSTOMER_MEMBER)


class PrepareForm(FlaskForm):
    scope = HiddenField(default=PERSON)


def actor() -> service.Actor:
    return service.Actor(current_user._get_current_object(), request.remote_addr)  # the user, not the proxy


def load(export_id: str):  # noqa: ANN201
    found = service.export_for(db.session(), current_user, export_id)
    if found is None:
        abort(404)
    return found


@bp.route("", methods=["GET", "POST"])
@roles_required(*CUSTOMERS)
def index() -> Response | str:
    form = PrepareForm()
    if form.validate_on_submit():
        try:
            export = service.request_export(db.session(), actor(), form.scope.data or PERSON)
        except service.ExportError as error:
            flash(str(error), "info")
        else:
            return redirect(url_for("exports.detail", export_id=export.id), code=303)
    return render_template("exports/index.html", exports=service.exports_of(db.session(), current_user),
                           form=form, ORGANISATION=ORGANISATION)


@bp.get("/<export_id>")
@roles_required(*CUSTOMERS)
def detail(export_id: str) -> Response:
    """The export's state; while it is built, htmx asks again every second for the status block alone."""
    return render("exports/detail.html", block="status", export=load(export_id))


@bp.get("/<export_id>/download")
@roles_required(*CUSTOMERS)
def download(export_id: str) -> Response:
    export = load(export_id)
    if export.state != "ready":
        abort(404)
    session = db.session()
    service.record_download(session, actor(), export)
    name = f"{'organisation' if export.scope == ORGANISATION else 'my'}-data-{export.created_at:%Y-%m-%d}.zip"
    response = Response(stream_with_context(service.pieces(session, export)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Content-Length"] = str(export.size)
    response.headers["Cache-Control"] = "private, no-store"
    return response
