"""Alembic owns the schema: migrating to head gives exactly the tables `store/schema.py` defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from payoutkit.store.engines import make_engine
from payoutkit.store.schema import metadata


def test_migrations_at_head_match_the_table_definitions(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_new_database_is_migrated_at_its_first_start(tmp_path: Path) -> None:
    from payoutkit.store.migrations import current, ensure_schema, head

    url = f"sqlite:///{tmp_path / 'new.db'}"
    ensure_schema(url)
    assert current(url) == (head(), False)


def test_a_process_refuses_a_database_behind_the_code_instead_of_migrating_it(tmp_path: Path) -> None:
    """Several processes share one database: none of them migrates an existing one on its own (that
    is `payoutkit migrate`, run once); a process that finds it behind says so and does not start."""
    from payoutkit.store.migrations import SchemaBehind, current, ensure_schema, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    with pytest.raises(SchemaBehind, match="payoutkit migrate"):
        ensure_schema(url)
    assert current(url)[0] == "0002"  # left as it was
