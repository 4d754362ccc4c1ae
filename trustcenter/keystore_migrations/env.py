"""Alembic environment of the key store: runs on the connection handed over by `trustcenter db upgrade`."""

from __future__ import annotations

from alembic import context

from trustcenter.crypto.models import KeyStoreBase
from trustcenter.migrate import KEYSTORE_VERSION_TABLE

config = context.config


def run_on(connection) -> None:
    context.configure(connection=connection, target_metadata=KeyStoreBase.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                      version_table=KEYSTORE_VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


run_on(config.attributes["connection"])
