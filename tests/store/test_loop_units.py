"""PostgreSQL units on the server's event loop (store/aio.py `LoopUnits`, started by
`Database.start_loop_units`): they run on the loop's own thread, commit and roll back as a unit on a
thread does, are run again on a deadlock, run to their end when the task awaiting them is cancelled,
write COPY batches through psycopg's async connection, and a read unit still cannot write. A unit
awaited from any other event loop runs on a thread, as before."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from sqlalchemy import Connection, event, func, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from payoutkit.runtime import Runtime
from payoutkit.store.fast import COPY_MIN, Write
from payoutkit.store.schema import resources
from payoutkit.store.units import after_commit
from tests.conftest import CLOCK_START
from tests.support.loop_units import on_loop

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


def _ids(runtime: Runtime, prefix: str) -> list[str]:
    q = select(resources.c.id).where(resources.c.id.startswith(prefix)).order_by(resources.c.id)
    return list(runtime.db.transaction(lambda conn: conn.execute(q).scalars().all()))


def test_units_run_on_the_loop_thread_and_commit_with_their_hooks(runtime: Runtime) -> None:
    threads: set[int] = set()

    def statement(*_a: Any) -> None:
        threads.add(threading.get_ident())

    hooks: list[str] = []

    def unit(conn: Connection, rid: str) -> str:
        conn.execute(insert(resources), [_row(rid)])
        after_commit(conn, lambda: hooks.append(rid))
        return rid

    async def main(db: Any) -> tuple[int, int]:
        engines = list(db.engines)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", statement)
        try:
            assert await db.run(unit, "loop_1") == "loop_1"
            seen = await db.read(
                lambda conn: conn.execute(select(func.count()).select_from(resources)).scalar()
            )
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", statement)
        return threading.get_ident(), seen

    loop_thread, seen = on_loop(runtime, main)
    assert threads == {loop_thread}  # no statement of either unit ran on a worker thread
    assert hooks == ["loop_1"]
    assert seen >= 1
    assert _ids(runtime, "loop_") == ["loop_1"]


def test_a_failed_unit_leaves_nothing_and_a_read_unit_cannot_write(runtime: Runtime) -> None:
    class Failed(Exception):
        pass

    def failing(conn: Connection) -> None:
        conn.execute(insert(resources), [_row("fail_1")])
        after_commit(conn, lambda: pytest.fail("a failed unit's hook ran"))
        raise Failed

    def sneaky(conn: Connection) -> None:
        conn.execute(insert(resources), [_row("fail_2")])

    async def main(db: Any) -> None:
        with pytest.raises(Failed):
            await db.run(failing)
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await db.read(sneaky)
        await db.run(lambda conn: conn.execute(insert(resources), [_row("fail_3")]))  # the pool is sound

    on_loop(runtime, main)
    assert _ids(runtime, "fail_") == ["fail_3"]


def test_a_deadlocked_unit_is_run_again(runtime: Runtime) -> None:
    class Deadlock:  # what psycopg's error carries: PostgreSQL's SQLSTATE for a detected deadlock
        sqlstate = "40P01"

    attempts: list[int] = []

    def unit(conn: Connection) -> int:
        attempts.append(1)
        conn.execute(insert(resources), [_row(f"retry_{len(attempts)}")])
        if len(attempts) < 3:
            raise OperationalError("INSERT", {}, Deadlock())  # type: ignore[arg-type]
        return len(attempts)

    assert on_loop(runtime, lambda db: db.run(unit)) == 3
    assert _ids(runtime, "retry_") == ["retry_3"]  # the two failed attempts rolled back


def test_a_unit_runs_to_its_commit_when_its_task_is_cancelled(runtime: Runtime) -> None:
    begun = threading.Event()

    def slow(conn: Connection) -> None:
        conn.execute(insert(resources), [_row("cancel_1")])
        begun.set()
        conn.execute(text("SELECT pg_sleep(0.3)"))
        conn.execute(insert(resources), [_row("cancel_2")])

    async def main(db: Any) -> bool:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(db.run, slow)
                while not begun.is_set():
                    await anyio.sleep(0.01)
                scope.cancel()  # the request's task goes away mid-unit
        return scope.cancelled_caught

    assert on_loop(runtime, main)
    assert _ids(runtime, "cancel_") == ["cancel_1", "cancel_2"]  # whole, not half


def test_a_copy_batch_on_the_loop_commits_and_rolls_back_with_its_unit(runtime: Runtime) -> None:
    class Failed(Exception):
        pass

    def batch(conn: Connection, prefix: str, fail: bool) -> None:
        Write(insert(resources)).run(conn, [_row(f"{prefix}{i}") for i in range(COPY_MIN + 2)])
        if fail:
            raise Failed

    copies: list[str] = []

    def statement(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if sql.startswith("COPY"):
            copies.append(sql)

    async def main(db: Any) -> None:
        for engine in db.engines:
            event.listen(engine, "before_cursor_execute", statement)
        await db.run(batch, "copy_a", False)
        with pytest.raises(Failed):
            await db.run(batch, "copy_b", True)

    on_loop(runtime, main)
    assert len(copies) == 2  # both batches went by COPY
    assert _ids(runtime, "copy_") == sorted(f"copy_a{i}" for i in range(COPY_MIN + 2))


def test_a_unit_from_another_loop_runs_on_a_thread(runtime: Runtime) -> None:
    db = runtime.db
    started = threading.Event()
    stop = threading.Event()

    async def server() -> None:  # the loop units of a server's loop, on a thread of their own
        await db.start_loop_units()
        started.set()
        while not stop.is_set():
            await anyio.sleep(0.01)
        await db.stop_loop_units()

    loop = threading.Thread(target=anyio.run, args=(server,), daemon=True)
    loop.start()
    try:
        assert started.wait(30)
        here = threading.get_ident()
        ran = anyio.run(db.run, lambda conn: threading.get_ident())
        assert ran != here  # on a worker thread of this loop, not on the server loop's engines
    finally:
        stop.set()
        loop.join(30)
    assert not loop.is_alive()
