"""Security and caching headers added to every response."""

from __future__ import annotations

from flask import Flask, Response, request

from trustcenter.pagecache import is_anonymous_request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
}
STATIC_HEADER_LIST = list(STATIC_HEADERS.items())
HSTS = "max-age=63072000; includeSubDomains"


def add_security_headers(response: Response) -> Response:
    """Apply the policy headers; HSTS only when the request came over HTTPS."""
    headers = response.headers
    headers.extend(STATIC_HEADER_LIST)  # one call: these are never set elsewhere
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if "Cache-Control" not in headers:
        # Pages built for a signed-in visitor must never be stored by a browser or proxy.
        headers["Cache-Control"] = "no-cache" if is_anonymous_request() else "private, no-store"
    return response


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
