"""The payout as the ledger reasons about it: its status, its fees, and the Stripe payout object as
stored (`Payout.from_doc(d)` and `Payout.doc()` convert to and from the document in `resources.data`,
which keeps exactly its shape; `PayoutInternal` is the `internal` column).

They live in the pure ledger because its lifecycle plans (`ledger/payouts.plan_transition`) decide on
them; every layer above (records, store, services, api) imports them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from payoutkit.ledger.frozen import made_whole


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

    def doc(self) -> dict[str, Any]:
        """`dataclasses.asdict` of it, spelled out (asdict recurses and deep-copies: ~6x slower)."""
        return {
            "application_fee": self.application_fee,
            "application_fee_id": self.application_fee_id,
            "processing_fee": self.processing_fee,
            "platform_pays_processing": self.platform_pays_processing,
        }


NO_FEES = PayoutFees()


@dataclass(frozen=True)
class TraceId:
    status: str = "pending"
    value: str | None = None


PENDING_TRACE = TraceId()
_STATUSES = {s.value: s for s in PayoutStatus}


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
        trace_status, trace_value = trace.get("status", "pending"), trace.get("value")
        # Every field is set here, at once (`made_whole`): every payout read goes through this.
        return made_whole(
            cls,
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
            status=_STATUSES[d["status"]],
            trace_id=PENDING_TRACE
            if trace_status == "pending" and trace_value is None
            else TraceId(trace_status, trace_value),
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
            "fees": self.fees.doc(),
            "txn_available_on": self.txn_available_on,
        }
