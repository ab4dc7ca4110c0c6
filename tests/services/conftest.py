"""The world the use-case tests run in: a runtime on each store, and the platform acting in it.

runtime      `open_runtime(settings)` on a fresh database (sqlite | postgresql) with the simulated
             clock at CLOCK_START; at teardown the ledger's invariants must hold (`check_ledger`)
platform     the platform's Actor in test mode, at the simulated clock's time
ledger_ok    a callable asserting the ledger's invariants now (call it after each unit of work)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from payoutkit.config import Settings
from payoutkit.runtime import Runtime, open_runtime
from payoutkit.services.actor import Actor
from payoutkit.store.invariants import check_ledger
from tests.conftest import CLOCK_START, SECRET_KEY


@pytest.fixture
def runtime(database_url: str) -> Iterator[Runtime]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        simulated_clock=True,
        simulated_clock_start=CLOCK_START,
        worker=False,
    )
    rt, _ = open_runtime(settings, migrate_new=False)
    yield rt
    assert rt.db.read_transaction(check_ledger) == []
    rt.db.dispose()


@pytest.fixture
def platform(runtime: Runtime) -> Actor:
    now = runtime.db.read_transaction(runtime.now_in, False)
    return Actor(account_id=runtime.platform_id, platform_id=runtime.platform_id, livemode=False, now=now)


@pytest.fixture
def ledger_ok(runtime: Runtime) -> Callable[[], None]:
    def check() -> None:
        violations = runtime.db.read_transaction(check_ledger)
        assert violations == [], "ledger invariants violated:\n  " + "\n  ".join(violations)

    return check
