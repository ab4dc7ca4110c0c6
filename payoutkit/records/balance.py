"""The Balance and balance transactions as records: what use cases return and the wire renders.

A `BalanceTransaction` is a row of the append-only `balance_transactions` table; `doc()` is Stripe's
JSON of it. A `Balance` is built from an account's buckets (`balance_of`): per balance type, the
amounts per currency and, for `payments` and `issuing`, per source type. A source type shows once it
has ever held money; `card` always shows, as in Stripe's Balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from payoutkit.ledger.postings import BalanceType, Bucket


@dataclass(frozen=True, kw_only=True)
class BalanceTransaction:
    id: str
    account_id: str
    livemode: bool
    amount: int
    available_on: int
    balance_type: str
    created: int
    currency: str
    description: str | None
    fee: int
    fee_details: tuple[Mapping[str, Any], ...]
    net: int
    reporting_category: str
    source: str | None
    status: str
    type: str
    payout: str | None = None

    def as_of(self, now: int) -> BalanceTransaction:
        """The transaction as settlement would leave it by `now`: pending funds due are available."""
        if self.status == "pending" and self.available_on <= now:
            return replace(self, status="available")
        return self

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "balance_transaction",
            "amount": self.amount,
            "available_on": self.available_on,
            "balance_type": self.balance_type,
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "exchange_rate": None,
            "fee": self.fee,
            "fee_details": [dict(f) for f in self.fee_details],
            "net": self.net,
            "reporting_category": self.reporting_category,
            "source": self.source,
            "status": self.status,
            "type": self.type,
        }


@dataclass(frozen=True)
class Amount:
    """An amount of one currency, and its split by source type (None: the hash has no split)."""

    amount: int
    currency: str
    source_types: Mapping[str, int] | None = None

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"amount": self.amount, "currency": self.currency}
        if self.source_types is not None:
            out["source_types"] = dict(self.source_types)
        return out


Amounts = tuple[Amount, ...]


@dataclass(frozen=True, kw_only=True)
class Balance:
    livemode: bool
    available: Amounts
    pending: Amounts
    connect_reserved: Amounts | None  # the platform's only
    issuing_available: Amounts
    prefunding_available: Amounts
    prefunding_pending: Amounts
    # The buckets it was built from (the instant payout terms are computed from them).
    buckets: tuple[Bucket, ...] = ()

    def doc(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "object": "balance",
            "available": _docs(self.available),
            "livemode": self.livemode,
            "pending": _docs(self.pending),
        }
        if self.connect_reserved is not None:
            obj["connect_reserved"] = _docs(self.connect_reserved)
        obj["issuing"] = {"available": _docs(self.issuing_available)}
        obj["refund_and_dispute_prefunding"] = {
            "available": _docs(self.prefunding_available),
            "pending": _docs(self.prefunding_pending),
        }
        return obj


def _docs(amounts: Amounts) -> list[dict[str, Any]]:
    return [a.doc() for a in amounts]


def _amounts(buckets: Iterable[Bucket], field: str, *, with_source_types: bool = True) -> Amounts:
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for b in buckets:
        st = per[b.key.currency]
        if b.available or b.pending or b.key.source_type.value == "card" or b.key.source_type.value in st:
            st[b.key.source_type.value] = st.get(b.key.source_type.value, 0) + getattr(b, field)
    return tuple(Amount(sum(per[c].values()), c, per[c] if with_source_types else None) for c in sorted(per))


def balance_of(
    buckets: Iterable[Bucket], *, livemode: bool, default_currency: str, is_platform: bool
) -> Balance:
    """The Balance of an account from its buckets; `default_currency` names the zero entries."""
    held = tuple(buckets)
    by_type: dict[BalanceType, list[Bucket]] = defaultdict(list)
    for b in held:
        by_type[b.key.balance_type].append(b)
    payments = by_type[BalanceType.PAYMENTS]
    empty = (Amount(0, default_currency, {"card": 0}),)
    zero = (Amount(0, default_currency),)
    prefunding = by_type[BalanceType.REFUND_AND_DISPUTE_PREFUNDING]
    reserved = _amounts(by_type[BalanceType.CONNECT_RESERVED], "total", with_source_types=False) or zero
    return Balance(
        livemode=livemode,
        available=_amounts(payments, "available") or empty,
        pending=_amounts(payments, "pending") or empty,
        connect_reserved=reserved if is_platform else None,
        issuing_available=_amounts(by_type[BalanceType.ISSUING], "available") or empty,
        prefunding_available=_amounts(prefunding, "available", with_source_types=False) or zero,
        prefunding_pending=_amounts(prefunding, "pending", with_source_types=False) or zero,
        buckets=held,
    )


def held_currencies(buckets: Iterable[Bucket]) -> list[str]:
    """The currencies an account's payments buckets hold, sorted (the first names the zero entries)."""
    return sorted({b.key.currency for b in buckets if b.key.balance_type is BalanceType.PAYMENTS})
