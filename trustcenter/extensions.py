"""Extension objects, created unbound; `create_app` initialises them."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from trustcenter.db import Database

db = Database()
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
# No default limits: only sign-in, resets and invitations are throttled, by address and by account.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def protect_unsafe_methods() -> None:
    """Check the CSRF token of every state-changing request; safe methods skip the exemption lookup."""
    from flask import current_app, request

    if request.method in current_app.config["WTF_CSRF_METHODS"]:
        csrf.protect()
