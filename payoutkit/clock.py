"""Clocks. Time is injected: the real clock, or test mode's simulated clock.

The simulated clock is stored in the database (table `clock`) so it survives restarts, is shared by
every process on the database, and never runs backwards. Live mode always uses the real clock, and live
data never moves by the simulated one (`mode_time`).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from payoutkit.store import Tx
from payoutkit.store import clock as clock_row
from payoutkit.store.units import after_commit


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

    def load(self, conn: Tx) -> None:
        self._now = clock_row.load(conn, self._now)

    def read(self, conn: Tx) -> int:
        """The stored time (one primary-key read)."""
        stored = clock_row.read(conn)
        self._follow(stored)
        return stored

    def lock(self, conn: Tx) -> tuple[int, int | None]:
        """Lock the clock row for this unit (advances are serialized on it); (now, target)."""
        return clock_row.lock(conn)

    def set_target(self, conn: Tx, target: int) -> None:
        """Record an accepted advance (with the row locked by `lock`): the clock is bound for `target`."""
        clock_row.set_target(conn, target)

    def advance_to(self, conn: Tx, to: int) -> int:
        """Move the stored clock forward to `to` (never back); this process's copy follows on commit."""
        clock_row.advance_to(conn, to)
        after_commit(conn, lambda: self._follow(to))
        return to

    def _follow(self, to: int) -> None:
        with self._lock:
            self._now = max(self._now, to)
