"""Shared fixtures: an app on every configured database, a client, a CLI runner, a live server."""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server

from trustcenter import PROJECT_ROOT, create_app, migrate
from trustcenter.db import make_engine
from trustcenter.extensions import db, limiter
from trustcenter.models import metadata

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"


def database_backends() -> list[str]:
    """SQLite always; PostgreSQL too when TEST_DATABASE_URL names one."""
    return ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@contextmanager
def scratch_postgresql(admin_url: str) -> Iterator[str]:
    """A throwaway database next to TEST_DATABASE_URL, so parallel runs never collide."""
    name = f"trustcenter_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        db.configure("sqlite://")  # release pooled connections to the scratch database
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=database_backends())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database, once per backend per test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        _migrate(url)
        yield url
        return
    with scratch_postgresql(os.environ["TEST_DATABASE_URL"]) as url:
        _migrate(url)
        yield url


def _migrate(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def empty_all_tables() -> None:
    with db.engine.begin() as connection:  # type: ignore[union-attr]
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def content_dir() -> Path:
    return PROJECT_ROOT / "content"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path, content_dir: Path) -> dict:
    return {
        "ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTENT_DIR": str(content_dir),
    }


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    application = create_app(app_config)
    limiter.reset()  # throttling counters must not leak from one test into the next
    yield application
    application.extensions["mail_worker"].stop()  # a delivery thread must not outlive its test
    db.remove()
    empty_all_tables()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask):
    """A database session of the test's own, independent of the requests the test makes.

    No application context stays pushed, so each test-client request gets fresh
    `g` and `current_user`, as in production.
    """
    own = db.new_session()
    yield own
    own.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app on a free loopback port in a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Drive Debian's Chromium; Playwright never downloads a browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


# -- accounts -----------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    user_id: str
    email: str
    org_id: str
    role: str
    password: str = PASSWORD
    totp_secret: str | None = None
    # Codes are single-use: each sign-in uses the next time step (the server allows one step of drift).
    next_step_offset: int = 0

    def next_code(self) -> str:
        assert self.totp_secret
        code = totp_code(self.totp_secret, self.next_step_offset)
        self.next_step_offset += 1
        return code


@pytest.fixture
def people(app: Flask) -> dict[str, Person]:
    """Two customer tenants with an admin and a member each, plus staff, DPO and an administrator."""
    from trustcenter.accounts import mfa, service
    from trustcenter.accounts.models import CUSTOMER

    made: dict[str, Person] = {}
    with app.app_context():
        session = db.session()
        provider = service.provider_organisation(session, "Cloud Stem")
        orgs = {"a": service.create_organisation(session, "Tenant A Ltd", CUSTOMER),
                "b": service.create_organisation(session, "Tenant B Ltd", CUSTOMER)}
        specs = [("a_admin", "a", "customer_admin"), ("a_member", "a", "customer_member"),
                 ("b_admin", "b", "customer_admin"), ("b_member", "b", "customer_member"),
                 ("staff", None, "staff"), ("dpo", None, "dpo"), ("admin", None, "admin")]
        for key, org_key, role in specs:
            org = orgs[org_key] if org_key else provider
            email = f"{key.replace('_', '.')}@{(org_key or 'provider')}.example"
            user = service.create_user(session, org, email, role, password=PASSWORD,
                                       first_name=f"First{key.title().replace('_', '')}",
                                       last_name=f"Last{key.title().replace('_', '')}",
                                       address=f"{len(made) + 1} Secret Street {key}", country="Wonderland",
                                       stripe_customer_id=f"cus_{key}_stripe")
            secret = None
            if role in ("staff", "dpo", "admin"):
                secret = mfa.new_secret()
                user.totp_secret, user.totp_enabled = secret, True
            made[key] = Person(user.id, email, org.id, role, totp_secret=secret)
        session.commit()
    return made


@contextmanager
def captured_statements() -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block."""
    from sqlalchemy import event

    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def run_worker_tasks(app: Flask) -> None:
    """Do now what the mail worker does before each delivery round (e.g. answer reset requests)."""
    for task in app.extensions["worker_tasks"]:
        task()


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Auth:
    """Sign in through the real forms, second factor included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, person: Person, password: str | None = None, follow: bool = True):
        page = self.client.get("/account/login")
        response = self.client.post("/account/login", data={
            "email": person.email, "password": password or person.password,
            "csrf_token": csrf_token_from(page.get_data(as_text=True))})
        if person.totp_secret and response.status_code == 303 and "/login/verify" in response.location:
            verify = self.client.get("/account/login/verify")
            response = self.client.post("/account/login/verify", data={
                "code": person.next_code(),
                "csrf_token": csrf_token_from(verify.get_data(as_text=True))})
        return response

    def post(self, path: str, data: dict | None = None, page: str | None = None):
        source = self.client.get(page or "/account/").get_data(as_text=True)
        return self.client.post(path, data={**(data or {}), "csrf_token": csrf_token_from(source)})


def totp_code(secret: str, offset_steps: int = 0) -> str:
    import pyotp

    return pyotp.TOTP(secret).at(time.time() + offset_steps * 30)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; `smtp_server.mailbox.messages` holds what it accepted."""
    from tests.smtp import SmtpServer, free_port

    server = SmtpServer(free_port()).start()
    yield server
    server.stop()
