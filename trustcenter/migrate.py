"""Run Alembic migrations programmatically: the key store first, then the main database."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from trustcenter.crypto import KeyService

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
KEYSTORE_MIGRATIONS = Path(__file__).resolve().parent / "keystore_migrations"
KEYSTORE_VERSION_TABLE = "alembic_version_keystore"  # its own, should the key store share a server with the data


def alembic_config(connection: Connection, location: Path = MIGRATIONS,
                   keys: KeyService | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    # Data migrations that seal or re-index values use the application's key service.
    config.attributes["keys"] = keys
    return config


def current_revisions(engine: Engine, keystore: bool = False) -> tuple[str, ...]:
    """The revisions a database is at (empty for a database never migrated)."""
    with engine.connect() as connection:
        options = {"version_table": KEYSTORE_VERSION_TABLE} if keystore else {}
        return MigrationContext.configure(connection, opts=options).get_current_heads()


def head_revisions(keystore: bool = False) -> tuple[str, ...]:
    config = Config()
    config.set_main_option("script_location", str(KEYSTORE_MIGRATIONS if keystore else MIGRATIONS))
    return tuple(ScriptDirectory.from_config(config).get_heads())


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction; on SQLite without foreign-key checks, which would refuse its table rebuilds."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # only outside a transaction does SQLite accept this
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if sqlite:  # pysqlite opens no transaction before DDL: open it, so a failure undoes everything
                    connection.exec_driver_sql("BEGIN")
                yield connection
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise RuntimeError("the migration left rows whose foreign keys point nowhere; nothing was changed")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade_keystore(keystore_engine: Engine) -> None:
    with _migrating(keystore_engine) as connection:
        command.upgrade(alembic_config(connection, KEYSTORE_MIGRATIONS), "head")


def upgrade(engine: Engine, keys: KeyService | None = None, revision: str = "head") -> None:
    """Bring the key store (when `keys` is given) and then the schema to `revision`, each in one transaction."""
    if keys is not None:
        upgrade_keystore(keys.engine)
    with _migrating(engine) as connection:
        command.upgrade(alembic_config(connection, keys=keys), revision)


def downgrade(engine: Engine, revision: str, keys: KeyService | None = None) -> None:
    with _migrating(engine) as connection:
        command.downgrade(alembic_config(connection, keys=keys), revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a migration from the difference between models and database."""
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
