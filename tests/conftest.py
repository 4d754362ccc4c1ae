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
from trustcenter.crypto.models import KeyStoreBase
from trustcenter.db import make_engine
from trustcenter.extensions import db, session_factory
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
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Databases:
    """The main database and the key store of one backend, both migrated."""

    url: str
    keystore_url: str
    backend: str


@pytest.fixture(scope="session", params=database_backends())
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """A freshly migrated database and key store, once per backend per test session."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("sqlite")
        found = Databases(f"sqlite:///{folder / 'test.db'}", f"sqlite:///{folder / 'keys.db'}", "sqlite")
        _migrate(found)
        yield found
        return
    with scratch_postgresql(os.environ["TEST_DATABASE_URL"]) as url, \
            scratch_postgresql(os.environ["TEST_DATABASE_URL"]) as keystore_url:
        found = Databases(url, keystore_url, "postgresql")
        _migrate(found)
        yield found


@pytest.fixture(scope="session")
def database_url(databases: Databases) -> str:
    return databases.url


def _migrate(found: Databases) -> None:
    engine, keystore = make_engine(found.url), make_engine(found.keystore_url)
    migrate.upgrade_keystore(keystore)
    migrate.upgrade(engine)
    engine.dispose()
    keystore.dispose()


def empty_all_tables(app: Flask) -> None:
    """Both databases back to empty, and every pooled connection closed (a scratch database can be dropped)."""
    with app.app_context():
        engine = db.engine
    keystore = app.extensions["keys"].engine
    for target, tables in ((engine, metadata.sorted_tables), (keystore, KeyStoreBase.metadata.sorted_tables)):
        with target.begin() as connection:
            for table in reversed(tables):
                connection.execute(table.delete())
        target.dispose()


def close_app(app: Flask) -> None:
    """Stop a second application's worker thread and close its connections (the `app` fixture does its own)."""
    app.extensions["mail_worker"].stop()
    with app.app_context():
        db.engine.dispose()
    app.extensions["keys"].engine.dispose()


@pytest.fixture
def content_dir() -> Path:
    return PROJECT_ROOT / "content"


@pytest.fixture
def app_config(databases: Databases, tmp_path: Path, content_dir: Path) -> dict:
    return {
        "ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": databases.url,
        "KEYSTORE_URL": databases.keystore_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTENT_DIR": str(content_dir),
    }


# The test's application, for helpers called without fixtures (set and cleared by `app`).
_CURRENT: dict[str, Flask] = {}


def new_session():
    """A session of the current test's application, outside any request (as a worker or command has)."""
    return session_factory(_CURRENT["app"])()


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    application = create_app(app_config)
    _CURRENT["app"] = application
    application.extensions["throttle"].reset()  # counters in Redis must not leak from one test into the next
    yield application
    application.extensions["mail_worker"].stop()  # a delivery thread must not outlive its test
    empty_all_tables(application)
    _CURRENT.pop("app", None)


@pytest.fixture
def published(app: Flask) -> None:
    """Publish the demo content versions, so the changelog has entries to show."""
    from trustcenter import demo
    from trustcenter.extensions import db

    with app.app_context():
        list(demo.load(db.session(), app.extensions["content"].current()))


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
    own = session_factory(app)()
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
def captured_statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements sent to `app`'s main database inside the block (the key store's are not counted)."""
    from sqlalchemy import event

    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def run_worker_tasks(app: Flask) -> None:
    """Do now what the mail worker does before each delivery round (e.g. answer reset requests)."""
    from trustcenter.registry import WORKER_TASKS, registry

    for task in registry(app, WORKER_TASKS):
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
def sms_server():
    """A local HTTP server answering like Twilio's Messages API; `sms_server.received` holds what it got."""
    from tests.sms import SmsServer

    server = SmsServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; `smtp_server.mailbox.messages` holds what it accepted."""
    from tests.smtp import SmtpServer, free_port

    server = SmtpServer(free_port()).start()
    yield server
    server.stop()
