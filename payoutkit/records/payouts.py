"""Payouts as records beside the ledger's own (`ledger/payout_record.py`: the payout object as stored,
its status, fees and `internal` column): its tracking row, a payout read under its lock, the list
filter, and the platform's instant payout pricing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payoutkit.ledger.payout_record import Payout, PayoutInternal
from payoutkit.lists import Range


@dataclass(frozen=True)
class PayoutTracking:
    """A payout's row in `payout_tracking`: when its next step on the rail is due (None: never)."""

    payout_id: str
    account_id: str
    livemode: bool
    status: str
    arrival_date: int
    next_action_at: int | None


@dataclass(frozen=True)
class LockedPayout:
    """A payout read under its lock (tracking row first, as the worker locks it), with its owner."""

    tracking: PayoutTracking
    payout: Payout
    internal: PayoutInternal
    account_id: str


@dataclass(frozen=True)
class PayoutFilter:
    """What a list of payouts may be narrowed to (each optional)."""

    status: str | None = None
    destination: str | None = None
    arrival_date: Range | None = None


# ---- instant payout pricing -----------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyPrice:
    """The platform's fee on an instant payout in one currency: a percentage (basis points) with an
    optional floor and ceiling, in the currency's minor unit."""

    percent_bps: int
    minimum: int = 0
    maximum: int | None = None

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> CurrencyPrice:
        return cls(percent_bps=d["percent_bps"], minimum=d.get("minimum") or 0, maximum=d.get("maximum"))

    def doc(self) -> dict[str, Any]:
        return {"percent_bps": self.percent_bps, "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class InstantPricing:
    """The platform's stored pricing: per currency a price, or None (no fee, whatever configuration
    says)."""

    id: str
    livemode: bool
    created: int
    currencies: Mapping[str, CurrencyPrice | None]

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> InstantPricing:
        return cls(
            id=d["id"],
            livemode=bool(d["livemode"]),
            created=d["created"],
            currencies={
                c: None if e is None else CurrencyPrice.from_doc(e) for c, e in d["currencies"].items()
            },
        )

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "instant_payout_pricing",
            "livemode": self.livemode,
            "created": self.created,
            "currencies": {c: None if p is None else p.doc() for c, p in self.currencies.items()},
        }


@dataclass(frozen=True)
class PricedCurrency:
    """What the platform charges in one currency, and where that comes from (`api` or
    `configuration`)."""

    currency: str
    percent_bps: int
    minimum: int
    maximum: int | None
    source: str
