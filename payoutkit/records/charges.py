"""Charges, refunds, disputes and application fees: typed mirrors of the stored Stripe documents.

Each record's `from_doc(d)` reads the document stored in `resources.data` and `doc()` gives it back in
exactly that shape; what no use case reads or decides on (a card's details, a charge's outcome, a
dispute's evidence) is kept as the mapping it is. A charge's `refunds` is Stripe's embedded list of
its latest refunds (at most `EMBEDDED`), kept as documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from payoutkit.ledger.frozen import made_whole
from payoutkit.records.balance import BalanceTransaction
from payoutkit.records.plain import plain

EMBEDDED = 10  # the refunds an object's embedded `refunds` list shows, newest first


def embedded_list(url: str, data: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    return {"object": "list", "data": [dict(d) for d in data], "has_more": False, "url": url}


def with_newest(listing: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """An embedded list with `item` first, cut to `EMBEDDED`."""
    return {**listing, "data": [dict(item), *listing["data"]][:EMBEDDED]}


@dataclass(frozen=True)
class TransferData:
    destination: str
    amount: int | None = None

    def doc(self) -> dict[str, Any]:
        return {"amount": self.amount, "destination": self.destination}


@dataclass(frozen=True, kw_only=True)
class Charge:
    """A charge (`ch_`), or a payment (`py_`) that a transfer made on its destination."""

    id: str
    amount: int
    amount_captured: int
    amount_refunded: int
    application: str | None
    application_fee: str | None
    application_fee_amount: int | None
    balance_transaction: str | None
    billing_details: Mapping[str, Any]
    calculated_statement_descriptor: str | None
    captured: bool
    created: int
    currency: str
    customer: str | None
    description: str | None
    disputed: bool
    failure_balance_transaction: str | None
    failure_code: str | None
    failure_message: str | None
    fraud_details: Mapping[str, Any]
    livemode: bool
    metadata: Mapping[str, str]
    on_behalf_of: str | None
    outcome: Mapping[str, Any] | None
    paid: bool
    payment_intent: str | None
    payment_method: str | None
    payment_method_details: Mapping[str, Any] | None
    receipt_email: str | None
    refunded: bool
    refunds: Mapping[str, Any]
    source_transfer: str | None
    statement_descriptor: str | None
    statement_descriptor_suffix: str | None
    status: str
    transfer_data: TransferData | None
    transfer_group: str | None
    # Absent from the document (not null) unless the charge made a transfer: Stripe's schema.
    transfer: str | None = None

    @property
    def method_type(self) -> str:
        """The payment method's type (`card`, `ach_debit`, `fpx`); a payment has none: `card`."""
        return str((self.payment_method_details or {}).get("type", "card"))

    @property
    def remaining(self) -> int:
        return self.amount - self.amount_refunded

    def refunded_by(self, refund: Refund) -> Charge:
        """The charge once `refund` is recorded on it (counted, and first in its embedded list)."""
        refunded = self.amount_refunded + refund.amount
        counted = replace(self, amount_refunded=refunded, refunded=refunded == self.amount)
        return counted.listing(refund)

    def listing(self, refund: Refund) -> Charge:
        """The charge with `refund` first in its embedded list (already counted)."""
        return replace(self, refunds=with_newest(self.refunds, refund.public()))

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Charge:
        td = d["transfer_data"]
        values = {name: d[name] for name in _CHARGE_FIELDS}
        values["transfer_data"] = None if td is None else TransferData(td["destination"], td.get("amount"))
        # Every field at once (payoutkit/ledger/frozen.py): 39 of them, on every charge read.
        return made_whole(cls, **values, transfer=d.get("transfer"))

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "charge"}
        state = self.__dict__
        for name in _CHARGE_FIELDS[1:]:
            value = state[name]
            out[name] = value if type(value) in _ATOMS else _plain(value)
        out["transfer_data"] = None if self.transfer_data is None else self.transfer_data.doc()
        if self.transfer is not None:
            out["transfer"] = self.transfer
        return out


# A record's mapping as the document's JSON value (a copy: records never share their state).
_plain = plain
_ATOMS = frozenset({str, int, bool, float, type(None)})  # values that are their own JSON value


