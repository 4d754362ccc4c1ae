"""Deny by default: every view declares who may use it, or the request is refused.

`public` marks views anyone may use; `roles_required(...)` and
`signed_in` (any role) mark the rest. A test walks every route and fails when
one has no rule, and `enforce_declared_access` refuses undeclared views at run time.
"""

from __future__ import annotations

import time
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from trustcenter.accounts.roles import Role

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
MFA_SESSION_KEY = "mfa_ok"
PROOF_SESSION_KEY = "proof_at"  # when this session last proved its person (password or code), epoch seconds


def public(view: F) -> F:
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def one_click(view: F) -> F:
    """No CSRF token on this view's POST: RFC 8058 one-click unsubscribe, which a mail provider sends with
    no session. Only for a view whose URL carries its own proof and whose only effect is to stop mail."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def needs_second_factor(user: Any) -> bool:
    """Signed in with a password, the second factor still to come: nothing of theirs may be shown yet."""
    return (user.totp_enabled or user.mfa_required) and not session.get(MFA_SESSION_KEY)



def roles_required(*roles: Role) -> Callable[[F], F]:
    """Signed in, past the second factor, and holding one of `roles` (any role when empty)."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
            if needs_second_factor(current_user):
                endpoint = "accounts.mfa_setup" if not current_user.totp_enabled else "accounts.login_verify"
                return redirect(url_for(endpoint))
            if allowed and current_user.role_enum not in allowed:
                abort(404)  # no hint that the page exists for other roles
            return view(*args, **kwargs)

        guarded.access = tuple(sorted(allowed)) or "signed-in"  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


signed_in = roles_required()


def password_verified(view: F) -> F:
    """Signed in with a password but perhaps not yet past the second factor (MFA pages only)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login"))
        return view(*args, **kwargs)

    guarded.access = "password-verified"  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def recent_proof_required(return_to: str) -> Callable[[F], F]:
    """Ask for the password or a current code when the session's last proof is older than RECENT_PROOF_MINUTES.

    Put it under `signed_in`. A POST cannot be replayed after the detour, so the
    person comes back to `return_to` and presses the button again.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if time.time() - session.get(PROOF_SESSION_KEY, 0) > current_app.config["RECENT_PROOF_MINUTES"] * 60:
                return redirect(url_for("accounts.confirm_identity", next=url_for(return_to)), code=303)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def enforce_declared_access() -> None:
    """Refuse any view that forgot to declare its access rule."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and not hasattr(view, "access") and request.endpoint != "static":
        current_app.logger.error("view %s declares no access rule", request.endpoint)
        abort(404)
