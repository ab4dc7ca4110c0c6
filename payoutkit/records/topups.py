"""Top-ups (`tu_`): funds pulled from the account's bank into one of its balances.

The record mirrors the stored document (`resources.data`) exactly: `from_doc(doc).doc() == doc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Topup:
    id: str
    amount: int
    balance_transaction: str | None
    created: int
    currency: str
    description: str | None
    expected_availability_date: int
    failure_code: str | None
    failure_message: str | None
    livemode: bool
    metadata: Mapping[str, str]
    statement_descriptor: str | None
    status: str
    transfer_group: str | None

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Topup:
        return cls(
            id=d["id"],
            amount=d["amount"],
            balance_transaction=d["balance_transaction"],
            created=d["created"],
            currency=d["currency"],
            description=d["description"],
            expected_availability_date=d["expected_availability_date"],
            failure_code=d["failure_code"],
            failure_message=d["failure_message"],
            livemode=d["livemode"],
            metadata=dict(d["metadata"]),
            statement_descriptor=d["statement_descriptor"],
            status=d["status"],
            transfer_group=d["transfer_group"],
        )

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "topup",
            "amount": self.amount,
            "balance_transaction": self.balance_transaction,
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "expected_availability_date": self.expected_availability_date,
            "failure_code": self.failure_code,
            "failure_message": self.failure_message,
            "livemode": self.livemode,
            "metadata": dict(self.metadata),
            "source": None,
            "statement_descriptor": self.statement_descriptor,
            "status": self.status,
            "transfer_group": self.transfer_group,
        }
