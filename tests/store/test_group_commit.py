"""store/db.py group commit (SQLite, units on the event loop): the units that run before the event loop
gets back to its commit share one transaction, each in a savepoint of its own. What a caller relies on:
a unit's result reaches it only once the group has committed (another connection sees its writes), a
unit that fails rolls back alone, a COMMIT that fails fails every unit of its group and leaves nothing,
and one unit at a time is exactly one transaction with no savepoint. Real SQLite files, real commits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError

from payoutkit.store.db import Database
from payoutkit.store.fast import driver_sql


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'group.db'}")
    with database.engine.begin() as conn:
        driver_sql(conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES t (id))")
    try:
        yield database
    finally:
        database.dispose()


class Seen:
    """What the engine saw: COMMITs, and every statement sent through a cursor."""

    def __init__(self, db: Database) -> None:
        self.commits = 0
        self.statements: list[str] = []
        event.listen(db.engine, "commit", self._commit)
        event.listen(db.engine, "before_cursor_execute", self._statement)

    def _commit(self, conn: Connection) -> None:
        self.commits += 1

    def _statement(self, conn: Connection, cursor: Any, sql: str, *rest: Any) -> None:
        self.statements.append(sql.split()[0].upper())


def committed_ids(db: Database) -> list[int]:
    """The rows another connection sees: only what has committed."""
    path = db.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as other:
        return [r[0] for r in other.execute("SELECT id FROM t ORDER BY id")]


def insert(row_id: int, parent: int | None = None) -> Callable[[Connection], int]:
    def unit(conn: Connection) -> int:
        driver_sql(conn, "INSERT INTO t (id, parent) VALUES (?, ?)", (row_id, parent))
        return row_id

    return unit


def run_together(db: Database, units: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Start every unit at once on one event loop (as concurrent requests are), results or exceptions."""

    async def main() -> list[Any]:
        return await asyncio.gather(*(u() for u in units), return_exceptions=True)

    return asyncio.run(main())


def test_units_run_together_commit_once_and_each_answers_only_after_the_commit(db: Database) -> None:
    seen = Seen(db)
    visible_on_return: dict[int, list[int]] = {}

    def write(row_id: int) -> Callable[[], Awaitable[int]]:
        async def go() -> int:
            got = await db.run(insert(row_id))
            visible_on_return[row_id] = committed_ids(db)  # the moment its answer could be sent
            return got

        return go

    results = run_together(db, [write(i) for i in range(1, 6)])

    assert results == [1, 2, 3, 4, 5]
    assert seen.commits == 1  # one group, one COMMIT
    for row_id, visible in visible_on_return.items():
        assert row_id in visible, (row_id, visible)
    assert committed_ids(db) == [1, 2, 3, 4, 5]


def test_a_failing_unit_rolls_back_alone(db: Database) -> None:
    def fails_after_writing(conn: Connection) -> int:
        insert(2)(conn)
        raise ValueError("refused after a write")

    def failing_first(conn: Connection) -> int:
        insert(10)(conn)
        raise ValueError("the group's first unit refused")

    results = run_together(
        db,
        [
            lambda: db.run(failing_first),
            lambda: db.run(insert(1)),
            lambda: db.run(fails_after_writing),
            lambda: db.run(insert(3)),
        ],
    )

    assert isinstance(results[0], ValueError)
    assert results[1] == 1
    assert isinstance(results[2], ValueError)
    assert results[3] == 3
    assert committed_ids(db) == [1, 3]


def test_a_failed_commit_fails_every_unit_of_its_group_and_leaves_nothing(db: Database) -> None:
    def orphan(conn: Connection) -> int:
        # A foreign key checked only at COMMIT: the commit itself fails (SQLite's own refusal).
        driver_sql(conn, "PRAGMA defer_foreign_keys = ON")
        return insert(2, parent=99)(conn)

    results = run_together(db, [lambda: db.run(insert(1)), lambda: db.run(orphan)])

    assert all(isinstance(r, IntegrityError) for r in results), results
    assert committed_ids(db) == []
    # The connection is usable again, and the next unit commits on its own.
    assert asyncio.run(db.run(insert(3))) == 3
    assert committed_ids(db) == [3]


