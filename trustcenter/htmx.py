"""Render a whole page, or only its named block for htmx requests."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block


def wants_fragment() -> bool:
    """True for htmx requests that swap part of a page.

    Boosted navigation and history restoration need the whole page.
    """
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(template: str, block: str | None = None, **context: Any) -> Response:
    """Return `block` of `template` for htmx requests, the full page otherwise."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body)
    response.vary.add("HX-Request")
    return response


def set_reswap(response: Response, value: str) -> Response:
    """Set HX-Reswap directly: htmx-flask rejects valid modifiers such as `innerHTML show:top`."""
    response.headers["HX-Reswap"] = value
    return response
