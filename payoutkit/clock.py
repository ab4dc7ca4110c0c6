"""Clocks. Time is injected: the real clock, or test mode's simulated clock.

The simulated clock is stored in the database (table `clock`) so it survives restarts and never runs
backwards; this process keeps a copy and advances both together. Live mode always uses the real clock.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from sqlalchemy import Connection, insert, select, update

from payoutkit.store.ledger import after_commit
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
    """Starts at `start` (or the stored time) and moves only when advanced."""

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

    def advance_to(self, conn: Connection, to: int) -> int:
        """Move the stored clock to `to`; this process's copy follows once the transaction commits."""
        if to < self._now:
            raise ValueError("the simulated clock never moves backwards")
        conn.execute(update(clock_table).where(clock_table.c.id == 1).values(now=to))
        after_commit(conn, lambda: self._follow(to))
        return to

    def _follow(self, to: int) -> None:
        with self._lock:
            self._now = max(self._now, to)