def test_a_read_joining_an_open_group_answers_after_its_commit(db: Database) -> None:
    async def read() -> tuple[list[int], list[int]]:
        inside = await db.read(lambda conn: [r[0] for r in driver_sql(conn, "SELECT id FROM t", fetch=True)])
        return inside, committed_ids(db)

    results = run_together(db, [lambda: db.run(insert(1)), read])

    inside, visible_when_answered = results[1]
    assert inside == [1]  # it read inside the group, after the write
    assert visible_when_answered == [1]  # and answered only once that write was durable


def test_one_unit_at_a_time_is_one_transaction_without_savepoints(db: Database) -> None:
    seen = Seen(db)

    async def one_by_one() -> list[int]:
        return [await db.run(insert(i)) for i in (1, 2, 3)]

    assert asyncio.run(one_by_one()) == [1, 2, 3]
    assert seen.commits == 3
    assert "SAVEPOINT" not in seen.statements
    assert seen.statements == ["BEGIN", "INSERT"] * 3


def test_a_transaction_rolled_back_under_the_group_fails_every_unit(db: Database) -> None:
    # SQLite itself rolls a whole transaction back on some errors (an I/O error, a full disk): the units
    # that had already succeeded in the group must not be answered as committed.
    def lose_the_transaction(conn: Connection) -> int:
        insert(2)(conn)
        conn.connection.driver_connection.rollback()  # type: ignore[union-attr]
        raise OSError("disk I/O error")

    results = run_together(
        db, [lambda: db.run(insert(1)), lambda: db.run(lose_the_transaction), lambda: db.run(insert(3))]
    )

    assert all(isinstance(r, BaseException) for r in results), results
    assert committed_ids(db) == []
    assert asyncio.run(db.run(insert(4))) == 4
    assert committed_ids(db) == [4]


def test_units_arriving_while_a_group_commits_wait_for_it_and_form_the_next_group(db: Database) -> None:
    # A group of several units commits on a thread of its own; the event loop goes on meanwhile, but no
    # unit may touch the connection before that COMMIT is over. The first COMMIT is held (an engine
    # listener on the commit thread, after SQLite's commit) until the next units have had their chance.
    seen = Seen(db)
    held, release = threading.Event(), threading.Event()
    inserts_while_held: list[list[str]] = []

    def hold(conn: Connection) -> None:
        if not held.is_set():
            held.set()
            release.wait(10)

    event.listen(db.engine, "commit", hold)

    def read_ids(conn: Connection) -> list[int]:
        return [r[0] for r in driver_sql(conn, "SELECT id FROM t ORDER BY id", fetch=True)]

    async def main() -> tuple[list[Any], list[Any]]:
        first = asyncio.gather(db.run(insert(1)), db.run(insert(2)))
        await asyncio.get_running_loop().run_in_executor(None, held.wait, 10)  # the first group commits
        second = asyncio.gather(db.run(insert(3)), db.run(insert(4)), db.read(read_ids))
        await asyncio.sleep(0.05)  # the loop is free: the new units start, and must wait
        inserts_while_held.append([s for s in seen.statements if s != "SAVEPOINT" and s != "RELEASE"])
        release.set()
        return await first, await second

    # on a thread of its own, bounded: a unit that did not wait would share the connection with the
    # COMMIT's thread, which can hang rather than fail
    outcome: list[Any] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())), daemon=True)
    runner.start()
    runner.join(30)
    assert outcome, "the units did not finish within 30 s"
    firsts, seconds = outcome[0]

    assert inserts_while_held == [["BEGIN", "INSERT", "INSERT"]]  # nothing of the second group yet
    assert firsts == [1, 2]
    assert seconds == [3, 4, [1, 2, 3, 4]]  # the read joined the next group, after its writes
    assert seen.commits == 2  # two groups
    assert committed_ids(db) == [1, 2, 3, 4]
