"""The declarative base, engines and small time helpers shared by every model; no Flask imports.

Sessions come from Flask-SQLAlchemy (`trustcenter.extensions.db`) inside the
application, and from `session_factory(app)` for threads and commands. Either
way the session carries the application's key service in `session.info`,
which is where encrypted attributes find it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import DeclarativeBase

from trustcenter.crypto.clock import new_id, utcnow

__all__ = ["NAMING_CONVENTION", "Base", "as_utc", "make_engine", "new_id", "same_database", "sqlite_file",
           "sqlite_pragmas", "utcnow"]
LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def as_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC; SQLite hands back naive datetimes, which we store in UTC."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


# Stable constraint names so Alembic migrations are identical on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def engine_options(url: str) -> dict[str, Any]:
    """Options for every engine: a liveness check for servers (not needed for a local file)."""
    return {"pool_pre_ping": not url.startswith("sqlite")}


def prepare_engine(engine: Engine) -> Engine:
    """SQLite gets foreign keys and a busy timeout on each connection."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", sqlite_pragmas)
    return engine


def make_engine(url: str) -> Engine:
    """An engine for `url`, prepared as the application's own are."""
    return prepare_engine(create_engine(url, **engine_options(url)))


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for an in-memory database."""
    database = url.database
    return None if not database or database == ":memory:" else Path(database)


def same_database(a: URL, b: URL) -> bool:
    """Whether two URLs reach one database, however they spell it (driver, user, password, localhost, path)."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        files = [sqlite_file(url) for url in (a, b)]
        return files[0] is not None and files[1] is not None and files[0].resolve() == files[1].resolve()
    return _server_database(a) == _server_database(b)


def _server_database(url: URL) -> tuple[str, int, str | None]:
    host = (url.host or "").lower()
    # A socket directory is this machine too: better to refuse a real difference than to miss a sameness.
    return ("localhost" if host in LOCAL_HOSTS or host.startswith("/") else host, url.port or 5432, url.database)
