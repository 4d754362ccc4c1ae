"""SQLAlchemy engine and a request-scoped session; no Flask imports.

A thin wrapper rather than Flask-SQLAlchemy: models, services and the CLI use
the same typed `Session` with or without an application context, and tests can
point it at SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

def new_id() -> str:
    """A random primary key (UUID4 text): unguessable, and free to create in any process."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys and a busy timeout."""
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """Holds the engine and a scoped session bound to it."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False))

    def configure(self, url: str) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.engine = make_engine(url)
        self.session.remove()
        self.session.configure(bind=self.engine)

    def remove(self, _exc: BaseException | None = None) -> None:
        self.session.remove()

    def is_reachable(self) -> bool:
        """True when a trivial query succeeds; used by the health check."""
        if self.engine is None:
            return False
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not reachable"
            return False

    def new_session(self) -> Session:
        """A session outside the request scope (CLI, worker, benchmarks)."""
        return Session(bind=self.engine, expire_on_commit=False)
