"""One unit of work on one connection: what it keeps on the connection, and one attempt at running it.

`store/db.py` runs units on threads (`Database.transaction`) and on the event loop (SQLite's inline
groups); `store/aio.py` runs PostgreSQL's on the server's event loop. Each of them runs an attempt with
the functions here, so a unit commits, fails and leaves its connection the same way on every path.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from payoutkit.store.engines import READ_UNIT
from payoutkit.store.fast import DEFERRED_WRITES
from payoutkit.store.pipeline import send_deferred

T = TypeVar("T")

# Connection.info key: callables to run once the unit of work has committed (`after_commit`).
AFTER_COMMIT = "payoutkit_after_commit"
# Connection.info key: callables to run as the last statements of the unit, just before it commits.
BEFORE_COMMIT = "payoutkit_before_commit"
# Connection.info key: bucket moves the unit has deferred to its end (store.ledger).
DEFERRED_MOVES = "payoutkit_deferred_moves"
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
# Connection.info key: what the reads of one shared read unit (store/aio.py `read_shared`) keep for
# each other (`shared`).
SHARED_READS = "payoutkit_shared_reads"
# Everything a unit of work keeps on its connection. A pooled connection outlives the unit, so all of
# it is dropped when a unit starts and when it fails: a rolled-back unit must leave nothing behind.
UNIT_STATE = (
    AFTER_COMMIT,
    BEFORE_COMMIT,
    DEFERRED_MOVES,
    ENDPOINTS_READ,
    CLOCK_READ,
    INSTANT_READ,
    PRICING_READ,
    DEFERRED_WRITES,
    SHARED_READS,
)

# SQLSTATEs after which PostgreSQL asks for the whole transaction to be run again.
RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
RETRIES = 8


def forget_unit(conn: Connection) -> None:
    info = conn.info  # a property (through the pool's connection record): asked once
    for key in UNIT_STATE:
        info.pop(key, None)


def shared(conn: Connection) -> dict[Hashable, Any] | None:
    """In a unit that runs several requests' reads together (store/aio.py `read_shared`), where each
    may keep what it read for the others: every one of those requests came before the unit began, so
    any of them may answer with what another read in it. None in every other unit."""
    found: dict[Hashable, Any] | None = conn.info.get(SHARED_READS)
    return found


def run_before_commit(conn: Connection, *, commit: bool = False) -> None:
    """Run (once) what the unit deferred to its end, e.g. moving buckets (store.ledger), then send the
    writes it has kept (store/pipeline.py); `commit`: with its COMMIT (PostgreSQL)."""
    for hook in conn.info.pop(BEFORE_COMMIT, []):
        hook()
    send_deferred(conn, commit=commit)


def after_commit(conn: Connection, hook: Callable[[], None]) -> None:
    """Run `hook` once the unit of work on `conn` has committed (see `Database.transaction`)."""
    conn.info.setdefault(AFTER_COMMIT, []).append(hook)


def in_transaction(conn: Connection, fn: Callable[[Connection], T], *, read_only: bool = False) -> T:
    """One attempt at a unit: `fn` in a transaction begun on `conn`, committed when it returns, rolled
    back when it raises; the unit's after-commit hooks run once it has committed."""
    if conn.dialect.name == "sqlite":  # its BEGIN (engines.py) is deferred for a read, the flag spent
        conn.info[READ_UNIT] = read_only

    def begun(conn: Connection) -> T:
        with conn.begin():
            result = fn(conn)
            run_before_commit(conn, commit=True)
            return result

    return _attempt(conn, begun)


def autocommitted(conn: Connection, fn: Callable[[Connection], T]) -> T:
    """A read unit on a connection of PostgreSQL's read engine (`engines.make_read_engine`): no BEGIN, no
    COMMIT, each statement its own read-only transaction. Never run again: only a writing unit meets a
    deadlock or a serialization failure."""
    return _attempt(conn, lambda conn: _to_its_end(conn, fn))


def _to_its_end(conn: Connection, fn: Callable[[Connection], T]) -> T:
    result = fn(conn)
    run_before_commit(conn)
    return result


def _attempt(conn: Connection, unit: Callable[[Connection], T]) -> T:
    """`unit` on `conn` with nothing of an earlier unit's kept on it, nothing of its own kept if it
    fails, and its after-commit hooks run if it succeeds."""
    forget_unit(conn)
    try:
        result = unit(conn)
    except BaseException:
        forget_unit(conn)
        raise
    for hook in conn.info.pop(AFTER_COMMIT, []):
        hook()
    return result


def retryable(exc: BaseException, attempt: int) -> bool:
    """Whether a unit that raised `exc` on its `attempt`-th try (from 0) is run again: PostgreSQL asked
    for it (a deadlock, a serialization failure) and attempts are left."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and sqlstate in RETRY_SQLSTATES and attempt < RETRIES - 1


def backoff(attempt: int) -> float:
    """Seconds to wait before running a unit again after its `attempt`-th try: random, doubling."""
    return random.uniform(0, 0.002 * 2**attempt)
