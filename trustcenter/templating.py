"""Template globals: site facts, cache-busting static URLs, navigation."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from jinja2 import select_autoescape
from markupsafe import Markup

from trustcenter.faq.current import current_content


def static_url(filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year; built once per process."""
    if not has_request_context():  # mail and commands: rare, so not cached
        return url_for("static", filename=filename, v=_static_hash(filename))
    urls: dict[tuple[str, str], str] = current_app.extensions["static_urls"]
    key = (request.script_root, filename)  # the one part of the URL a request can change
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for("static", filename=filename, v=_static_hash(filename))
    return url


def _static_hash(filename: str) -> str:
    path = Path(current_app.static_folder or "") / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"


# Flask's own list plus Atom feeds; strings rendered from code are escaped too, as Flask does.
AUTOESCAPED_EXTENSIONS = ("html", "htm", "xml", "xhtml", "svg", "atom")

NAVIGATION = (
    ("public.home", "Overview"),
    ("faq.index", "FAQ"),
    ("public.subprocessors", "Subprocessors"),
    ("faq.changelog", "Changelog"),
)


def long_date(value: dt.date) -> str:
    """"Tuesday 1 December 2026": deadlines read without doubt about the day or the month's order."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def rfc3339(value: dt.datetime | dt.date) -> str:
    """UTC timestamp for feeds; naive values are stored as UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), dt.timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cached_fragment(key: str, cacheable: bool = True, caller: Callable[[], str] | None = None) -> Markup:
    """The output of a `{% call cached_fragment(key, cacheable) %}` block, rendered once per application.

    For markup that is the same on every request, such as the fields of an
    empty form: their labels, inputs and options cost more to render than the
    data on a page. When `cacheable` is false (a submitted form shows its values
    and errors) the block renders as usual. Never for anything that depends on
    the visitor or the request; `key` names the block, so keep it unique.
    """
    if caller is None:
        raise TypeError("cached_fragment is used as {% call cached_fragment(key) %}...{% endcall %}")
    if not cacheable or current_app.jinja_env.auto_reload:  # development: template edits show at once
        return Markup(caller())
    fragments: dict[str, Markup] = current_app.extensions["cached_fragments"]
    markup = fragments.get(key)
    if markup is None:
        markup = fragments[key] = Markup(caller())
    return markup


def template_globals() -> dict[str, Any]:
    return {
        "site": current_content().site,
        "static_url": static_url,
        "navigation": NAVIGATION,
    }


def init_templating(app: Flask) -> None:
    app.extensions["static_urls"] = {}  # (script root, file name) -> URL with that hash
    app.extensions["cached_fragments"] = {}  # cached_fragment key -> markup
    app.add_template_global(cached_fragment)
    app.context_processor(template_globals)
    app.add_template_filter(rfc3339)
    app.add_template_filter(long_date)
    # Flask autoescapes only HTML-like names; feeds are XML too, so a name like "A & B" stays well-formed.
    app.jinja_env.autoescape = select_autoescape(AUTOESCAPED_EXTENSIONS)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
