"""External accounts as records: where an account's payouts go, a bank account or a debit card.

`ExternalAccount.from_doc(d)` reads the stored document (`resources.data`) and `doc()` gives it back in
exactly its stored shape, `livemode` and `created` included (stored for scoping, never rendered). What a
test number selects for its payouts (`PayoutOutcome`) is kept in the resource's `internal` column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from payoutkit.ledger.frozen import made_whole

KINDS = ("bank_account", "card")
# Stored in the document for scoping, not part of Stripe's object.
STORED_ONLY = ("livemode", "created")

_COMMON = (
    "id",
    "object",
    "account",
    "available_payout_methods",
    "country",
    "currency",
    "default_for_currency",
    "fingerprint",
    "last4",
    "metadata",
    "status",
    "livemode",
    "created",
)
_BANK = ("account_holder_name", "account_holder_type", "account_type", "bank_name", "routing_number")
_CARD = ("brand", "exp_month", "exp_year", "funding", "name")


@dataclass(frozen=True)
class PayoutOutcome:
    """What a payout to this destination does in test mode: "" succeeds, else Stripe's failure code."""

    failure_code: str = ""

    @property
    def fails(self) -> bool:
        return bool(self.failure_code)

    @classmethod
    def from_doc(cls, d: Mapping[str, Any] | None) -> PayoutOutcome:
        return cls(failure_code=(d or {}).get("failure_code", ""))

    def doc(self) -> dict[str, Any]:
        return {"failure_code": self.failure_code}


@dataclass(frozen=True)
class BankDetails:
    account_holder_name: str | None = None
    account_holder_type: str | None = None
    account_type: str | None = None
    bank_name: str | None = None
    routing_number: str | None = None


@dataclass(frozen=True)
class CardDetails:
    brand: str
    exp_month: int
    exp_year: int
    funding: str = "debit"
    name: str | None = None


def _card(d: Mapping[str, Any]) -> CardDetails:
    return CardDetails(
        brand=d["brand"],
        exp_month=d["exp_month"],
        exp_year=d["exp_year"],
        funding=d.get("funding", "debit"),
        name=d.get("name"),
    )


@dataclass(frozen=True)
class ExternalAccount:
    id: str
    object: Literal["bank_account", "card"]
    account: str
    country: str
    currency: str
    default_for_currency: bool
    status: str  # new | errored (Stripe's `validated`, `verified`… are not modelled)
    available_payout_methods: tuple[str, ...]
    fingerprint: str
    last4: str
    livemode: bool
    created: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    bank: BankDetails | None = None
    card: CardDetails | None = None
    # The kind's decorative fields (a card's address and check fields), and any other stored key.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def instant_eligible(self) -> bool:
        return "instant" in self.available_payout_methods

    @property
    def errored(self) -> bool:
        return self.status == "errored"

    def takes(self, method: str) -> bool:
        """Whether payouts of `method` (standard, instant) may go to it."""
        return method in self.available_payout_methods

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ExternalAccount:
        kind = d["object"]
        own = _BANK if kind == "bank_account" else _CARD
        # Every field at once (`made_whole`): each payout reads its destination.
        return made_whole(
            cls,
            id=d["id"],
            object=kind,
            account=d["account"],
            country=d["country"],
            currency=d["currency"],
            default_for_currency=bool(d["default_for_currency"]),
            status=d.get("status", "new"),
            available_payout_methods=tuple(d.get("available_payout_methods", ())),
            fingerprint=d["fingerprint"],
            last4=d["last4"],
            livemode=bool(d.get("livemode")),
            created=d.get("created", 0),
            metadata=dict(d.get("metadata") or {}),
            bank=BankDetails(**{k: d.get(k) for k in _BANK}) if kind == "bank_account" else None,
            card=_card(d) if kind == "card" else None,
            extra={k: v for k, v in d.items() if k not in _COMMON and k not in own},
        )

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": self.object}
        if self.bank is not None:
            out.update(
                account_holder_name=self.bank.account_holder_name,
                account_holder_type=self.bank.account_holder_type,
                account_type=self.bank.account_type,
            )
        out["available_payout_methods"] = list(self.available_payout_methods)
        if self.bank is not None:
            out["bank_name"] = self.bank.bank_name
        if self.card is not None:
            out["brand"] = self.card.brand
            out.update(exp_month=self.card.exp_month, exp_year=self.card.exp_year, funding=self.card.funding)
            out["name"] = self.card.name
        out.update(
            country=self.country,
            currency=self.currency,
            fingerprint=self.fingerprint,
            last4=self.last4,
        )
        if self.bank is not None:
            out["routing_number"] = self.bank.routing_number
        out.update(self.extra)
        out.update(
            status=self.status,
            account=self.account,
            default_for_currency=self.default_for_currency,
            metadata=dict(self.metadata),
            livemode=self.livemode,
            created=self.created,
        )
        return out

    def rendered(self) -> dict[str, Any]:
        """The document without what is stored only for scoping (as Stripe's object shows it)."""
        return {k: v for k, v in self.doc().items() if k not in STORED_ONLY}
