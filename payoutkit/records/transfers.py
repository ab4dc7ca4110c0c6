"""Transfers (`tr_`), their reversals (`trr_`), and what a transfer makes on its destination: the
payment (`py_`, a charge) and the refunds of that payment (`pyr_`) a reversal takes back.

Each record mirrors the stored document (`resources.data`) exactly: `from_doc(doc).doc() == doc`. A
reversal and a payment refund are stored with `livemode`, and shown inside their parent's list
without it (`embedded()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any


def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


@dataclass(frozen=True, kw_only=True)
class TransferReversal:
    id: str
    amount: int
    balance_transaction: str
    created: int
    currency: str
    destination_payment_refund: str
    metadata: Mapping[str, str]
    source_refund: str | None
    transfer: str
    livemode: bool

    @classmethod
    def from_doc(cls, d: Mapping[str, Any], *, livemode: bool | None = None) -> TransferReversal:
        """`livemode`: the transfer's, for a reversal embedded in it (which does not carry its own)."""
        return cls(
            id=d["id"],
            amount=d["amount"],
            balance_transaction=d["balance_transaction"],
            created=d["created"],
            currency=d["currency"],
            destination_payment_refund=d["destination_payment_refund"],
            metadata=dict(d["metadata"]),
            source_refund=d["source_refund"],
            transfer=d["transfer"],
            livemode=d["livemode"] if livemode is None else livemode,
        )

    def embedded(self) -> dict[str, Any]:
        """As the transfer's `reversals` list shows it (and the API renders it): without `livemode`."""
        return {
            "id": self.id,
            "object": "transfer_reversal",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "created": self.created,
            "currency": self.currency,
            "destination_payment_refund": self.destination_payment_refund,
            "metadata": dict(self.metadata),
            "source_refund": self.source_refund,
            "transfer": self.transfer,
        }

    def doc(self) -> dict[str, Any]:
        return {**self.embedded(), "livemode": self.livemode}


@dataclass(frozen=True, kw_only=True)
class Transfer:
    id: str
    amount: int
    amount_reversed: int
    balance_transaction: str
    created: int
    currency: str
    description: str | None
    destination: str
    destination_payment: str
    livemode: bool
    metadata: Mapping[str, str]
    reversals: tuple[TransferReversal, ...]  # the newest ten, as the stored list holds them
    reversed: bool
    source_transaction: str | None
    source_type: str
    transfer_group: str | None

    @property
    def remaining(self) -> int:
        """What is left to reverse."""
        return self.amount - self.amount_reversed

    def with_reversal(self, reversal: TransferReversal) -> Transfer:
        reversed_ = self.amount_reversed + reversal.amount
        return replace(
            self,
            amount_reversed=reversed_,
            reversed=reversed_ == self.amount,
            reversals=(reversal, *self.reversals)[:10],
        )

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Transfer:
        return cls(
            id=d["id"],
            amount=d["amount"],
            amount_reversed=d["amount_reversed"],
            balance_transaction=d["balance_transaction"],
            created=d["created"],
            currency=d["currency"],
            description=d["description"],
            destination=d["destination"],
            destination_payment=d["destination_payment"],
            livemode=d["livemode"],
            metadata=dict(d["metadata"]),
            reversals=tuple(
                TransferReversal.from_doc(r, livemode=d["livemode"]) for r in d["reversals"]["data"]
            ),
            reversed=d["reversed"],
            source_transaction=d["source_transaction"],
            source_type=d.get("source_type") or "card",
            transfer_group=d["transfer_group"],
        )

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "transfer",
            "amount": self.amount,
            "amount_reversed": self.amount_reversed,
            "balance_transaction": self.balance_transaction,
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "destination": self.destination,
            "destination_payment": self.destination_payment,
            "livemode": self.livemode,
            "metadata": dict(self.metadata),
            "reversals": _list([r.embedded() for r in self.reversals], f"/v1/transfers/{self.id}/reversals"),
            "reversed": self.reversed,
            "source_transaction": self.source_transaction,
            "source_type": self.source_type,
            "transfer_group": self.transfer_group,
        }


