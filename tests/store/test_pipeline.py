"""Deferred writes on PostgreSQL (store/pipeline.py): a `Write(deferred=True)` is sent with the unit's
next statement, whatever sends it, or at the unit's end, in one pipeline with the deferred writes before
it; the unit sees and commits them as if they had been sent at once, and a failed one fails its unit
whole and leaves its connection fit for the next unit. On a thread (`Database.transaction`) and on the
event loop (`LoopUnits`, psycopg's async connection) alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from sqlalchemy import Connection, event, func, insert, select
from sqlalchemy.exc import IntegrityError

from payoutkit.runtime import Runtime
from payoutkit.store.fast import Write
from payoutkit.store.schema import resources
from tests.conftest import CLOCK_START

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

_DEFERRED = Write(insert(resources), deferred=True)


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


def _count(conn: Connection, prefix: str) -> int:
    q = select(func.count()).select_from(resources).where(resources.c.id.startswith(prefix))
    return int(conn.execute(q).scalar_one())


def _run(runtime: Runtime, on_loop: bool, unit: Callable[[Connection], Any], listener: Any = None) -> Any:
    """`unit` as one writing unit: on a thread, or on an event loop with its loop units started;
    `listener` sees the statements of the engines it runs on."""

    def listen(add: bool) -> None:
        for engine in runtime.db.engines if listener else ():
            (event.listen if add else event.remove)(engine, "before_cursor_execute", listener)

    async def main() -> Any:
        db = runtime.db
        await db.start_loop_units()
        listen(True)
        try:
            return await db.run(unit)
        finally:
            listen(False)
            await db.stop_loop_units()

    if on_loop:
        return anyio.run(main)
    listen(True)
    try:
        return runtime.db.transaction(unit)
    finally:
        listen(False)


@pytest.mark.parametrize("on_loop", [False, True], ids=["thread", "loop"])
def test_deferred_writes_are_sent_before_the_next_statement_and_before_the_commit(
    runtime: Runtime, on_loop: bool
) -> None:
    seen: list[str] = []

    def statement(_c: Any, _cur: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql.split()[0].upper())

    def unit(conn: Connection) -> int:
        _DEFERRED.run(conn, [_row("dfr_1")])
        _DEFERRED.run(conn, [_row("dfr_2"), _row("dfr_3")])
        seen.append("ran")
        visible = _count(conn, "dfr_")  # Core's SELECT: the writes go first
        _DEFERRED.run(conn, [_row("dfr_4")])
        seen.append("end")
        return visible

    visible = _run(runtime, on_loop, unit, statement)
    assert visible == 3
    assert seen == ["ran", "INSERT", "INSERT", "SELECT", "end", "INSERT"]
    assert runtime.db.transaction(lambda conn: _count(conn, "dfr_")) == 4


@pytest.mark.parametrize("on_loop", [False, True], ids=["thread", "loop"])
def test_a_deferred_write_that_fails_fails_its_unit_whole(runtime: Runtime, on_loop: bool) -> None:
    runtime.db.transaction(lambda conn: _DEFERRED.run(conn, [_row("taken_1")]))

    def unit(conn: Connection) -> None:
        _DEFERRED.run(conn, [_row("lost_1")])
        _DEFERRED.run(conn, [_row("taken_1")])  # its id is stored: fails when the batch is sent
        _DEFERRED.run(conn, [_row("lost_2")])

    with pytest.raises(IntegrityError):
        _run(runtime, on_loop, unit)

    def after(conn: Connection) -> int:  # the pool's connections still work, and nothing was kept
        _DEFERRED.run(conn, [_row("after_1")])
        _DEFERRED.run(conn, [_row("after_2")])
        return _count(conn, "lost_") + _count(conn, "after_")

    assert _run(runtime, on_loop, after) == 2
    assert runtime.db.transaction(lambda conn: _count(conn, "taken_")) == 1


def test_a_transaction_that_is_not_a_unit_commits_its_deferred_writes_and_a_rollback_drops_them(
    runtime: Runtime,
) -> None:
    with runtime.db.engine.begin() as conn:
        _DEFERRED.run(conn, [_row("raw_1")])
    with runtime.db.engine.connect() as conn:
        conn.begin()
        _DEFERRED.run(conn, [_row("raw_2")])
        conn.rollback()
        with conn.begin():  # the same connection: the dropped write is not sent with its next statement
            assert _count(conn, "raw_") == 1