@dataclass(frozen=True, kw_only=True)
class Refund:
    """A refund of a charge (`re_`), or of a payment that came by transfer (`pyr_`).

    The stored document carries `livemode`; Stripe's refund does not show it (`public()`)."""

    id: str
    amount: int
    balance_transaction: str | None
    charge: str
    created: int
    currency: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    payment_intent: str | None = None
    reason: str | None = None
    receipt_number: str | None = None
    source_transfer_reversal: str | None = None
    status: str = "succeeded"
    transfer_reversal: str | None = None
    livemode: bool = False

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Refund:
        values = {name: d[name] for name in _REFUND_FIELDS}
        return cls(**values, livemode=bool(d["livemode"]))

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "refund"}
        for name in _REFUND_FIELDS[1:]:
            out[name] = _plain(getattr(self, name))
        return out

    def doc(self) -> dict[str, Any]:
        return {**self.public(), "livemode": self.livemode}


@dataclass(frozen=True, kw_only=True)
class Dispute:
    """A dispute (`dp_`): its balance transactions are kept as ids (they settle over time)."""

    id: str
    amount: int
    balance_transactions: tuple[str, ...]
    charge: str
    created: int
    currency: str
    evidence: Mapping[str, Any]
    evidence_details: Mapping[str, Any]
    is_charge_refundable: bool
    livemode: bool
    metadata: Mapping[str, str]
    payment_intent: str | None
    reason: str
    status: str

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Dispute:
        values = {name: d[name] for name in _DISPUTE_FIELDS}
        ids = tuple(t if isinstance(t, str) else t["id"] for t in d["balance_transactions"])
        return cls(**{**values, "balance_transactions": ids})

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "dispute"}
        for name in _DISPUTE_FIELDS[1:]:
            out[name] = _plain(getattr(self, name))
        return out


@dataclass(frozen=True)
class DisputeShown:
    """A dispute with its balance transactions in full, as Stripe shows it (the stored dispute keeps
    only their ids: they settle over time)."""

    dispute: Dispute
    balance_transactions: tuple[BalanceTransaction, ...]

    def doc(self) -> dict[str, Any]:
        return {**self.dispute.doc(), "balance_transactions": [t.doc() for t in self.balance_transactions]}


@dataclass(frozen=True, kw_only=True)
class FeeRefund:
    """A platform's refund of an application fee (`fr_`)."""

    id: str
    amount: int
    balance_transaction: str | None
    created: int
    currency: str
    fee: str
    metadata: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> FeeRefund:
        return cls(**{name: d[name] for name in _FEE_REFUND_FIELDS})

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "fee_refund"}
        for name in _FEE_REFUND_FIELDS[1:]:
            out[name] = _plain(getattr(self, name))
        return out


@dataclass(frozen=True, kw_only=True)
class ApplicationFee:
    """The platform's fee (`fee_`) on a charge of (or to) a connected account."""

    id: str
    account: str
    amount: int
    amount_refunded: int
    application: str
    balance_transaction: str | None
    charge: str
    created: int
    currency: str
    fee_source: Mapping[str, Any] | None
    livemode: bool
    originating_transaction: str | None
    refunded: bool
    refunds: Mapping[str, Any]

    def refunded_by(self, fee_refund: FeeRefund) -> ApplicationFee:
        refunded = self.amount_refunded + fee_refund.amount
        return replace(
            self,
            amount_refunded=refunded,
            refunded=refunded == self.amount,
            refunds=with_newest(self.refunds, fee_refund.doc()),
        )

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ApplicationFee:
        return cls(**{name: d[name] for name in _FEE_FIELDS})

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "application_fee"}
        for name in _FEE_FIELDS[1:]:
            out[name] = _plain(getattr(self, name))
        return out


def _names(cls: type, *skip: str) -> tuple[str, ...]:
    """The document's fields, in its order: the record's, less those it keeps beside the document."""
    return tuple(f.name for f in fields(cls) if f.name not in skip)


_CHARGE_FIELDS = _names(Charge, "transfer")
_REFUND_FIELDS = _names(Refund, "livemode")
_DISPUTE_FIELDS = _names(Dispute)
_FEE_REFUND_FIELDS = _names(FeeRefund)
_FEE_FIELDS = _names(ApplicationFee)
