"""The database: engines, and running one unit of work in one transaction.

`Database.run(fn, *args)` runs `fn(conn, *args)` inside one transaction (on a worker thread, or in the
server on the event loop: below): it commits when `fn` returns and rolls back when it raises. Nothing
below it commits. On SQLite every unit of work
is serialized through one thread and begins with `BEGIN IMMEDIATE`, so a read-then-write never races and
never meets SQLITE_BUSY inside a process (other processes wait on `busy_timeout`). On PostgreSQL units
run concurrently on a pool; money-moving units lock the balance rows they touch, in a fixed order.

In the server, SQLite units run on the event loop's own connection (`Database._inline_conn`) and commit in
groups (`Database._grouped`): the units that run before the event loop gets back to the commit share one
transaction, each in a savepoint, and none returns before that COMMIT has succeeded. One request at a
time, a group is one unit; under load one COMMIT serves many. In the server, PostgreSQL units run on
the event loop too (`start_loop_units`, store/aio.py): in a greenlet each, their statements awaited
through psycopg's async connection, so they still run concurrently, without threads.

`Database.read(fn, *args)` runs a unit that only reads (`GET /v1/balance`): on SQLite it begins with a
deferred `BEGIN`, which takes no write lock (a WAL reader sees the last commit and never waits for a
writer). On PostgreSQL it runs on a connection of the read engine (`make_read_engine`): no transaction
is begun, each statement is its own, read only by the session's default, so a read that tried to write
fails. Under READ COMMITTED, the isolation every unit runs at, each statement of a transaction takes
its own snapshot anyway: a read unit sees what it saw in a `READ ONLY` transaction, and a one-statement
read (the balance, a retrieve) is one round trip instead of three (BEGIN, the statement, COMMIT).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Hashable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, event

from payoutkit.store import checkpoint
from payoutkit.store.aio import First, LoopUnits
from payoutkit.store.engines import (
    DRIVER_UNITS,
    make_async_engines,
    make_engine,
    make_read_engine,
    normalize_url,
)
from payoutkit.store.fast import driver_sql
from payoutkit.store.units import (
    AFTER_COMMIT,
    RETRIES,
    autocommitted,
    backoff,
    forget_unit,
    in_transaction,
    retryable,
    run_before_commit,
)

T = TypeVar("T")
P = ParamSpec("P")

# SQLite's own `wal_autocheckpoint` (pages), which every process but a server keeps (store/checkpoint.py).
AUTOCHECKPOINT = 1000


class Database:
    # At most this many PostgreSQL units run at once per process, one pooled connection each (on threads,
    # or on the server's event loop: store/aio.py). Measured on the 2-core machine with threads: 4-8 beat
    # 16, where threads mostly contended for the GIL (docs/benchmarks.md).
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = normalize_url(url)
        self.pool_size = pool_size
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # PostgreSQL's read units run on an engine of their own; SQLite's on this one
        reads = self.engine if self.is_sqlite else make_read_engine(self.url, pool_size, self.engine)
        self.read_engine = reads
        self._limiter = anyio.CapacityLimiter(1 if self.is_sqlite else pool_size)
        # SQLite units are serialized anyway, and each takes well under a millisecond: running them on
        # the event loop saves two thread hand-offs per request. PostgreSQL units wait on the network
        # and run on a pool of threads.
        self.inline = self.is_sqlite
        self._conn: Connection | None = None
        self._group: _Group | None = None  # the open group of inline units (`_grouped`)
        # a group's COMMIT running on `_committer`'s thread: units wait it out (`_idle`)
        self._committing: asyncio.Future[None] | None = None
        self._committer: concurrent.futures.ThreadPoolExecutor | None = None
        self._checkpointer: checkpoint.Checkpointer | None = None
        self._loop_units: LoopUnits | None = None  # PostgreSQL, in a server: `start_loop_units`
        self._autocheckpoint = AUTOCHECKPOINT
        if self.is_sqlite:
            event.listen(self.engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={self._autocheckpoint:d}")

    def start_checkpointer(
        self, *, interval: float = checkpoint.INTERVAL, pages: int = checkpoint.PAGES,
        fallback_pages: int = checkpoint.FALLBACK_PAGES,
    ) -> None:  # fmt: skip
        """SQLite, the server: WAL checkpoints on a thread of their own instead of inside a commit, with
        SQLite's automatic checkpoint kept at `fallback_pages` as the safety net (store/checkpoint.py).
        Called before the first request; stopped by `dispose`. Nothing to do on PostgreSQL."""
        if not self.is_sqlite or self._checkpointer is not None:
            return
        self._autocheckpoint = fallback_pages
        self._close_connections()  # reopened with the new setting
        shm = f"{self.engine.url.database}-shm"
        self._checkpointer = checkpoint.Checkpointer(self.engine.raw_connection, shm, interval=interval,
                                                     pages=pages)  # fmt: skip
        self._checkpointer.start()

    async def start_loop_units(self) -> None:
        """PostgreSQL, the server: from now on the units that the running event loop awaits (`run`,
        `read`) run on it, through async engines of their own (store/aio.py), instead of on threads.
        Called in the server's lifespan; `stop_loop_units` ends it. Nothing to do on SQLite, whose
        units already run on the event loop."""
        if self.is_sqlite or self._loop_units is not None:
            return
        write, read = make_async_engines(self.url, self.pool_size, self.engine)
        self._loop_units = LoopUnits(write, read, self.pool_size)

    async def stop_loop_units(self) -> None:
        units, self._loop_units = self._loop_units, None
        if units is not None:
            await units.close()

    def transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn` in one transaction on the calling thread; run it again on a deadlock.

        `fn` must be re-runnable: everything it does is in the transaction, which rolled back.
        """
        return self._transaction(False, lambda conn: fn(conn, *args, **kwargs))

    def read_transaction(
        self, fn: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn`, which only reads, in one read transaction on the calling thread (see `read`)."""
        return self._transaction(True, lambda conn: fn(conn, *args, **kwargs))

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine the units run on (one on SQLite; PostgreSQL's reads have their own, and a server's
        event loop two more: `start_loop_units`)."""
        if self.read_engine is self.engine:
            return (self.engine,)
        loop = self._loop_units.engines if self._loop_units is not None else ()
        return (self.engine, self.read_engine, *loop)

    def _transaction(self, read_only: bool, fn: Callable[[Connection], T]) -> T:
        if read_only and not self.is_sqlite:
            with self.read_engine.connect() as conn:
                return autocommitted(conn, fn)
        for attempt in range(RETRIES):
            with self.engine.connect() as conn:
                try:
                    return in_transaction(conn, fn, read_only=read_only)
                except BaseException as exc:
                    if not retryable(exc, attempt):
                        raise
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable: the last attempt's failure is raised")

    def _inline_conn(self) -> Connection:
        """The event loop's long-lived connection. SQLAlchemy's transaction on it is begun once and held
        open, sending nothing: each unit sends its own BEGIN and COMMIT on the driver (`_grouped`), which
        saves SQLAlchemy's transaction machinery, about 60 µs a unit, on every request."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn
        if conn is not None:
            conn.close()
        conn = self._conn = self.engine.connect()
        conn.info[DRIVER_UNITS] = True
        conn.begin()  # no BEGIN sent (`_on_begin`): Core and store/fast.py see a transaction, as in a unit
        return conn

    def _inline_read(self, fn: Callable[..., T], *args: Any) -> T:
        """A read on the event loop's own long-lived connection, when no group is open (`_grouped`).

        It begins as any SQLite read does (a deferred `BEGIN`: no write lock) and ends on the driver;
        the engine's begin, commit and rollback events are still fired (statement counts stay honest)
        and a driver error is handled by Core's handler."""
        conn = self._inline_conn()
        info = conn.info
        forget_unit(conn)
        driver = conn.connection.driver_connection
        try:
            _begin(conn, "BEGIN")
            result = fn(conn, *args)
            run_before_commit(conn)
            _driver_end(conn, driver, "COMMIT")
        except BaseException:
            forget_unit(conn)
            if not conn.invalidated and driver.in_transaction:  # type: ignore[union-attr]
                _driver_end(conn, driver, "ROLLBACK")
            raise
        for hook in info.pop(AFTER_COMMIT, []):
            hook()
        return result

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.inline:
            if self._committing is not None:
                await self._idle()
            return await self._grouped(False, fn, *args)
        if self._loop_units is not None and self._loop_units.here():
            return await self._loop_units.run(False, fn, args)
        return await anyio.to_thread.run_sync(self.transaction, fn, *args, limiter=self._limiter)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)`, a unit of work that only reads, without the write lock."""
        if self.inline:
            if self._committing is not None:
                await self._idle()
            if self._group is None:
                return self._inline_read(fn, *args)
            return await self._grouped(True, fn, *args)
        if self._loop_units is not None and self._loop_units.here():
            return await self._loop_units.run(True, fn, args)
        return await anyio.to_thread.run_sync(self.read_transaction, fn, *args, limiter=self._limiter)

    async def read_shared(
        self, key: Hashable, fn: Callable[..., T], *args: Any, first: First | None = None
    ) -> T:
        """`read`, in one unit with the reads of the same `key` waiting beside it on PostgreSQL's loop
        units, that unit beginning with `first` (store/aio.py `read_shared`). Elsewhere `read` itself,
        without `first`: SQLite's reads on the loop run at once, none waiting beside another."""
        if not self.inline and self._loop_units is not None and self._loop_units.here():
            return await self._loop_units.read_shared(key, fn, args, first)
        return await self.read(fn, *args)

    async def _idle(self) -> None:
        """Wait out a group's COMMIT running on its thread (`_flush`): the connection is its until then."""
        while self._committing is not None:
            await asyncio.shield(self._committing)

    async def _grouped(self, read_only: bool, fn: Callable[..., T], *args: Any) -> T:
        """A unit on the event loop's connection, committed with the others of its group (group commit).

        The first unit of a group begins the transaction (`BEGIN IMMEDIATE`) and asks the event loop to
        commit once the callbacks already due have run (`_flush`); every unit that runs before then joins
        the same transaction, each in a savepoint of its own, so a unit that fails rolls back alone. No
        unit returns, and so no answer is sent, before the group's COMMIT has succeeded: an answer never
        shows what is not durable, and a commit that fails fails every unit of the group. At one
        request at a time a group is one unit, with the statements of a unit on its own; under load,
        one COMMIT (and one write of each page the units share, in the WAL) serves the whole group."""
        group = self._group
        if group is None:
            return await self._first(fn, *args)
        conn = self._inline_conn()
        driver = conn.connection.driver_connection
        forget_unit(conn)
        group.check_open(conn, driver)
        if group.lost is not None:  # nothing may run outside the transaction (it would autocommit)
            await group.committed()  # raises: the group fails
        failure: BaseException | None = None
        result: Any = None
        group.units += 1
        if not read_only:
            driver_sql(conn, "SAVEPOINT unit")
        try:
            result = fn(conn, *args)
            run_before_commit(conn)
            if not read_only:
                driver_sql(conn, "RELEASE unit")
        except BaseException as exc:
            forget_unit(conn)
            failure = exc
            if conn.invalidated or not driver.in_transaction:  # type: ignore[union-attr]
                # SQLite rolled the whole transaction back (an I/O error, a full disk): the group is lost
                group.lost = exc
            elif not read_only:
                try:
                    driver_sql(conn, "ROLLBACK TO unit")
                    driver_sql(conn, "RELEASE unit")
                except BaseException as undo:  # its writes cannot be taken back alone: the group fails
                    group.lost = undo
        group.hooks.extend(conn.info.pop(AFTER_COMMIT, []))
        await group.committed()  # it may have read what the others wrote: answered once that is durable
        if failure is not None:
            raise failure
        return cast(T, result)

    async def _first(self, fn: Callable[..., T], *args: Any) -> T:
        """The first unit of a group: begins it, runs as a unit on its own does, and leaves the COMMIT to
        `_flush`; if it fails, it rolls back alone (nothing else has joined) and the group is over."""
        conn = self._inline_conn()
        forget_unit(conn)
        driver = conn.connection.driver_connection
        group = self._group = _Group()
        try:
            _begin(conn, "BEGIN IMMEDIATE")
            result = fn(conn, *args)
            run_before_commit(conn)
        except BaseException:
            self._group = None
            forget_unit(conn)
            if not conn.invalidated and driver.in_transaction:  # type: ignore[union-attr]
                _driver_end(conn, driver, "ROLLBACK")
            raise
        group.hooks.extend(conn.info.pop(AFTER_COMMIT, []))
        asyncio.get_running_loop().call_soon(self._flush, group)
        await group.committed()
        return result

    def _flush(self, group: _Group) -> None:
        """Commit a group (see `_grouped`), run its units' after-commit hooks, and let them answer.

        A group of several units (the server under load) commits on a thread of its own: SQLite writes
        the WAL without the interpreter lock, so the event loop reads and parses the next requests
        meanwhile, and every unit that arrives waits for that COMMIT (`_idle`), then forms the next
        group. One unit alone (one request at a time) commits here, sparing the hand-off."""
        if self._group is not group:
            return
        self._group = None
        conn = self._inline_conn()
        driver = conn.connection.driver_connection
        group.check_open(conn, driver)
        if group.lost is None and group.units > 1:
            loop = asyncio.get_running_loop()
            if self._committer is None:
                self._committer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="commit")
            self._committing = loop.create_future()
            commit = loop.run_in_executor(self._committer, _driver_end, conn, driver, "COMMIT")
            commit.add_done_callback(lambda done: self._committed(group, conn, done.exception()))
            return
        failure: BaseException | None = group.lost
        if failure is None:
            try:
                _driver_end(conn, driver, "COMMIT")
            except BaseException as exc:
                failure = exc
        _end(group, conn, failure)

    def _committed(self, group: _Group, conn: Connection, failure: BaseException | None) -> None:
        waiting, self._committing = self._committing, None
        _end(group, conn, failure)
        if waiting is not None:
            waiting.set_result(None)

    def _close_connections(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
            self._autocheckpoint = AUTOCHECKPOINT
        if self._committer is not None:
            self._committer.shutdown()
            self._committer = None
        self._close_connections()


def _end(group: _Group, conn: Connection, failure: BaseException | None) -> None:
    """After a group's COMMIT: its hooks and answers; or, the COMMIT failed, its ROLLBACK and every
    unit's failure."""
    if failure is not None:
        driver = conn.connection.driver_connection
        forget_unit(conn)
        if not conn.invalidated and driver.in_transaction:  # type: ignore[union-attr]
            _driver_end(conn, driver, "ROLLBACK")
        group.fail(failure)
        return
    for hook in group.hooks:
        hook()
    group.succeed()


class _Group:
    """Inline units sharing one transaction (`Database._grouped`): their after-commit hooks, and the
    commit they wait for."""

    __slots__ = ("_done", "hooks", "lost", "units")

    def __init__(self) -> None:
        self.units = 1  # the first; `_grouped` counts the others
        self.hooks: list[Callable[[], None]] = []
        self.lost: BaseException | None = None  # what rolled the whole transaction back, if anything
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def check_open(self, conn: Connection, driver: Any) -> None:
        """Mark the group lost if its transaction is gone (SQLite rolled it back, or the connection
        went away): nothing more may run in it, and it cannot commit."""
        if self.lost is None and (conn.invalidated or not driver.in_transaction):
            self.lost = RuntimeError("the group's transaction was rolled back before its commit")

    async def committed(self) -> None:
        # shielded: a unit whose request is cancelled still leaves the group to commit as one
        await asyncio.shield(self._done)

    def succeed(self) -> None:
        self._done.set_result(None)

    def fail(self, exc: BaseException) -> None:
        self._done.set_exception(exc)


def _begin(conn: Connection, how: str) -> None:
    """BEGIN a unit on the driver (`BEGIN` or `BEGIN IMMEDIATE`), then the engine's begin event."""
    driver_sql(conn, how)
    if conn.dispatch.begin:
        conn.dispatch.begin(conn)


def _driver_end(conn: Connection, driver: Any, how: str) -> None:
    """COMMIT or ROLLBACK the unit on the driver, as Core would: an error handled by Core's handler
    (wrapped as DBAPIError; the connection invalidated if the database went away), then the event."""
    try:
        if how == "COMMIT":
            driver.commit()
        else:
            driver.rollback()
    except BaseException as exc:
        conn._handle_dbapi_exception(exc, how, (), None, None)
    listeners = conn.dispatch.commit if how == "COMMIT" else conn.dispatch.rollback
    if listeners:
        listeners(conn)
