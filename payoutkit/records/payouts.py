"""Payouts as records: the Stripe payout object as stored, what the payout keeps to itself (its fees,
the destination's test outcome), its tracking row, and the platform's instant payout pricing.

`Payout.from_doc(d)` and `Payout.doc()` convert to and from the stored document (`resources.data`),
which keeps exactly its shape; `PayoutInternal` is the `internal` column. The payout's status and fees
are the pure ledger's vocabulary, defined here at the bottom so that the ledger's lifecycle plans and
every layer above speak of the same typed payout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from payoutkit.lists import Range


class PayoutStatus(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class PayoutFees:
    """An instant payout's fees: the platform's `application_fee` (its instant payout pricing) and the
    processing fee, paid by the account or by the platform (`controller.fees.payer`)."""

    application_fee: int = 0
    application_fee_id: str | None = None
    processing_fee: int = 0
    platform_pays_processing: bool = False

    def charged_to_account(self) -> int:
        return self.application_fee + (0 if self.platform_pays_processing else self.processing_fee)


NO_FEES = PayoutFees()


@dataclass(frozen=True)
class TraceId:
    status: str = "pending"
    value: str | None = None


@dataclass(frozen=True, kw_only=True)
class Payout:
    """A payout as Stripe shows it (and as it is stored)."""

    id: str
    amount: int
    application_fee: str | None
    application_fee_amount: int | None
    arrival_date: int
    automatic: bool
    balance_transaction: str
    created: int
    currency: str
    description: str | None
    destination: str
    failure_balance_transaction: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    livemode: bool
    metadata: Mapping[str, str] = field(default_factory=dict)
    method: str
    original_payout: str | None = None
    payout_method: str | None = None
    reconciliation_status: str
    reversed_by: str | None = None
    source_type: str
    statement_descriptor: str | None = None
    status: PayoutStatus = PayoutStatus.PENDING
    trace_id: TraceId = TraceId()
    type: str

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Payout:
        trace = d.get("trace_id") or {}
        return cls(
            id=d["id"],
            amount=d["amount"],
            application_fee=d.get("application_fee"),
            application_fee_amount=d.get("application_fee_amount"),
            arrival_date=d["arrival_date"],
            automatic=bool(d["automatic"]),
            balance_transaction=d["balance_transaction"],
            created=d["created"],
            currency=d["currency"],
            description=d.get("description"),
            destination=d["destination"],
            failure_balance_transaction=d.get("failure_balance_transaction"),
            failure_code=d.get("failure_code"),
            failure_message=d.get("failure_message"),
            livemode=bool(d["livemode"]),
            metadata=dict(d.get("metadata") or {}),
            method=d["method"],
            original_payout=d.get("original_payout"),
            payout_method=d.get("payout_method"),
            reconciliation_status=d["reconciliation_status"],
            reversed_by=d.get("reversed_by"),
            source_type=d["source_type"],
            statement_descriptor=d.get("statement_descriptor"),
            status=PayoutStatus(d["status"]),
            trace_id=TraceId(trace.get("status", "pending"), trace.get("value")),
            type=d["type"],
        )

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payout",
            "amount": self.amount,
            "application_fee": self.application_fee,
            "application_fee_amount": self.application_fee_amount,
            "arrival_date": self.arrival_date,
            "automatic": self.automatic,
            "balance_transaction": self.balance_transaction,
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "destination": self.destination,
            "failure_balance_transaction": self.failure_balance_transaction,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "livemode": self.livemode,
            "metadata": dict(self.metadata),
            "method": self.method,
            "original_payout": self.original_payout,
            "payout_method": self.payout_method,
            "reconciliation_status": self.reconciliation_status,
            "reversed_by": self.reversed_by,
            "source_type": self.source_type,
            "statement_descriptor": self.statement_descriptor,
            "status": self.status.value,
            "trace_id": {"status": self.trace_id.status, "value": self.trace_id.value},
            "type": self.type,
        }


@dataclass(frozen=True)
class PayoutInternal:
    """What a payout knows but never shows (the `internal` column): the destination's test outcome
    (a failure code, or None), its fees, and when its `payout` transaction was available (a debit's
    credit is pending until it arrives)."""

    failure_code: str | None
    fees: PayoutFees
    txn_available_on: int

    @classmethod
    def from_doc(cls, d: Mapping[str, Any], payout: Payout) -> PayoutInternal:
        return cls(
            failure_code=d.get("failure_code") or None,
            fees=PayoutFees(**d.get("fees", {})),
            txn_available_on=d.get("txn_available_on", payout.created),
        )

    def doc(self) -> dict[str, Any]:
        return {
            "failure_code": self.failure_code,
            "fees": asdict(self.fees),
            "txn_available_on": self.txn_available_on,
        }


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
