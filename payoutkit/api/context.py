"""What a request knows once authenticated: which account acts, in which mode, and at what time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from payoutkit.clock import Clock, SimulatedClock
    from payoutkit.config import Settings
    from payoutkit.store.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    test_clock: Clock
    live_clock: Clock
    simulated: SimulatedClock | None
    platform_id: str = ""
    # sha256(key) → (trusted until, monotonic seconds; (account_id, livemode, kind)): see api/auth.py.
    key_cache: dict[str, tuple[float, tuple[str, bool, str]]] = field(default_factory=dict)
    # The payout rail (payoutkit/services/rail.py); None: the simulated rail.
    rail: Any = None

    def clock(self, livemode: bool) -> Clock:
        return self.live_clock if livemode else self.test_clock

    def now_in(self, conn: Connection, livemode: bool) -> int:
        """A mode's time for a unit of work: the simulated clock is read from the database (one
        primary-key read), so every process follows the one stored clock."""
        if not livemode and self.simulated is not None:
            return self.simulated.read(conn)
        return self.clock(livemode).now()


@dataclass
class Ctx:
    """The acting account (`Stripe-Account`, else the key's own) and the request's mode and time."""

    account_id: str
    platform_id: str
    livemode: bool
    now: int
    request_id: str
    state: AppState
    # The request's Idempotency-Key (POST only), carried into the events it causes.
    idempotency_key: str | None = None

    @property
    def is_platform(self) -> bool:
        return self.account_id == self.platform_id
