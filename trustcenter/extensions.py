"""Extension objects, created unbound; `create_app` initialises them and keeps their state on the app."""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask, current_app
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy.orm import Session


SESSION_INFO = "session_info"


class AppSession(FlaskSession):
    """A request's session; carries its application's key service and password hasher in `info`."""

    def __init__(self, db: SQLAlchemy, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        self.info.update(current_app.extensions[SESSION_INFO])


db = SQLAlchemy(session_options={"class_": AppSession, "expire_on_commit": False})
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()


def session_factory(app: Flask) -> Callable[[], Session]:
    """Sessions on `app`'s database outside the request scope (worker threads, commands, tests)."""
    with app.app_context():
        engine = db.engine
    info = app.extensions[SESSION_INFO]

    def new_session() -> Session:
        return Session(bind=engine, expire_on_commit=False, info=dict(info))

    return new_session


def protect_unsafe_methods() -> None:
    """Check the CSRF token of every state-changing request; safe methods skip the exemption lookup."""
    from flask import request

    if request.method in current_app.config["WTF_CSRF_METHODS"]:
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "csrf_exempt", False):  # access.one_click
            return
        csrf.protect()
