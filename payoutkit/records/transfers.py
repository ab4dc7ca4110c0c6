"""Transfers (`tr_`) and their reversals (`trr_`). What a transfer makes on its destination, the
payment (`py_`) and the refunds of it (`pyr_`) that reversals take back, are the charges room's
`Charge` and `Refund` (records/charges.py).

Each record mirrors the stored document (`resources.data`) exactly: `from_doc(doc).doc() == doc`. A
reversal is stored with `livemode`, and shown inside its transfer's list without it (`embedded()`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from payoutkit.records.charges import EMBEDDED, embedded_list


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
            reversals=(reversal, *self.reversals)[:EMBEDDED],
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
            "reversals": embedded_list(
                f"/v1/transfers/{self.id}/reversals", [r.embedded() for r in self.reversals]
            ),
            "reversed": self.reversed,
            "source_transaction": self.source_transaction,
            "source_type": self.source_type,
            "transfer_group": self.transfer_group,
        }
