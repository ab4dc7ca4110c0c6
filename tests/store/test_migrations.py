"""Alembic owns the schema: migrating to head gives exactly the tables `store/schema.py` defines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from payoutkit.store.db import make_engine
from payoutkit.store.schema import metadata


def test_migrations_at_head_match_the_table_definitions(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert differences == []
