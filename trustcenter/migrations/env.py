"""Alembic environment: runs on the connection handed over by `trustcenter db`."""

from __future__ import annotations

from alembic import context

from trustcenter.models import metadata

config = context.config


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        # The key store's tables live in another database.
        include_name=lambda name, kind, _parent: kind != "table" or name in metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()


run_on(config.attributes["connection"])
