"""store/checkpoint.py: the server's WAL checkpoints run on a thread of their own, SQLite's automatic
checkpoint stays as the safety net (the WAL is bounded even when the thread never runs), and every
other process keeps SQLite's default."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from devtools.pg import PostgresCluster
from payoutkit.store.checkpoint import WalIndex
from payoutkit.store.db import AUTOCHECKPOINT, Database
from tests.support import databases

PAGE = 4096


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh SQLite database migrated to head (the WAL is SQLite's: no PostgreSQL run of these)."""
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    database = Database(sqlite_url)
    database.transaction(lambda c: c.execute(text("CREATE TABLE IF NOT EXISTS wal_probe (x BLOB)")))
    try:
        yield database
    finally:
        database.dispose()


def _write(conn: Connection, pages: int) -> None:
    conn.execute(text("INSERT INTO wal_probe VALUES (randomblob(:n))"), {"n": pages * PAGE})


def _autocheckpoint(db: Database) -> int:
    return int(db.transaction(lambda c: c.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()))


def _checkpoint(db: Database, mode: str) -> tuple[int, int, int]:
    conn = db.engine.raw_connection()  # outside a transaction, as a checkpoint must be
    try:
        busy, frames, copied = conn.cursor().execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    finally:
        conn.close()
    return int(busy), int(frames), int(copied)


def _wal_pages(url: str) -> int:
    return os.path.getsize(url.removeprefix("sqlite:///") + "-wal") // PAGE


def test_other_processes_keep_sqlites_automatic_checkpoint(db: Database) -> None:
    assert _autocheckpoint(db) == AUTOCHECKPOINT == 1000


def test_the_thread_copies_the_wal_while_commits_keep_sqlites_fallback(db: Database) -> None:
    db.start_checkpointer(interval=0.01, pages=1, fallback_pages=500)
    assert _autocheckpoint(db) == 500  # every connection of the server, the pool's included
    for _ in range(20):
        db.transaction(_write, 2)
    checkpointer = db._checkpointer
    assert checkpointer is not None
    deadline = time.monotonic() + 10
    while (checkpointer.last is None or checkpointer.last[1] != checkpointer.last[2]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)
    busy, frames, copied = checkpointer.last or (1, 0, -1)
    assert (busy, frames) == (0, copied)  # all of the WAL copied, by the thread
    assert frames > 0
    db.dispose()
    assert db._checkpointer is None
    assert _autocheckpoint(db) == AUTOCHECKPOINT  # the same object, reopened outside a server


def test_the_wal_stays_bounded_when_the_thread_does_not_run(db: Database, sqlite_url: str) -> None:
    db.start_checkpointer(interval=3600, fallback_pages=200)  # the thread never gets to run
    for _ in range(150):
        db.transaction(_write, 5)  # 750 pages of rows: the WAL would hold more than 750 pages
    assert _wal_pages(sqlite_url) <= 200 + 20  # the fallback, plus at most one unit's pages


def test_the_probe_reads_the_pages_no_checkpoint_has_copied(db: Database, sqlite_url: str) -> None:
    shm = WalIndex(sqlite_url.removeprefix("sqlite:///") + "-shm")
    _checkpoint(db, "TRUNCATE")
    assert shm.uncopied_pages() == 0
    for _ in range(10):
        db.transaction(_write, 3)
    assert shm.uncopied_pages() >= 30  # read again through the same file descriptor
    busy, frames, copied = _checkpoint(db, "PASSIVE")
    assert (busy, frames) == (0, copied)
    assert shm.uncopied_pages() == 0
    shm.close()
    assert WalIndex(shm.path + "-missing").uncopied_pages() > 1_000_000  # unreadable: the thread checkpoints


def test_postgresql_has_no_checkpointer(pg_cluster: PostgresCluster, pg_template: str) -> None:
    name = databases.create_pg_database(pg_cluster, pg_template)
    database = Database(pg_cluster.url(name))
    try:
        database.start_checkpointer()
        assert database._checkpointer is None
    finally:
        database.dispose()
        pg_cluster.drop_database(name)
