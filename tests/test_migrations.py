"""Alembic migrations match the models and run both ways on every database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from trustcenter import migrate
from trustcenter.db import make_engine
from trustcenter.models import metadata


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(database_url):
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "base")
        migrate.upgrade(engine)
    finally:
        engine.dispose()
