"""Public FAQ pages: the whole FAQ, one section, search, the changelog and its feed."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request

from trustcenter.access import public
from trustcenter.extensions import db
from trustcenter.faq import service
from trustcenter.faq.content import Content
from trustcenter.faq.current import current_content
from trustcenter.faq.search import search as search_content
from trustcenter.htmx import render
from trustcenter.pagecache import do_not_store, public_page

bp = Blueprint("faq", __name__, template_folder="templates")

MAX_QUERY_CHARS = 200


@bp.get("/faq")
@public
@public_page
def index() -> Response:
    content = current_content()
    return render("faq/index.html", content=content, published=served_version_date(content))


@bp.get("/faq/<slug>")
@public
@public_page
def section(slug: str) -> Response:
    content = current_content()
    found = content.section(slug)
    if found is None:
        abort(404)
    return render("faq/section.html", content=content, section=found, published=served_version_date(content))


def served_version_date(content: Content) -> dt.datetime | None:
    """When the content served now was published; until it is, the page is not replayed from the cache."""
    published = service.published_at(db.session(), content.version, current_app.extensions["published_dates"])
    if published is None:
        do_not_store()
    return published


@bp.get("/faq/search")
@public
def search() -> Response:
    query = request.args.get("q", "").strip()
    error = None
    if len(query) > MAX_QUERY_CHARS:
        error = f"Searches are limited to {MAX_QUERY_CHARS} characters; shorten yours and try again."
        query = query[:MAX_QUERY_CHARS]
    content = current_content()
    hits = [] if error else search_content(content, query)
    response = render("faq/search.html", block="results", content=content,
                      query=query, hits=hits, error=error)
    if error:
        response.status_code = 400
    return response


@bp.get("/changelog", endpoint="changelog")
@public
def changelog() -> Response:
    entries = service.changelog(db.session())
    return render("faq/changelog.html", entries=entries)


@bp.get("/changelog.atom", endpoint="feed")
@public
def feed() -> Response:
    # Each entry's HTML is rendered to a plain string first, so the autoescaped feed escapes it
    # exactly once more as XML text: readers then show user text as text, never as live markup.
    entries = service.changelog(db.session(), limit=20)
    entry_html = {e.version.id: render_template("faq/feed_entry.html", entry=e) for e in entries}
    body = render_template("faq/changelog.atom", entries=entries, entry_html=entry_html,
                           content=current_content())
    response = make_response(body)
    response.mimetype = "application/atom+xml"
    return response
