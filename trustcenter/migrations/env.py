"""Alembic environment: runs on the connection handed over by `trustcenter db`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from trustcenter.models import metadata

config = context.config


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        run_on(conn)
