"""Fresh, migrated databases for every test, on SQLite and on PostgreSQL.

Running the migrations once per test would dominate the suite's time, so each backend gets one
template per session, migrated to head by `payoutkit.store.migrations.upgrade`, and each test gets a
copy:

- SQLite: the template file is copied into the test's tmp_path;
- PostgreSQL: `CREATE DATABASE t_<n> TEMPLATE payoutkit_template`, dropped after the test.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path

from devtools.pg import PostgresCluster

BACKENDS = ["sqlite", "postgresql"]
PG_TEMPLATE = "payoutkit_template"
SQLITE_FILENAME = "payoutkit.db"

_numbers = itertools.count(1)


def migrate(database_url: str) -> None:
    # Imported here, not at the top: the store is the application's, and tests that need no database
    # (the pure ledger, these support modules) must not depend on it importing cleanly.
    from payoutkit.store.migrations import upgrade

    upgrade(database_url)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def build_sqlite_template(directory: Path) -> Path:
    path = directory / SQLITE_FILENAME
    migrate(sqlite_url(path))
    # The app may have switched the file to WAL: fold the log back in, so that one file is the whole
    # database and copying it copies everything.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    leftovers = [p for p in directory.iterdir() if p.name != SQLITE_FILENAME]
    assert not leftovers, f"migrating left files beside the database: {leftovers}"
    return path


def copy_sqlite_template(template: Path, directory: Path) -> str:
    path = directory / SQLITE_FILENAME
    shutil.copyfile(template, path)
    return sqlite_url(path)


def build_pg_template(cluster: PostgresCluster) -> str:
    cluster.create_database(PG_TEMPLATE)
    migrate(cluster.url(PG_TEMPLATE))
    cluster.freeze_template(PG_TEMPLATE)
    return PG_TEMPLATE


def create_pg_database(cluster: PostgresCluster, template: str) -> str:
    """Create a fresh copy of the template; returns its name."""
    name = f"t_{next(_numbers)}"
    cluster.create_database(name, template=template)
    return name
