"""Absolute links for mail and documents, built on the configured SITE_URL.

A link built from the request (`url_for(..., _external=True)`) uses whatever
Host header the client sent: a password-reset request sent with a forged Host
would mail the victim a link to the attacker's server, carrying the token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app


def external_url(endpoint: str, **values: Any) -> str:
    """`https://<SITE_URL>/path` for `endpoint`, with or without a request in progress."""
    return current_app.extensions["site_urls"].build(endpoint, values, force_external=True)


def init_links(app: Flask) -> None:
    serve_links_at(app, app.config["SITE_URL"])
    app.add_template_global(external_url)


def serve_links_at(app: Flask, site_url: str) -> None:
    """Build every absolute link on `site_url` (the development server moves it to its own address)."""
    app.config["SITE_URL"] = site_url
    site = urlsplit(site_url)
    app.extensions["site_urls"] = app.url_map.bind(site.netloc, script_name=site.path or "/",
                                                   url_scheme=site.scheme)
