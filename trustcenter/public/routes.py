"""The overview, subprocessors, and the well-known files every site needs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustcenter.access import public
from trustcenter.extensions import db
from trustcenter.faq.current import current_content
from trustcenter.htmx import render
from trustcenter.links import external_url
from trustcenter.pagecache import public_page

bp = Blueprint("public", __name__, template_folder="templates")

# RFC 9116 asks for an expiry less than a year ahead; regenerate it daily.
SECURITY_TXT_LIFETIME = dt.timedelta(days=180)


@bp.get("/")
@public
@public_page
def home() -> Response:
    return render("public/home.html", content=current_content())


@bp.get("/subprocessors")
@public
@public_page
def subprocessors() -> Response:
    return render("public/subprocessors.html", content=current_content())


@bp.get("/.well-known/security.txt")
@public
def security_txt() -> Response:
    site = current_content().site
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    body = render_template(
        "public/security.txt",
        site=site,
        expires=(today + SECURITY_TXT_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ"),
        canonical=external_url("public.security_txt"),
        policy=external_url("faq.index"),
    )
    # RFC 9116: every line ends with a line break, the last one too (Jinja drops a template's final newline).
    return Response(body + "\n", mimetype="text/plain")


@bp.get("/robots.txt")
@public
def robots_txt() -> Response:
    body = "User-agent: *\nAllow: /\nDisallow: /account/\n"
    return Response(body, mimetype="text/plain")


@bp.get("/favicon.ico")
@public
def favicon() -> Response:
    # Read per request (browsers ask once a day): no module-level cache shared between apps.
    icon = (Path(current_app.static_folder or "") / "img" / "favicon.svg").read_bytes()
    response = Response(icon, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/healthz")
@public
def healthz() -> Response:
    """200 only when the database answers, so load balancers stop sending traffic otherwise."""
    if database_reachable():
        return Response("ok\n", mimetype="text/plain")
    return Response("database unreachable\n", status=503, mimetype="text/plain")


def database_reachable() -> bool:
    """True when a trivial query succeeds on the main database."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:  # any driver error means "not reachable"
        return False
    return True
