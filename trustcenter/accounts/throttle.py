"""Throttling of sign-in, reset and second-factor attempts, per source address and per account.

Three limits: per source address (IPv6 by its /64); strict per account *from
one address* (one source's guessing budget against one account); and a much
looser one per account from all addresses together, against guessing spread
over many. The strict one never counts other sources' failures, so a few from
elsewhere do not lock the account holder out; only guessing from many networks
reaches the loose one, and its short window lifts minutes after it stops.
"""

from __future__ import annotations

import ipaddress
from functools import partial
from typing import Any, Callable, TypeVar

from flask import Flask, request
from flask_limiter.util import get_remote_address

from trustcenter.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])


def account_key(field: str) -> Callable[[], str]:
    """Rate-limit key for the account named in a form field, as a blind index (no address in storage)."""

    def key() -> str:
        from trustcenter.accounts.service import email_index

        value = (request.form.get(field) or "").strip()[:254]
        return "account:" + email_index(value) if value else "account:-"

    return key


def source_address() -> str:
    """The client's address for counting: IPv6 by its /64, which one subscriber usually holds whole."""
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def throttled(per_address: str, per_account_from_address: str, key: Callable[[], Any],
              per_account: str | None = None) -> Callable[[F], F]:
    """Apply the limits to POSTs of the decorated view; a breach answers 429."""

    def account_from_address() -> str:
        return f"{key()}|from:{source_address()}"

    def decorate(view: F) -> F:
        if per_account:
            view = limiter.limit(per_account, key_func=key, methods=["POST"])(view)
        view = limiter.limit(per_account_from_address, key_func=account_from_address, methods=["POST"])(view)
        return limiter.limit(per_address, key_func=source_address, methods=["POST"])(view)

    return decorate


def limit_only_decorated_views(app: Flask) -> None:
    """Drop Flask-Limiter's app-wide hooks: with no default limits they only cost time.

    The `throttled` views check their limits in the limiter's own decorator,
    so every other request (a third of a public page's cost, measured) skips it.
    The teardown hook, which resets the limiter's per-request state, stays.
    """
    app.before_request_funcs[None] = [
        hook for hook in app.before_request_funcs.get(None, []) if getattr(hook, "__self__", None) is not limiter]
    app.after_request_funcs[None] = [
        hook for hook in app.after_request_funcs.get(None, [])
        if not (isinstance(hook, partial) and hook.args and hook.args[0] is limiter)]
