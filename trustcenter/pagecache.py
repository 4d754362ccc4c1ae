"""Whole-response cache for anonymous public pages.

Public pages change only when the content does, so for visitors without a
session they are rendered once per content version and then served from
memory with an ETag; `If-None-Match` gets a 304. Signed-in visitors always get
a fresh page (their header differs), and nothing here touches the session or
the database.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable

from flask import Response, current_app, request

from trustcenter.htmx import wants_fragment

MAX_ENTRIES = 512


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    etag: str
    content_type: str
    vary: str


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


def is_anonymous_request() -> bool:
    """True when the visitor sent no session cookie, so the page is the same for everyone."""
    return current_app.config["SESSION_COOKIE_NAME"] not in request.cookies


def _capture(response: Response) -> CachedPage:
    body = response.get_data()
    return CachedPage(
        body=body,
        etag='"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"',
        content_type=response.headers["Content-Type"],
        vary=response.headers.get("Vary", ""),
    )


def _serve(page: CachedPage) -> Response:
    if page.etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        response = Response(page.body, content_type=page.content_type)
    response.headers["ETag"] = page.etag
    response.headers["Cache-Control"] = "no-cache"
    if page.vary:
        response.headers["Vary"] = page.vary
    return response


def public_page(view: Callable[..., Response]) -> Callable[..., Response]:
    """Serve an anonymous GET of `view` from the page cache, keyed by content version."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        if request.method != "GET" or not is_anonymous_request():
            return view(*args, **kwargs)
        environ = request.environ
        key = (
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            wants_fragment(),
            current_app.extensions["content"].current().version,
        )
        cache: PageCache = current_app.extensions["page_cache"]
        page = cache.get(key)
        if page is None:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
                return response
            page = _capture(response)
            cache.put(key, page)
        return _serve(page)

    return wrapper
