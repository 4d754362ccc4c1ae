"""Template globals: site facts, cache-busting static URLs, navigation."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, current_app, url_for

from trustcenter.faq.current import current_content

def static_url(filename: str) -> str:
    """URL of a static file with a content hash, so it can be cached for a year."""
    hashes: dict[str, str] = current_app.extensions["static_hashes"]
    digest = hashes.get(filename)
    if digest is None:
        path = Path(current_app.static_folder or "") / filename
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"
        hashes[filename] = digest
    return url_for("static", filename=filename, v=digest)


NAVIGATION = (
    ("public.home", "Overview"),
    ("faq.index", "FAQ"),
    ("public.subprocessors", "Subprocessors"),
    ("faq.changelog", "Changelog"),
)


def rfc3339(value: dt.datetime | dt.date) -> str:
    """UTC timestamp for feeds; naive values are stored as UTC."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), dt.timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def reject_keys(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    """A copy of `mapping` without `keys`, for building pagination links."""
    return {k: v for k, v in mapping.items() if k not in keys}


def template_globals() -> dict[str, Any]:
    return {
        "site": current_content().site,
        "static_url": static_url,
        "navigation": NAVIGATION,
    }


def init_templating(app: Flask) -> None:
    app.extensions["static_hashes"] = {}  # file name -> content hash, filled on first use
    app.context_processor(template_globals)
    app.add_template_filter(rfc3339)
    app.add_template_filter(reject_keys)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
