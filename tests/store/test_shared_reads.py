"""Shared reads on PostgreSQL's loop units (store/aio.py `read_shared`, `Database.read_shared`): the
reads of one key that come while a unit of that key runs wait for its end, then run together in ONE
unit, where they share a memo (`store/units.shared`). A read never joins a unit that began before it
came, so it sees what was committed before it came; a read that fails fails alone; reads of other keys
do not wait. Elsewhere (SQLite, a unit from another loop) `read_shared` is `read`."""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import pytest
from sqlalchemy import Connection, func, insert, select, text

from payoutkit.runtime import Runtime
from payoutkit.store.schema import resources
from payoutkit.store.units import shared
from tests.conftest import CLOCK_START
from tests.support.loop_units import on_loop

SLOW = 0.4  # seconds a read holds its unit open (pg_sleep), for the others to come meanwhile
CAME = 0.1  # seconds after which a read started on the loop has surely come (it is on loopback)
_UNITS = itertools.count(1)  # numbers the shared units the reads run in


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


_COUNT = select(func.count()).select_from(resources).where(resources.c.object == "test_thing")


def _count(conn: Connection, slow: float = 0.0) -> tuple[int, int | None, int]:
    """The things stored (kept in the unit's memo, if it has one, and taken from it when there), the
    number of the shared unit it ran in (None outside one), and how many statements this read sent."""
    memo = shared(conn)
    if memo is not None and "unit" not in memo:
        memo["unit"] = next(_UNITS)
    unit = None if memo is None else memo["unit"]
    sent = 0
    if memo is not None and "count" in memo:
        found = memo["count"]
    else:
        found = conn.execute(_COUNT).scalar_one()
        sent += 1
        if memo is not None:
            memo["count"] = found
    if slow:
        conn.execute(text("SELECT pg_sleep(:s)"), {"s": slow})
    return found, unit, sent


def _store(conn: Connection, rid: str) -> None:
    conn.execute(insert(resources), [_row(rid)])


async def _all(first: Any, *then: Any) -> list[Any]:
    """Start `first` (a coroutine function), then, `CAME` seconds later, each of `then` at once: their
    results, in that order."""
    reads = (first, *then)
    results: list[Any] = [None] * len(reads)

    async def one(i: int) -> None:
        results[i] = await reads[i]()

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, 0)
        await anyio.sleep(CAME)
        for i in range(1, len(reads)):
            tg.start_soon(one, i)
    return results


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_that_wait_run_in_one_unit_and_share_its_memo(runtime: Runtime) -> None:
    async def main(db: Any) -> list[Any]:
        return await _all(
            lambda: db.read_shared("k", _count, SLOW), *[lambda: db.read_shared("k", _count)] * 5
        )

    first, *waited = on_loop(runtime, main)
    assert first[1] is None  # the first read came alone: a unit of its own, as `read` runs it
    assert {memo for _, memo, _ in waited} == {waited[0][1]} != {None}  # the five: one shared unit
    assert sum(sent for _, _, sent in waited) == 1  # and one statement between them
    assert {found for found, _, _ in waited} == {first[0]}  # nothing was stored meanwhile


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_first_runs_at_the_start_of_each_unit_with_every_read_of_it(runtime: Runtime) -> None:
    firsts: list[tuple[int | None, list[tuple[Any, ...]]]] = []

    def first(conn: Connection, reads: list[tuple[Any, ...]]) -> None:
        memo = shared(conn)
        assert memo is not None
        memo["unit"] = next(_UNITS)
        firsts.append((memo["unit"], reads))

    async def main(db: Any) -> list[Any]:
        def read(*args: Any) -> Any:
            return lambda: db.read_shared("k", _count, *args, first=first)

        return await _all(read(SLOW), read(0.0), read(0.0), read(0.0))

    first_read, *waited = on_loop(runtime, main)
    assert first_read[1] is None  # alone: no shared unit, and no `first`
    assert firsts == [(waited[0][1], [(0.0,)] * 3)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_never_joins_a_unit_begun_before_it_came(runtime: Runtime) -> None:
    """The read that comes after a commit sees it, though a shared unit of its key that counted before
    that commit (and keeps the count in its memo) was still running when it came."""

    async def main(db: Any) -> tuple[Any, Any, bool]:
        results: dict[str, Any] = {}

        async def read(name: str, slow: float) -> None:
            results[name] = await db.read_shared("k", _count, slow)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read, "alone", SLOW)  # runs at once, alone
            await anyio.sleep(CAME)
            tg.start_soon(read, "shared", SLOW)  # waits, then counts in a shared unit and sleeps there
            await anyio.sleep(SLOW + CAME)  # the alone read is done; the shared unit has counted
            await db.run(_store, "shared_after")  # committed before the late read comes
            came_while_open = "shared" not in results
            results["late"] = await db.read_shared("k", _count)
        return results["shared"], results["late"], came_while_open

    shared_read, late, came_while_open = on_loop(runtime, main)
    assert came_while_open  # the late read came while the shared unit ran (and had counted)
    assert shared_read[1] is not None
    assert late[0] == shared_read[0] + 1
    assert late[1] != shared_read[1]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_that_fails_fails_alone(runtime: Runtime) -> None:
    def refused(conn: Connection) -> None:
        raise LookupError("no such thing")

    async def main(db: Any) -> list[Any]:
        async def expect_refusal() -> str:
            with pytest.raises(LookupError, match="no such thing"):
                await db.read_shared("k", refused)
            return "refused"

        return await _all(
            lambda: db.read_shared("k", _count, SLOW),
            lambda: db.read_shared("k", _count),
            expect_refusal,
            lambda: db.read_shared("k", _count),
        )

    first, before, refusal, after = on_loop(runtime, main)
    assert refusal == "refused"
    assert before[0] == after[0] == first[0]
    assert before[1] == after[1]  # the two that waited beside the refusal: one unit, and answered


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_reads_of_another_key_do_not_wait(runtime: Runtime) -> None:
    async def main(db: Any) -> list[str]:
        order: list[str] = []

        async def read(key: str, slow: float) -> None:
            await db.read_shared(key, _count, slow)
            order.append(key)

        await _all(lambda: read("slow", SLOW * 2), lambda: read("other", 0.0))
        return order

    assert on_loop(runtime, main) == ["other", "slow"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_elsewhere_a_shared_read_is_a_read_of_its_own(runtime: Runtime) -> None:
    """On SQLite (its reads run at once) and from a loop without loop units (here: a thread's)."""

    async def main() -> list[Any]:
        return await _all(*[lambda: runtime.db.read_shared("k", _count)] * 3)

    results = anyio.run(main)
    assert [memo for _, memo, _ in results] == [None] * 3
    assert [sent for _, _, sent in results] == [1] * 3