@dataclass(frozen=True, kw_only=True)
class PaymentRefund:
    """The refund (`pyr_`) of a destination payment that a transfer reversal takes back."""

    id: str
    amount: int
    balance_transaction: str
    charge: str
    created: int
    currency: str
    source_transfer_reversal: str | None
    livemode: bool

    def embedded(self) -> dict[str, Any]:
        """As the payment's `refunds` list shows it: without `livemode`."""
        return {
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "metadata": {},
            "payment_intent": None,
            "reason": None,
            "receipt_number": None,
            "source_transfer_reversal": self.source_transfer_reversal,
            "status": "succeeded",
            "transfer_reversal": None,
        }

    def doc(self) -> dict[str, Any]:
        return {**self.embedded(), "livemode": self.livemode}


# The fields of a destination payment that the transfers room reads or changes; the rest of the charge
# it is (rendered once, by `DestinationPayment.new`) is kept as it is stored.
_PAYMENT_FIELDS = (
    "id", "amount", "amount_refunded", "refunded", "application_fee", "currency", "livemode", "refunds",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class DestinationPayment:
    """The payment (`py_…`) a transfer makes on its destination: a charge with every field of one.

    Transitional (issue 8): the charges room's charge record will hold a charge's every field; until
    then the fields this room does not decide on are kept as stored (`rest`).
    """

    id: str
    amount: int
    amount_refunded: int
    refunded: bool
    application_fee: str | None
    currency: str
    livemode: bool
    refunds: tuple[Mapping[str, Any], ...]  # the newest ten, as the stored list holds them
    rest: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, *, transfer: Transfer, transfer_group: str | None) -> DestinationPayment:
        """The payment a transfer (by hand) makes on its destination."""
        pid, amount = transfer.destination_payment, transfer.amount
        return cls(
            id=pid,
            amount=amount,
            amount_refunded=0,
            refunded=False,
            application_fee=None,
            currency=transfer.currency,
            livemode=transfer.livemode,
            refunds=(),
            rest={
                "object": "charge",
                "amount_captured": amount,
                "application": None,
                "application_fee_amount": None,
                "balance_transaction": None,  # set by `with_balance_transaction`
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "calculated_statement_descriptor": None,
                "captured": True,
                "created": transfer.created,
                "customer": None,
                "description": None,
                "disputed": False,
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "fraud_details": {},
                "metadata": {},
                "on_behalf_of": None,
                "outcome": None,
                "paid": True,
                "payment_intent": None,
                "payment_method": None,
                "payment_method_details": None,
                "receipt_email": None,
                "source_transfer": transfer.id,
                "statement_descriptor": None,
                "statement_descriptor_suffix": None,
                "status": "succeeded",
                "transfer_data": None,
                "transfer_group": transfer_group,
            },
        )

    def with_balance_transaction(self, txn: str) -> DestinationPayment:
        return replace(self, rest={**self.rest, "balance_transaction": txn})

    def refunded_by(self, amount: int, refund: PaymentRefund | None) -> DestinationPayment:
        """Refunded by `amount` more; `refund` shown first in its list when it is a new one."""
        refunded = min(self.amount, self.amount_refunded + amount)
        refunds = self.refunds if refund is None else (refund.embedded(), *self.refunds)[:10]
        return replace(self, amount_refunded=refunded, refunded=refunded == self.amount, refunds=refunds)

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> DestinationPayment:
        return cls(
            id=d["id"],
            amount=d["amount"],
            amount_refunded=d["amount_refunded"],
            refunded=d["refunded"],
            application_fee=d.get("application_fee"),
            currency=d["currency"],
            livemode=d["livemode"],
            refunds=tuple(dict(r) for r in d["refunds"]["data"]),
            rest={k: v for k, v in d.items() if k not in _PAYMENT_FIELDS},
        )

    def doc(self) -> dict[str, Any]:
        return {
            **self.rest,
            "id": self.id,
            "amount": self.amount,
            "amount_refunded": self.amount_refunded,
            "refunded": self.refunded,
            "application_fee": self.application_fee,
            "currency": self.currency,
            "livemode": self.livemode,
            "refunds": _list([dict(r) for r in self.refunds], f"/v1/charges/{self.id}/refunds"),
        }
