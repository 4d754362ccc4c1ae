"""What a request may carry before any view, CSRF check or throttle reads it.

Every state-changing request of this site comes from an HTML form (htmx sends
the same encodings), so a body in any other encoding is refused with 415.
Flask-WTF would otherwise read a JSON body as the form while the throttles read
`request.form`: one request, two interpretations, and a second guessing budget.
A body the server cannot read whole (a malformed chunked encoding) is a 400,
and so is a NUL character anywhere in the path, query or form: no page or form
of ours produces one, and PostgreSQL refuses them in text. Query strings are
capped (MAX_QUERY_LENGTH) like bodies (MAX_CONTENT_LENGTH).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from flask import Flask, abort, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

FORM_ENCODINGS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
F = TypeVar("F", bound=Callable[..., Any])


def check_request() -> None:
    if len(request.environ.get("QUERY_STRING", "")) > current_app.config["MAX_QUERY_LENGTH"]:
        abort(414)
    if "\x00" in request.path or contains_nul(request.args):
        abort(400)
    if request.method not in BODY_METHODS:
        return
    if has_body() and request.mimetype not in FORM_ENCODINGS:
        abort(415)
    _allow_declared_upload()
    try:
        form = request.form
    except HTTPException:  # too large, and the like: already a clear answer
        raise
    except Exception:  # noqa: BLE001 - each server raises its own types for a body it cannot read
        # (bad chunk sizes, a stream cut short: OSError from Werkzeug's server, ParseException from gunicorn's)
        abort(400)
    if contains_nul(form):
        abort(400)


def accepts_uploads(limit: int, allowed: Callable[[], bool]) -> Callable[[F], F]:
    """Let the decorated view take a body of up to `limit` bytes, when `allowed()` says this visitor may
    upload there at all (checked before the body is read); every other request keeps MAX_CONTENT_LENGTH.

    Only files may be that large: text fields keep Werkzeug's in-memory cap.
    """

    def decorate(view: F) -> F:
        view.upload_limit = (limit, allowed)  # type: ignore[attr-defined]
        return view

    return decorate


def _allow_declared_upload() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    declared = getattr(view, "upload_limit", None)
    if declared and declared[1]():
        request.max_content_length = declared[0]


def has_body() -> bool:
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return chunked or bool(request.content_length)


def contains_nul(values: MultiDict[str, str]) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_request_guard(app: Flask) -> None:
    """Register first, so that it runs before the session, CSRF and throttle hooks read the request."""
    app.before_request(check_request)
