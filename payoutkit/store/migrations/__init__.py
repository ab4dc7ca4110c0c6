"""Alembic owns the schema.

`upgrade(url)` runs every migration to head (`payoutkit migrate`, and the test suite's template
database). `ensure_schema(url)` is what a starting process runs: nothing when the database is at the
latest version; the migrations when the database is new (a first start); otherwise it refuses to start
and asks for `payoutkit migrate`, so that processes sharing a database never race to migrate it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from payoutkit.store.engines import normalize_url

HERE = Path(__file__).parent


class SchemaBehind(RuntimeError):
    """The database was made by an older Payoutkit: `payoutkit migrate` brings it up to date."""


def config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(config(database_url), revision)


def head() -> str | None:
    return ScriptDirectory.from_config(config("sqlite://")).get_current_head()


def current(database_url: str) -> tuple[str | None, bool]:
    """The database's revision, and whether it holds any table at all."""
    engine = create_engine(normalize_url(database_url))
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            empty = not inspect(conn).get_table_names()
    finally:
        engine.dispose()
    return revision, empty


def ensure_schema(database_url: str, *, migrate_new: bool = True) -> None:
    revision, empty = current(database_url)
    if revision == head():
        return
    if revision is None and empty and migrate_new:
        upgrade(database_url)
        return
    raise SchemaBehind(
        f"The database is at schema version {revision or 'none'}, this Payoutkit needs {head()}: "
        "run `payoutkit migrate` first."
    )
