"""Error pages in the site's design."""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import BadHost, HTTPException

from trustcenter.templating import static_url

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Check the form or link and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found", "There is nothing at this address. Try the FAQ or search instead."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than we accept. Send something smaller."),
    414: ("Address too long", "The address or search is longer than we accept. Shorten it and try again."),
    409: ("Changed meanwhile", "This record changed while you were working on it. Reload the page and try again."),
    415: ("Form data only", "This address accepts the data of its web form only. Send the form from the page."),
    429: ("Too many attempts", "Please wait a while before trying again. If it cannot wait, write to our Data "
                               "Protection Officer at the address below."),
    500: ("Something went wrong", "The error has been logged. Please try again in a moment."),
    503: ("Busy", "We are handling many requests of this kind right now. Please try again in a minute."),
}


def render_error(status: int) -> Response:
    title, message = MESSAGES.get(status, (f"Error {status}", "The request could not be completed."))
    if status >= 500:
        return standalone_error(status, title, message)
    try:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    except Exception:  # the error page itself must never fail
        current_app.logger.exception("error page failed to render")
        return standalone_error(status, title, message)
    return Response(body, status=status, mimetype="text/html")


def standalone_error(status: int, title: str, message: str) -> Response:
    """The site's design without the site's machinery: a server error may be the database or the content."""
    try:
        stylesheet = static_url("css/site.css")
    except Exception:  # noqa: BLE001 - no URL can be built (a Host no adapter accepts): plain, still readable
        stylesheet = None
    body = current_app.jinja_env.get_template("errors/standalone.html").render(
        status=status, title=title, message=message, stylesheet=stylesheet)
    return Response(body, status=status, mimetype="text/html")


def handle_http_error(error: HTTPException) -> Response:
    if isinstance(request.routing_exception, BadHost):
        return bad_host_page()
    response = render_error(error.code or 500)
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def bad_host_page() -> Response:
    """A Host header no URL can be built from: pages that link anywhere cannot render. One log line."""
    current_app.logger.warning("bad Host header refused on %s %r", request.method, request.path)
    return standalone_error(400, *MESSAGES[400])


def handle_stale_write(error: StaleDataError) -> Response:
    """A row moved under the writer (a key rotation re-encrypted it): nothing was written; ask to retry."""
    current_app.logger.warning("stale write refused on %s %s: %s", request.method, request.path, error)
    return render_error(409)


def handle_unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500)


def init_errors(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(StaleDataError, handle_stale_write)
    app.register_error_handler(Exception, handle_unexpected_error)
