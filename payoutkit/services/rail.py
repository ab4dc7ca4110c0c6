"""Rails: what carries a payout to the bank or card, as a small protocol.

The worker asks the payout's rail where a payout stands (`advance`) whenever the payout's next step
is due, and applies the answer through the payout state machine (booking returns, events, …). A rail
only reports; it never touches the ledger. `arrival_date` is asked once, when the payout is created.

The simulated rail (test mode, and live mode until a real rail is plugged in) follows the public test
bank numbers and debit-card tokens: their failure codes strike in transit or as a late return after
`paid` (payoutkit/ledger/payouts.py `FAILURE_TIMING`), and arrival follows business days for standard
payouts and minutes for instant ones. A real rail would submit the payout when it first sees it
`pending` and report what its bank has said since, keeping what it needs in its own storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from payoutkit.ledger.payouts import Step, arrival_date, simulated_step


@dataclass(frozen=True)
class RailPayout:
    """What a rail knows of a payout."""

    id: str
    amount: int
    currency: str
    method: str
    created: int
    arrival_date: int
    destination: str
    # The test outcome the destination selects (a failure code, or None to succeed).
    failure_code: str | None


class Rail(Protocol):
    def arrival_date(self, created: int, method: str) -> int: ...

    def advance(self, payout: RailPayout, now: int) -> Step:
        """Where the payout stands at `now`, and when to ask again."""
        ...


class SimulatedRail:
    def arrival_date(self, created: int, method: str) -> int:
        return arrival_date(created, method)

    def advance(self, payout: RailPayout, now: int) -> Step:
        return simulated_step(
            created=payout.created,
            method=payout.method,
            arrival=payout.arrival_date,
            failure_code=payout.failure_code,
            now=now,
        )


SIMULATED: Rail = SimulatedRail()
