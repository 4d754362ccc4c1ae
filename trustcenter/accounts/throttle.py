"""Throttling of sign-in, reset and second-factor attempts (per source address and per account) and of invitations.

Three limits: per source address (IPv6 by its /64); strict per account *from
one address* (one source's guessing budget against one account); and a much
looser one per account from all addresses together, against guessing spread
over many. The strict one never counts other sources' failures, so a few from
elsewhere do not lock the account holder out; only guessing from many networks
reaches the loose one, and its short window lifts minutes after it stops.

Counting uses the `limits` library (Flask-Limiter's engine) directly, with a
storage of the application's own (memory, or Redis when several processes
serve): views check their limits explicitly and nothing runs on other requests.
"""

from __future__ import annotations

import ipaddress
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import current_app, g, request
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
        return "account:" + email_index(request.form.get(field))

    return key


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


Rule = tuple[str, RateLimitItem, Callable[[], Any]]  # name, limit, and who is counted


def throttled(per_address: str, per_account_from_address: str, key: Callable[[], Any],
              per_account: str | None = None) -> Callable[[F], F]:
    """Limit guessing on the decorated view's POSTs: per source, per account from it, per account overall."""
    rules: list[Rule] = [("address", parse(per_address), source_address),
                         ("account-from", parse(per_account_from_address), lambda: f"{key()}|from:{source_address()}")]
    if per_account:
        rules.append(("account", parse(per_account), lambda: str(key())))
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
                allowed = [throttle.hit(limit, scope, name, str(identity())) for name, limit, identity in rules]
                if not all(allowed):
                    raise TooManyRequests()
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
