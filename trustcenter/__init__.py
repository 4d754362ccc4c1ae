"""trustcenter: an open-source GDPR trust center."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, error pages, CLI."""
    from trustcenter import config as settings

    instance_path = Path(
        (config or {}).get("INSTANCE_PATH")
        or os.environ.get("TRUSTCENTER_INSTANCE_PATH")
        or PROJECT_ROOT / "instance"
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    resolved = settings.resolve(config, os.environ, instance_path, PROJECT_ROOT)
    app.config.update(_flask_settings(resolved))
    app.config.update(resolved)
    if app.config["ENV"] == "production" and app.debug:
        # FLASK_DEBUG or `trustcenter --debug` would serve Werkzeug's interactive debugger.
        raise settings.ConfigError("Debug mode is on (FLASK_DEBUG or --debug); production must run without it.")

    _init_crypto(app)
    from trustcenter.attestations import init_attestations

    init_attestations(app)
    _init_extensions(app)
    _init_content(app)
    from trustcenter import notify

    notify.init_app(app)
    from trustcenter.accounts.tasks import init_tasks

    init_tasks(app)
    from trustcenter.requests.tasks import init_tasks as init_request_tasks

    init_request_tasks(app)
    from trustcenter.exports.tasks import init_tasks as init_export_tasks

    init_export_tasks(app)
    from trustcenter.notices.tasks import init_tasks as init_notice_tasks

    init_notice_tasks(app)
    from trustcenter.evidence.tasks import init_tasks as init_evidence_tasks

    init_evidence_tasks(app)
    _register_blueprints(app)

    from trustcenter import cli, errors, headers, links, templating

    links.init_links(app)
    errors.init_errors(app)
    headers.init_headers(app)
    templating.init_templating(app)
    cli.register_commands(app)
    _wrap_wsgi(app)
    return app


def _wrap_wsgi(app: Flask) -> None:
    """The page cache answers before Flask; a trusted proxy's headers are applied before both."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from trustcenter.pagecache import init_page_cache

    init_page_cache(app)
    if app.config["TRUST_PROXY"]:
        # Only behind a proxy we run: otherwise clients could claim HTTPS or any IP.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]


def _flask_settings(resolved: Mapping[str, Any]) -> dict[str, Any]:
    import datetime as dt

    from trustcenter.db import engine_options

    production = resolved["ENV"] == "production"
    return {
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=resolved["SESSION_ABSOLUTE_HOURS"]),
        "SQLALCHEMY_DATABASE_URI": resolved["DATABASE_URL"],
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(resolved["DATABASE_URL"]),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "tc_session",
        # The idle timeout rewrites the cookie once a minute (sessions.enforce_timeouts);
        # re-signing it on every request would only cost time.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "TESTING": resolved["ENV"] == "testing",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Static URLs carry a content hash, so browsers may keep them for a year.
        "SEND_FILE_MAX_AGE_DEFAULT": 31536000,
    }


def _init_extensions(app: Flask) -> None:
    from trustcenter.accounts.passwords import PASSWORDS_INFO, Passwords
    from trustcenter.crypto import KEYS_INFO
    from trustcenter.accounts.sessions import CookieOnlySessionInterface, init_sessions
    from trustcenter.accounts.throttle import Throttle
    from trustcenter.db import prepare_engine
    from trustcenter.extensions import SESSION_INFO, csrf, db, htmx, protect_unsafe_methods

    from trustcenter.request_guard import init_request_guard

    init_request_guard(app)
    db.init_app(app)
    with app.app_context():
        prepare_engine(db.engine)
    app.extensions["passwords"] = Passwords(cheapest=app.config["ENV"] == "testing")
    app.extensions["throttle"] = Throttle(app.config["REDIS_URL"] or "memory://")
    # What every database session of this app carries: encrypted attributes and services read it.
    app.extensions[SESSION_INFO] = {KEYS_INFO: app.extensions["keys"], PASSWORDS_INFO: app.extensions["passwords"]}
    app.session_interface = CookieOnlySessionInterface()
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked below, for unsafe methods only
    csrf.init_app(app)
    app.before_request(protect_unsafe_methods)
    htmx.init_app(app)
    init_sessions(app)


def _init_crypto(app: Flask) -> None:
    """The key service: root keys from the environment or instance/keys, wrapped keys in the key store."""
    from trustcenter import crypto
    from trustcenter.crypto.keys import generate_development_keys
    from trustcenter.db import make_engine

    key_dir = Path(app.instance_path) / "keys"
    production = app.config["ENV"] == "production"
    if not production:
        generate_development_keys(key_dir)
    root = crypto.load_root_keys(os.environ, key_dir, production)
    app.extensions["keys"] = crypto.KeyService(root, make_engine(app.config["KEYSTORE_URL"]),
                                               cache_seconds=app.config["KEY_CACHE_SECONDS"])
    from trustcenter.crypto.rotation import purge_retired
    from trustcenter.registry import RETENTION_PURGERS, registry

    registry(app, RETENTION_PURGERS).register("encryption keys retired by rotations", purge_retired)


def _init_content(app: Flask) -> None:
    from trustcenter.faq.content import ContentStore

    watch = app.config["ENV"] == "development"
    app.extensions["content"] = ContentStore(app.config["CONTENT_DIR"], watch=watch)
    app.extensions["published_dates"] = {}  # content version digest -> when it was published (faq.service)


def _register_blueprints(app: Flask) -> None:
    from trustcenter.access import enforce_declared_access
    from trustcenter.accounts.routes import bp as accounts_bp
    from trustcenter.faq.routes import bp as faq_bp
    from trustcenter.public.routes import bp as public_bp
    from trustcenter.exports.routes import bp as exports_bp
    from trustcenter.attestations.routes import bp as attestations_bp
    from trustcenter.notices.routes import bp as notices_bp
    from trustcenter.evidence.routes import bp as evidence_bp
    from trustcenter.requests.routes import bp as requests_bp
    from trustcenter.requests.routes import staff_bp as staff_requests_bp
    from trustcenter.staff.routes import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(faq_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(requests_bp)
    app.register_blueprint(staff_requests_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(attestations_bp)
    app.register_blueprint(notices_bp)
    app.register_blueprint(evidence_bp)
    app.before_request(enforce_declared_access)
