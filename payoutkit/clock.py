"""Clocks. Time is injected: the real clock, or test mode's simulated clock.

The simulated clock is stored in the database (table `clock`) so it survives restarts, is shared by
every process on the database, and never runs backwards. Live mode always uses the real clock, and live
data never moves by the simulated one (`mode_time`).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from sqlalchemy import Connection, insert, select, update

from payoutkit.store.db import after_commit
from payoutkit.store.schema import clock as clock_table


class Clock(Protocol):
    def now(self) -> int: ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


def mode_time(now: int, livemode: bool) -> int:
    """The time up to which a unit of work may move a mode's data: live data follows the real clock
    only. A time ahead of it (the simulated clock's, reaching live data through a bug) is cut back to
    real time, so the simulated clock can never settle, pay out or otherwise move live data."""
    return min(now, int(time.time())) if livemode else now


def wall_ms() -> int:
    """Real time in milliseconds, whatever clock the mode runs on: webhook deliveries are scheduled and
    signed by it, since a receiver checks a signature's timestamp against its own real clock."""
    return time.time_ns() // 1_000_000


class SimulatedClock:
    """Test mode's clock. The one clock is the row in the database (table `clock`): every process
    reads it there in each unit of work that needs the time (`read`), so all processes of a deployment
    follow one clock, and it only moves forward (`advance_to`, `claim`). This object keeps the last
    time this process read, for code that has no connection at hand."""

    def __init__(self, start: int) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._now

    def load(self, conn: Connection) -> None:
        stored = conn.execute(select(clock_table.c.now).where(clock_table.c.id == 1)).scalar()
        if stored is None:
            conn.execute(insert(clock_table).values(id=1, now=self._now))
        else:
            self._now = int(stored)

    def read(self, conn: Connection) -> int:
        """The stored time (one primary-key read)."""
        stored = int(conn.execute(_READ).scalar_one())
        self._follow(stored)
        return stored

    def lock(self, conn: Connection) -> tuple[int, int | None]:
        """Lock the clock row for this unit (advances are serialized on it); (now, target)."""
        stmt = _LOCK.with_for_update() if conn.dialect.name == "postgresql" else _LOCK
        row = conn.execute(stmt).one()
        return int(row.now), (None if row.target is None else int(row.target))

    def set_target(self, conn: Connection, target: int) -> None:
        """Record an accepted advance (with the row locked by `lock`): the clock is bound for `target`."""
        conn.execute(update(clock_table).where(clock_table.c.id == 1).values(target=target))

    def advance_to(self, conn: Connection, to: int) -> int:
        """Move the stored clock forward to `to` (never back); this process's copy follows on commit."""
        conn.execute(update(clock_table).where(clock_table.c.id == 1, clock_table.c.now < to).values(now=to))
        after_commit(conn, lambda: self._follow(to))
        return to

    def _follow(self, to: int) -> None:
        with self._lock:
            self._now = max(self._now, to)


_READ = select(clock_table.c.now).where(clock_table.c.id == 1)
_LOCK = select(clock_table.c.now, clock_table.c.target).where(clock_table.c.id == 1)
