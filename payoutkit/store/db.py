"""The database: engines, and running one unit of work in one transaction.

`Database.run(fn, *args)` runs `fn(conn, *args)` on a worker thread inside one transaction: it commits
when `fn` returns and rolls back when it raises. Nothing below it commits. On SQLite every unit of work
is serialized through one thread and begins with `BEGIN IMMEDIATE`, so a read-then-write never races and
never meets SQLITE_BUSY inside a process (other processes wait on `busy_timeout`). On PostgreSQL units
run concurrently on a pool; money-moving units lock the balance rows they touch, in a fixed order.

In the server, SQLite units run on the event loop's own connection (`Database._inline_conn`) and commit in
groups (`Database._grouped`): the units that run before the event loop gets back to the commit share one
transaction, each in a savepoint, and none returns before that COMMIT has succeeded. One request at a
time, a group is one unit; under load one COMMIT serves many.

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
import random
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from payoutkit.store import checkpoint
from payoutkit.store.engines import DRIVER_UNITS, READ_UNIT, make_engine, make_read_engine, normalize_url
from payoutkit.store.fast import driver_sql

T = TypeVar("T")
P = ParamSpec("P")

# Connection.info key: callables to run once the unit of work has committed (store.ledger.after_commit).
AFTER_COMMIT = "payoutkit_after_commit"
# Connection.info key: callables to run as the last statements of the unit, just before it commits.
BEFORE_COMMIT = "payoutkit_before_commit"
# Connection.info key: bucket moves the unit has deferred to its end (store.ledger).
DEFERRED_MOVES = "payoutkit_deferred_moves"
# Connection.info key (PostgreSQL): the row ids of the buckets the unit has locked (store/balances.py).
LOCKED_SEQS = "payoutkit_locked_seqs"
# Connection.info key: webhook endpoints a statement of the unit read along with something else
# (store/events.py `prime_endpoints`), for its events.
ENDPOINTS_READ = "payoutkit_endpoints_read"
# Connection.info key: the simulated clock's time, read by a statement of the unit along with something
# else (store/clock.py `prime`).
CLOCK_READ = "payoutkit_clock_read"
# Connection.info key: an account's instant-capable destinations, read by a statement of the unit along
# with something else (store/external_accounts.py `prime_instant_capable`).
INSTANT_READ = "payoutkit_instant_read"
# Connection.info key: a platform's instant payout pricing, read by a statement of the unit along with
# something else (store/payouts.py `prime_pricing`).
PRICING_READ = "payoutkit_pricing_read"
# Everything a unit of work keeps on its connection. A pooled connection outlives the unit, so all of
# it is dropped when a unit starts and when it fails: a rolled-back unit must leave nothing behind.
UNIT_STATE = (
    AFTER_COMMIT,
    BEFORE_COMMIT,
    DEFERRED_MOVES,
    LOCKED_SEQS,
    ENDPOINTS_READ,
    CLOCK_READ,
    INSTANT_READ,
    PRICING_READ,
)


def forget_unit(conn: Connection) -> None:
    info = conn.info  # a property (through the pool's connection record): asked once
    for key in UNIT_STATE:
        info.pop(key, None)


# SQLite's own `wal_autocheckpoint` (pages), which every process but a server keeps (store/checkpoint.py).
AUTOCHECKPOINT = 1000

# SQLSTATEs after which PostgreSQL asks for the whole transaction to be run again.
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
RETRIES = 8


def run_before_commit(conn: Connection) -> None:
    """Run (once) what the unit deferred to its end, e.g. moving buckets (store.ledger)."""
    for hook in conn.info.pop(BEFORE_COMMIT, []):
        hook()


class Database:
    # PostgreSQL units run on this many threads (and pooled connections) per process. Measured on the
    # 2-core machine: 4-8 beat 16, where threads mostly contend for the GIL (docs/benchmarks.md).
    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = normalize_url(url)
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
        """Every engine the units run on (one on SQLite; PostgreSQL's reads have their own)."""
        return (self.engine,) if self.read_engine is self.engine else (self.engine, self.read_engine)

    def _transaction(self, read_only: bool, fn: Callable[[Connection], T]) -> T:
        if read_only and not self.is_sqlite:
            return self._autocommit_read(fn)
        for attempt in range(RETRIES):
            with self.engine.connect() as conn:
                forget_unit(conn)
                _read_only(conn, read_only)
                try:
                    with conn.begin():
                        result = fn(conn)
                        run_before_commit(conn)
                except BaseException as exc:
                    forget_unit(conn)
                    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
                    if (
                        not isinstance(exc, DBAPIError)
                        or sqlstate not in RETRY_SQLSTATES
                        or attempt == RETRIES - 1
                    ):
                        raise
                    time.sleep(random.uniform(0, 0.002 * 2**attempt))
                    continue
                for hook in conn.info.pop(AFTER_COMMIT, []):
                    hook()
                return result
        raise AssertionError("unreachable")

    def _autocommit_read(self, fn: Callable[[Connection], T]) -> T:
        """A PostgreSQL read unit on the read engine: no BEGIN, no COMMIT (the module's docstring). It
        is not run again on failure: only a writing unit meets a deadlock or a serialization failure."""
        with self.read_engine.connect() as conn:
            forget_unit(conn)
            try:
                result = fn(conn)
                run_before_commit(conn)
            except BaseException:
                forget_unit(conn)
                raise
            for hook in conn.info.pop(AFTER_COMMIT, []):
                hook()
            return result

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
        return await anyio.to_thread.run_sync(self.transaction, fn, *args, limiter=self._limiter)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)`, a unit of work that only reads, without the write lock."""
        if self.inline:
            if self._committing is not None:
                await self._idle()
            if self._group is None:
                return self._inline_read(fn, *args)
            return await self._grouped(True, fn, *args)
        return await anyio.to_thread.run_sync(self.read_transaction, fn, *args, limiter=self._limiter)

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


def _read_only(conn: Connection, read_only: bool) -> None:
    """Mark the SQLite unit about to begin on `conn` as a read (or not): its BEGIN is then deferred (the
    flag is spent by that BEGIN). PostgreSQL's reads run on the read engine (`make_read_engine`)."""
    if conn.dialect.name == "sqlite":
        conn.info[READ_UNIT] = read_only


def after_commit(conn: Connection, hook: Callable[[], None]) -> None:
    """Run `hook` once the unit of work on `conn` has committed (see `Database.transaction`)."""
    conn.info.setdefault(AFTER_COMMIT, []).append(hook)
