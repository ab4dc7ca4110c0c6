"""The worker's leader: one process of a deployment on PostgreSQL runs the worker.

Every process of `payoutkit serve` (one, or `--workers N` of them, or several servers on one database)
tries to take a session-level advisory lock, `pg_try_advisory_lock(WORKER_LOCK)`, on a connection of
its own (outside the pool, in autocommit, named `payoutkit worker <pid>` in `pg_stat_activity`). The
one that gets it leads, and keeps the lock for as long as that session lives: PostgreSQL releases a
session-level lock only when asked to or when the session ends, and nothing here asks. If the leader
process dies (killed, crashed) its socket closes, the server ends its session at once, the lock is
released, and the next process to try takes it. A leader whose machine or network is gone leaves no
closed socket behind: the server ends that session when its TCP keepalives give up (PostgreSQL's
`tcp_keepalives_*` settings; the OS defaults are hours, so set them on a multi-machine deployment).

A leader checks its session every interval (`still_held`); a session that has gone (the server
restarted, an administrator's `pg_terminate_backend`, a dead link its keepalives found) means the lock
went with it, and the process stops working and tries again like the others.

Advisory locks are per database, so deployments on other databases of one cluster do not meet.

Leadership is about doing the work once, not about correctness: every job of the worker is safe to
run twice at once (units lock the rows they move, webhook deliveries are claimed with `SKIP LOCKED`
and a lease), so the moment between an old leader losing its session and noticing does no harm.
"""

from __future__ import annotations

import os

from sqlalchemy import Connection, Engine, bindparam, create_engine, func, literal, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from payoutkit.store.engines import normalize_url

# The advisory lock's key (a bigint; the bytes of "payoutkt"): one lock per database.
WORKER_LOCK = int.from_bytes(b"payoutkt", "big") & 0x7FFF_FFFF_FFFF_FFFF

# libpq keepalives on the leadership connection: a leader cut off from the database notices within
# about 20 s (its `still_held` check fails) instead of waiting on a dead connection.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}

_TRY_LOCK = select(func.pg_try_advisory_lock(bindparam("key")))
_ALIVE = select(literal(1))


def application_name(pid: int) -> str:
    """How a process's leadership connection shows in `pg_stat_activity.application_name`."""
    return f"payoutkit worker {pid}"


class WorkerLock:
    """This process's claim on the worker: `try_acquire()` each interval until it leads, then
    `still_held()` each interval while it leads; `release()` ends the session (and the lock)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self.held = False

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            if self._engine is None:
                self._engine = create_engine(
                    self.url,
                    poolclass=NullPool,
                    isolation_level="AUTOCOMMIT",
                    connect_args={"application_name": application_name(os.getpid()), **_KEEPALIVES},
                )
            self._conn = self._engine.connect()
        return self._conn

    def try_acquire(self) -> bool:
        """Try once to lead; True when this process now holds the lock."""
        try:
            self.held = bool(self._connection().execute(_TRY_LOCK, {"key": WORKER_LOCK}).scalar_one())
        except SQLAlchemyError:
            self._drop()
            raise
        return self.held

    def still_held(self) -> bool:
        """Whether this process still leads: its session is alive, so it still holds its lock."""
        if not self.held or self._conn is None or self._conn.closed:
            return False
        try:
            self._conn.execute(_ALIVE).scalar_one()
        except SQLAlchemyError:  # the session is gone (or the connection unusable): so is the lock
            self._drop()
            return False
        return True

    def release(self) -> None:
        """End the session: the lock (if held) is released with it."""
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _drop(self) -> None:
        self.held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except SQLAlchemyError:
                conn.invalidate()
