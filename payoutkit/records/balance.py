"""The Balance and balance transactions as records: what use cases return and the wire renders.

A `BalanceTransaction` is a row of the append-only `balance_transactions` table; `doc()` is Stripe's
JSON of it. A `Balance` is built from an account's buckets (`balance_of`): per balance type, the
amounts per currency and, for `payments` and `issuing`, per source type. A source type shows once it
has ever held money; `card` always shows, as in Stripe's Balance.
"""

from __future__ import annotations

import functools
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


@dataclass(frozen=True)
class InstantAmount:
    """`instant_available` in one currency: the amount, and per destination the largest payout whose
    amount plus fees fits (`net`)."""

    currency: str
    amount: int
    net: int
    destinations: tuple[str, ...]

    def doc(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "net_available": [
                {"amount": self.net, "destination": d, "source_types": {"card": self.net}}
                for d in self.destinations
            ],
            "source_types": {"card": self.amount},
        }


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
    # Per currency with an instant-capable destination (services/balance.py `retrieve`); shown when any.
    instant_available: tuple[InstantAmount, ...] = ()

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
        if self.instant_available:
            obj["instant_available"] = [a.doc() for a in self.instant_available]
        return obj


def _docs(amounts: Amounts) -> list[dict[str, Any]]:
    return [a.doc() for a in amounts]


# Per currency, per source type shown: [available, pending] (see `_grouped`).
_Grouped = dict[str, dict[str, list[int]]]
AVAILABLE, PENDING, TOTAL = 0, 1, 2


def _grouped(buckets: Iterable[Bucket]) -> dict[BalanceType, _Grouped]:
    """Per balance type and currency, the amounts per source type: a source type shows when its bucket
    holds money, and `card` always does (a currency shows once it has a bucket)."""
    out: dict[BalanceType, _Grouped] = {}
    for b in buckets:
        key = b.key
        per = out.setdefault(key.balance_type, {}).setdefault(key.currency, {})
        st = key.source_type.value
        if b.available or b.pending or st == "card" or st in per:
            found = per.get(st)
            if found is None:
                per[st] = [b.available, b.pending]
            else:
                found[0] += b.available
                found[1] += b.pending
    return out


def _amounts(per: _Grouped | None, which: int, *, with_source_types: bool = True) -> Amounts:
    if not per:
        return ()
    out = []
    for currency in sorted(per):
        if which == TOTAL:
            split = {st: v[0] + v[1] for st, v in per[currency].items()}
        else:
            split = {st: v[which] for st, v in per[currency].items()}
        out.append(Amount(sum(split.values()), currency, split if with_source_types else None))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _zeros(currency: str) -> tuple[Amounts, Amounts]:
    """The entries of a balance that holds nothing in `currency`: with a `card` split, and without
    (records are frozen, and `Amount.doc` copies its split: they are shared)."""
    return (Amount(0, currency, {"card": 0}),), (Amount(0, currency),)


def balance_of(
    buckets: Iterable[Bucket], *, livemode: bool, default_currency: str, is_platform: bool
) -> Balance:
    """The Balance of an account from its buckets; `default_currency` names the zero entries."""
    held = tuple(buckets)
    by_type = _grouped(held)
    payments = by_type.get(BalanceType.PAYMENTS)
    empty, zero = _zeros(default_currency)
    prefunding = by_type.get(BalanceType.REFUND_AND_DISPUTE_PREFUNDING)
    reserved = _amounts(by_type.get(BalanceType.CONNECT_RESERVED), TOTAL, with_source_types=False) or zero
    return Balance(
        livemode=livemode,
        available=_amounts(payments, AVAILABLE) or empty,
        pending=_amounts(payments, PENDING) or empty,
        connect_reserved=reserved if is_platform else None,
        issuing_available=_amounts(by_type.get(BalanceType.ISSUING), AVAILABLE) or empty,
        prefunding_available=_amounts(prefunding, AVAILABLE, with_source_types=False) or zero,
        prefunding_pending=_amounts(prefunding, PENDING, with_source_types=False) or zero,
        buckets=held,
    )


def held_currencies(buckets: Iterable[Bucket]) -> list[str]:
    """The currencies an account's payments buckets hold, sorted (the first names the zero entries)."""
    return sorted({b.key.currency for b in buckets if b.key.balance_type is BalanceType.PAYMENTS})
