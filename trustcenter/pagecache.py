"""Whole-response cache for anonymous public pages, answered before Flask runs.

Public pages change only when the content does, so for visitors without a
session they are rendered once per content version; later requests are
answered by `PublicPageCache`, a WSGI middleware, with the exact status,
headers (security headers included) and body Flask produced the first time.
`If-None-Match` gets a 304. Signed-in visitors always reach Flask (their
header differs), and nothing here touches the session. Other parts of the
app may add to the key (`KEY_PARTS`): the evidence results shown beside FAQ
answers do, with one query every 15 seconds per process at most.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Iterable

from flask import Flask, Response, current_app, g, request

MAX_ENTRIES = 512
# Set by `public_page` on responses that are the same for every anonymous visitor;
# the middleware removes it before the response leaves.
CACHEABLE_HEADER = "X-Trustcenter-Cacheable"
# Request headers that select a different rendering of the same URL (see htmx.render).
VARYING_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_BOOSTED", "HTTP_HX_HISTORY_RESTORE_REQUEST", "HTTP_HOST")
# `app.extensions[KEY_PARTS]`: callables whose values join the key (e.g. evidence/version.py).
KEY_PARTS = "page_cache_key_parts"


@dataclass(frozen=True)
class CachedPage:
    headers: list[tuple[str, str]]
    not_modified_headers: list[tuple[str, str]]
    body: bytes
    etag: str


class PageCache:
    """A small thread-safe LRU of rendered pages."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[Any, ...], CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: tuple[Any, ...]) -> CachedPage | None:
        with self._lock:
            page = self._entries.get(key)
            if page is not None:
                self._entries.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: CachedPage) -> None:
        with self._lock:
            self._entries[key] = page
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def is_anonymous_request() -> bool:
    """True when the visitor sent no session cookie, so the page is the same for everyone."""
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def public_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Mark an anonymous 200 of `view` as cacheable, with an ETag; answer If-None-Match."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        response = current_app.make_response(view(*args, **kwargs))
        if request.method != "GET" or response.status_code != 200 or not is_anonymous_request():
            return response
        response.headers["ETag"] = etag_of(response.get_data())
        response.headers["Cache-Control"] = "no-cache"
        if not g.get("page_not_storable"):
            response.headers[CACHEABLE_HEADER] = "1"
        if response.headers["ETag"] in request.headers.get("If-None-Match", ""):
            response.status_code, response.data = 304, b""
        return response

    return wrapper


def do_not_store() -> None:
    """This response must not be replayed: it shows something that changes without a new content version."""
    g.page_not_storable = True


class PublicPageCache:
    """WSGI middleware: replay cached anonymous public pages without entering Flask."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask, cache: PageCache) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.cache = cache
        self.cookie = app.config["SESSION_COOKIE_NAME"] + "="

    def _key(self, environ: dict[str, Any]) -> tuple[Any, ...]:
        return (
            environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), environ.get("wsgi.url_scheme"),
            *(environ.get(name) for name in VARYING_HEADERS),
            self.app.extensions["content"].current().version,
            *(part() for part in self.app.extensions.get(KEY_PARTS, ())),
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or self.cookie in environ.get("HTTP_COOKIE", ""):
            return self.wsgi_app(environ, start_response)
        key = self._key(environ)
        page = self.cache.get(key)
        if page is not None:
            if page.etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                start_response("304 NOT MODIFIED", page.not_modified_headers)
                return [b""]
            start_response("200 OK", page.headers)
            return [b""] if method == "HEAD" else [page.body]
        return self._fill(environ, start_response, key, method == "GET")

    def _fill(self, environ: dict[str, Any], start_response: Callable[..., Any], key: tuple[Any, ...],
              storable: bool) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            captured["status"], captured["cacheable"] = status, any(n == CACHEABLE_HEADER for n, _ in headers)
            headers = [(n, v) for n, v in headers if n != CACHEABLE_HEADER]
            captured["headers"] = headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.wsgi_app(environ, capture)
        cookie_set = any(n.lower() == "set-cookie" for n, _ in captured.get("headers", ()))
        if not (storable and captured.get("cacheable") and captured["status"].startswith("200")) or cookie_set:
            return result  # a response that sets a cookie is never shared between visitors
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        headers = captured["headers"]
        etag = next((v for n, v in headers if n == "ETag"), etag_of(body))
        kept = {"etag", "cache-control", "vary"} | {n.lower() for n in SECURITY_HEADER_NAMES}
        self.cache.put(key, CachedPage(headers, [(n, v) for n, v in headers if n.lower() in kept], body, etag))
        return [body]


# Security headers are repeated on 304s, so a revalidated page keeps its policy.
SECURITY_HEADER_NAMES = (
    "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
    "Cross-Origin-Opener-Policy", "Permissions-Policy", "Strict-Transport-Security",
)


def init_page_cache(app: Flask) -> None:
    """Install the middleware inside any proxy fix, so the scheme it sees is the real one."""
    cache = PageCache()
    app.extensions["page_cache"] = cache
    app.wsgi_app = PublicPageCache(app.wsgi_app, app, cache)  # type: ignore[method-assign]
