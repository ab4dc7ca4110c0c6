"""The runtime: what a process of Payoutkit holds while it runs, built once by whoever starts it.

The API (`payoutkit/api/app.py`), the worker (`payoutkit/worker.py`) and the CLI each build one with
`open_runtime(settings)`: the settings, the database, the clocks (the real one, and test mode's
simulated one, which lives in the database), the payout rail, and the process's caches. Nothing in it
belongs to the web layer, so the worker runs jobs without importing it.

Migrations are not run here unless the database is new (its first start): `payoutkit migrate` brings
an existing database to the latest version, once, and `payoutkit serve` runs it before it starts its
processes, so that several processes on one database never race to migrate it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from sqlalchemy import Connection

from payoutkit.clock import Clock, SimulatedClock, SystemClock
from payoutkit.config import Settings
from payoutkit.services.platform import Bootstrap, bootstrap
from payoutkit.services.rail import SIMULATED, Rail
from payoutkit.store.db import Database
from payoutkit.store.migrations import ensure_schema


@dataclass
class Runtime:
    settings: Settings
    db: Database
    test_clock: Clock
    live_clock: Clock
    simulated: SimulatedClock | None
    platform_id: str = ""
    # sha256(key) → (trusted until, monotonic seconds; (account_id, livemode, kind)): see api/auth.py.
    key_cache: dict[str, tuple[float, tuple[str, bool, str]]] = field(default_factory=dict)
    # The payout rail (payoutkit/services/rail.py): the simulated rail unless another is plugged in.
    rail: Rail = SIMULATED

    def clock(self, livemode: bool) -> Clock:
        return self.live_clock if livemode else self.test_clock

    def now_in(self, conn: Connection, livemode: bool) -> int:
        """A mode's time for a unit of work: the simulated clock is read from the database (one
        primary-key read), so every process follows the one stored clock."""
        if not livemode and self.simulated is not None:
            return self.simulated.read(conn)
        return self.clock(livemode).now()


def open_runtime(settings: Settings, *, migrate_new: bool = True) -> tuple[Runtime, Bootstrap]:
    """The runtime of a process, and what bootstrapping the platform made (keys shown once)."""
    ensure_schema(settings.database_url, migrate_new=migrate_new)
    db = Database(settings.database_url)
    live = SystemClock()
    simulated = None
    if settings.simulated_clock:
        simulated = SimulatedClock(settings.simulated_clock_start or live.now())
        db.transaction(simulated.load)
    runtime = Runtime(
        settings=settings, db=db, test_clock=simulated or live, live_clock=live, simulated=simulated
    )
    boot = db.transaction(bootstrap, settings, live.now())
    runtime.platform_id = boot.platform_id
    return runtime, boot


# The young generation's threshold for a long-running process (CPython's default is 700 allocations).
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """For a long-running process (the server, its worker), once it has started: CPython's cycle
    collector no longer scans what startup made (modules, compiled statements, the app: `gc.freeze`,
    after one collection so that no garbage is frozen), and collects the young generation every 10,000
    allocations of container objects rather than 700. A batch of automatic payouts allocates some
    thousands of small objects per account (keys, entries, rows, documents), nearly all freed by
    reference counting; with the defaults the collector ran a full collection over every object of the
    process every ~1,700 accounts, a fifth of the run's CPU (bench/autopayout_run.py). Reference
    counting frees what it always did: only cycles wait longer to be collected."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
