"""Throttling of sign-in, reset and second-factor attempts (per source address and per account) and of invitations.

Three limits: per source address (IPv6 by its /64); strict per account *from
one address* (one source's guessing budget against one account); and a much
looser one per account from all addresses together, against guessing spread
over many. The strict one never counts other sources' failures, so a few from
elsewhere do not lock the account holder out. Guessing from many networks can
reach the loose one; a browser that has signed in to the account before carries
a signed device cookie and is exempt from it, so such an attack locks out only
browsers the person never used (OWASP's "device cookies").

Counting uses the `limits` library (Flask-Limiter's engine) directly, with a
storage of the application's own (memory, or Redis when several processes
serve): views check their limits explicitly and nothing runs on other requests.
"""

from __future__ import annotations

import ipaddress
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import Response, current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from trustcenter.addresses import InvalidAddress, normalise_email

F = TypeVar("F", bound=Callable[..., Any])
NAMESPACE = "throttle"


class Throttle:
    """One application's counters."""

    def __init__(self, storage_uri: str) -> None:
        self.storage = storage_from_string(storage_uri)
        self.strategy = FixedWindowRateLimiter(self.storage)

    def hit(self, limit: RateLimitItem, *identifiers: str) -> bool:
        """Count one attempt; False when it is over the limit."""
        return self.strategy.hit(limit, NAMESPACE, *identifiers)

    def reset(self) -> None:
        """Forget every count (tests, and an operator lifting a lock-out)."""
        self.storage.reset()


def email_index(text: str | None) -> str:
    """The blind index of the address typed in this request, computed once per request.

    An unusable address still gets a stable index, so typing junk does not escape the limits.
    """
    cache: dict[str, str] = g.setdefault("email_indexes", {})
    typed = text or ""
    if typed not in cache:
        try:
            lookup = normalise_email(typed)
        except InvalidAddress:
            lookup = "invalid:" + typed.strip()[:254]
        cache[typed] = current_app.extensions["keys"].blind_index(lookup)
    return cache[typed]


def account_key(field: str) -> Callable[[], str]:
    """Rate-limit key for the account named in a form field, as a blind index (no address in storage)."""

    def key() -> str:
        return account_of(request.form.get(field))

    return key


def account_of(address: str | None) -> str:
    return "account:" + email_index(address)


def source_address() -> str:
    """The client's address for counting: IPv6 by its /64, which one subscriber usually holds whole."""
    address = request.remote_addr or "-"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


Rule = tuple[str, RateLimitItem, Callable[[], Any]]  # name, limit, and who is counted (None: nobody)
DEVICE_COOKIE = "tc_device"
DEVICE_DAYS = 180


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="trustcenter.device")


def remember_device(response: Response, key: str) -> Response:
    """Mark this browser as one that signed in to the account `key` (an `account_key` value)."""
    response.set_cookie(DEVICE_COOKIE, _device_signer().dumps(key), max_age=DEVICE_DAYS * 86400,
                        path="/account/", secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")
    return response


def known_device(key: str) -> bool:
    """True when the browser carries a valid device cookie for the account `key`."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie or len(cookie) > 400:
        return False
    try:
        return _device_signer().loads(cookie, max_age=DEVICE_DAYS * 86400) == key
    except BadData:
        return False


def throttled(per_address: str, per_account_from_address: str, key: Callable[[], Any],
              per_account: str | None = None) -> Callable[[F], F]:
    """Limit guessing on the decorated view's POSTs: per source, per account from it, per account overall.

    A browser with this account's device cookie is not counted against the overall limit.
    """
    rules: list[Rule] = [("address", parse(per_address), source_address),
                         ("account-from", parse(per_account_from_address), lambda: f"{key()}|from:{source_address()}")]
    if per_account:
        rules.append(("account", parse(per_account), lambda: None if known_device(str(key())) else str(key())))
    return limited(rules)


def limited(rules: list[Rule]) -> Callable[[F], F]:
    """Check every rule on POSTs of the decorated view; a breach of any answers 429."""

    def decorate(view: F) -> F:
        scope = view.__name__

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                throttle: Throttle = current_app.extensions["throttle"]
                # Every limit counts the attempt, so a breach of one never spares the others.
                counted = ((name, limit, identity()) for name, limit, identity in rules)
                allowed = [throttle.hit(limit, scope, name, str(who)) for name, limit, who in counted if who is not None]
                if not all(allowed):
                    raise TooManyRequests()
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
