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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from payoutkit.store.units import RETRIES, autocommitted, backoff, in_transaction, retryable

T = TypeVar("T")


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

    async def close(self) -> None:
        await self.write.dispose()
        await self.read.dispose()


def _write(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return in_transaction(conn, lambda c: fn(c, *args))


def _read(conn: Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return autocommitted(conn, lambda c: fn(c, *args))
