"""The overview, subprocessors, and the well-known files every site needs."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, render_template, send_from_directory, url_for

from trustcenter.extensions import db
from trustcenter.htmx import render
from trustcenter.pagecache import public_page

bp = Blueprint("public", __name__, template_folder="templates")

# RFC 9116 asks for an expiry less than a year ahead; regenerate it daily.
SECURITY_TXT_LIFETIME = dt.timedelta(days=180)


def _content():
    return current_app.extensions["content"].current()


@bp.get("/")
@public_page
def home() -> Response:
    return render("public/home.html", content=_content())


@bp.get("/subprocessors")
@public_page
def subprocessors() -> Response:
    return render("public/subprocessors.html", content=_content())


@bp.get("/.well-known/security.txt")
def security_txt() -> Response:
    site = _content().site
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    body = render_template(
        "public/security.txt",
        site=site,
        expires=(today + SECURITY_TXT_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ"),
        canonical=url_for("public.security_txt", _external=True),
        policy=url_for("faq.index", _external=True),
    )
    return Response(body, mimetype="text/plain")


@bp.get("/robots.txt")
def robots_txt() -> Response:
    body = "User-agent: *\nAllow: /\nDisallow: /account/\n"
    return Response(body, mimetype="text/plain")


@bp.get("/favicon.ico")
def favicon() -> Response:
    return send_from_directory(current_app.static_folder or "", "img/favicon.svg", mimetype="image/svg+xml")


@bp.get("/healthz")
def healthz() -> Response:
    """200 only when the database answers, so load balancers stop sending traffic otherwise."""
    if db.is_reachable():
        return Response("ok\n", mimetype="text/plain")
    return Response("database unreachable\n", status=503, mimetype="text/plain")
