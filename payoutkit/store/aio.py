"""PostgreSQL units on the server's event loop (`LoopUnits`), instead of on a pool of threads.

A unit is still plain synchronous code over a SQLAlchemy `Connection`: it runs in a greenlet
(`AsyncConnection.run_sync`) on the event loop, and each statement it sends waits for PostgreSQL's
answer as the loop's other tasks do, through psycopg's async connection. Against a unit on a worker
thread, that saves the two hand-offs between threads and the interpreter lock's contention among the
pool's threads (docs/benchmarks.md, the eleventh session).

The async engines belong to one event loop: `Database.start_loop_units` makes them in the server's
lifespan and `stop_loop_units` closes them at its end. A unit run from any other loop (a test's
`anyio.run`, a command) runs on a thread, as before. Units are shielded from cancellation: once begun,
a unit runs to its commit or its failure, as it does on a thread.

Reads of one kind may be shared (`read_shared`): a read that comes while a unit of the same key runs
waits for that unit's end, and every read that waited then runs in ONE unit, one after the other on its
connection, where they may answer with what another of them read (`store/units.shared`). Each of them
came before that unit began, so an answer shows everything committed before its request came, as a
unit of its own would: what it saves is a unit, a statement and a round trip per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from payoutkit.store.units import RETRIES, SHARED_READS, autocommitted, backoff, in_transaction, retryable

T = TypeVar("T")
# What a shared unit runs first, given every read's arguments (`read_shared`'s `first`).
First = Callable[[Connection, list[tuple[Any, ...]]], None]
# A read waiting for its shared unit: the function, its arguments and where its outcome goes.
_Waiting = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[tuple[bool, Any]]"]


class LoopUnits:
    """The units of one event loop, on its two async engines (writes; reads in autocommit), at most
    `limit` at once (one connection each). The loop's own semaphore, not the thread units' anyio
    limiter: these engines' pools are their own, and anyio's limiter, which tracks its borrowers by
    task, was ~5% of the server's samples under PostgreSQL balance reads."""

    def __init__(self, write: AsyncEngine, read: AsyncEngine, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.write = write
        self.read = read
        self._limiter = asyncio.Semaphore(limit)
        # Per key of `read_shared`: the reads waiting for the next unit of the key, while one runs.
        self._shared: dict[Hashable, list[_Waiting]] = {}
        self._first: dict[Hashable, First | None] = {}  # per key that has reads: its `first`
        self._serving: set[asyncio.Task[None]] = set()  # the keys' `_serve` tasks (the loop's refs are weak)

    @property
    def engines(self) -> tuple[Engine, Engine]:
        """The synchronous faces of the two engines: where their units' statements and events are seen."""
        return (self.write.sync_engine, self.read.sync_engine)

    def here(self) -> bool:
        """Whether the caller runs on this object's loop."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def run(self, read_only: bool, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """`fn(conn, *args)` in one transaction (a read: on the read engine, in none), run again on a
        deadlock or a serialization failure as `Database.transaction` does."""
        for attempt in range(RETRIES):
            with anyio.CancelScope(shield=True):
                try:
                    async with self._limiter:
                        if read_only:
                            async with self.read.connect() as conn:
                                return await conn.run_sync(_read, fn, args)
                        async with self.write.connect() as conn:
                            return await conn.run_sync(_write, fn, args)
                except BaseException as exc:
                    if read_only or not retryable(exc, attempt):
                        raise
                await anyio.sleep(backoff(attempt))
        raise AssertionError("unreachable: the last attempt's failure is raised")

    async def read_shared(
        self, key: Hashable, fn: Callable[..., T], args: tuple[Any, ...], first: First | None = None
    ) -> T:
        """`run(True, fn, args)`, in one unit with the other reads of `key` that wait beside it (see the
        module). A read that comes while none of its key runs runs at once, alone (one request at a
        time, nothing changes); the reads that come while the key's unit runs go in the next one
        together. `first(conn, [args of each read])`, if given (the same for every read of a key), runs
        at the start of each such unit: what its reads may read for each other at once. A read that
        fails (a refusal) fails alone; a unit that fails (`first` too) fails all its reads."""
        waiting = self._shared.get(key)
        if waiting is not None:  # a unit of the key runs: this read waits for the next one
            found: asyncio.Future[tuple[bool, Any]] = self.loop.create_future()
            waiting.append((fn, args, found))
            ok, value = await found
            if not ok:
                raise value
            return value  # type: ignore[no-any-return]
        # None runs: this read runs at once, in a unit of its own as `run` runs it (one request at a
        # time, nothing else is done); the reads of the key that come meanwhile wait for its end.
        self._shared[key] = []
        self._first[key] = first
        try:
            return await self.run(True, fn, args)
        finally:
            if self._shared[key]:
                task = self.loop.create_task(self._serve(key))
                self._serving.add(task)
                task.add_done_callback(self._serving.discard)
            else:
                del self._shared[key], self._first[key]

    async def _serve(self, key: Hashable) -> None:
        """Run the waiting reads of `key`, all of them in one unit, until none waits (they came while a
        unit of the key ran, so none of them joins a unit that began before it came)."""
        while reads := self._shared[key]:
            self._shared[key] = []  # those that come from now on wait for the next unit
            try:
                runs = [(fn, args) for fn, args, _ in reads]
                outcomes = await self.run(True, _together, (runs, self._first[key]))
            except Exception as exc:  # the unit failed whole (a lost connection): so does each read
                outcomes = [(False, exc)] * len(reads)
            except BaseException as exc:  # this task is cancelled (the loop ends): every read fails
                failed = reads + self._shared.pop(key)
                del self._first[key]
                _settle(failed, [(False, exc)] * len(failed))
                raise
            _settle(reads, outcomes)
        del self._shared[key], self._first[key]

    async def close(self) -> None:
        await self.write.dispose()
        await self.read.dispose()


def _write(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return in_transaction(conn, lambda c: fn(c, *args))


def _read(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return autocommitted(conn, lambda c: fn(c, *args))


def _settle(reads: list[_Waiting], outcomes: list[tuple[bool, Any]]) -> None:
    for (_, _, found), outcome in zip(reads, outcomes, strict=True):
        if not found.done():  # its request may have been cancelled
            found.set_result(outcome)


def _together(
    conn: Connection, reads: list[tuple[Callable[..., Any], tuple[Any, ...]]], first: First | None
) -> list[tuple[bool, Any]]:
    """`first`, then each read on `conn`, in order, with the unit's memo of shared reads
    (`store/units.shared`); the outcome of each: (True, its result) or (False, what it raised)."""
    conn.info[SHARED_READS] = {}
    if first is not None:
        first(conn, [args for _, args in reads])
    outcomes: list[tuple[bool, Any]] = []
    for fn, args in reads:
        try:
            outcomes.append((True, fn(conn, *args)))
        except Exception as exc:  # a refusal is this read's answer, not the others'
            outcomes.append((False, exc))
    return outcomes
