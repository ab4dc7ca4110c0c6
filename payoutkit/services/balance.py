"""`GET /v1/balance` and balance transactions.

The Balance is read from buckets only (its cost does not grow with history); if any bucket has funds
due, the account is settled first, in the same unit of work. Balance transactions are rendered from
their rows; the platform's internal `connect_reserved` leg of a reserve transaction is not listed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, bindparam, select

from payoutkit.api import expand
from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Params
from payoutkit.errors import ResourceMissing
from payoutkit.ids import check_id
from payoutkit.ledger.postings import BalanceType, Bucket
from payoutkit.services import instant
from payoutkit.services.accounts import account_data
from payoutkit.services.settlement import settle
from payoutkit.store.balances import read_buckets
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import balances


def _amounts(buckets: list[Bucket], field: str, *, with_source_types: bool = True) -> list[dict[str, Any]]:
    per: dict[str, dict[str, int]] = defaultdict(dict)
    for b in buckets:
        st = per[b.key.currency]
        # A source type shows once it has ever held money; `card` always shows, as in Stripe's Balance.
        if b.available or b.pending or b.key.source_type.value == "card" or b.key.source_type.value in st:
            st[b.key.source_type.value] = st.get(b.key.source_type.value, 0) + getattr(b, field)
    out = []
    for currency in sorted(per):
        item: dict[str, Any] = {"amount": sum(per[currency].values()), "currency": currency}
        if with_source_types:
            item["source_types"] = per[currency]
        out.append(item)
    return out


def balance_object(
    buckets: list[Bucket], *, livemode: bool, default_currency: str, is_platform: bool
) -> dict[str, Any]:
    by_type: dict[BalanceType, list[Bucket]] = defaultdict(list)
    for b in buckets:
        by_type[b.key.balance_type].append(b)
    payments = by_type[BalanceType.PAYMENTS]
    empty = [{"amount": 0, "currency": default_currency, "source_types": {"card": 0}}]
    obj: dict[str, Any] = {
        "object": "balance",
        "available": _amounts(payments, "available") or empty,
        "livemode": livemode,
        "pending": _amounts(payments, "pending") or empty,
    }
    if is_platform:
        reserved = by_type[BalanceType.CONNECT_RESERVED]
        obj["connect_reserved"] = _amounts(reserved, "total", with_source_types=False) or [
            {"amount": 0, "currency": default_currency}
        ]
    zero = [{"amount": 0, "currency": default_currency}]
    obj["issuing"] = {"available": _amounts(by_type[BalanceType.ISSUING], "available") or empty}
    prefunding = by_type[BalanceType.REFUND_AND_DISPUTE_PREFUNDING]
    obj["refund_and_dispute_prefunding"] = {
        "available": _amounts(prefunding, "available", with_source_types=False) or zero,
        "pending": _amounts(prefunding, "pending", with_source_types=False) or zero,
    }
    return obj


def retrieve(conn: Connection, ctx: Ctx, p: Params) -> dict[str, Any]:
    buckets, due = read_buckets(conn, ctx.account_id, ctx.livemode)
    if due is not None and due <= ctx.now:
        settle(conn, ctx.now, account_id=ctx.account_id, livemode=ctx.livemode)
        buckets, _ = read_buckets(conn, ctx.account_id, ctx.livemode)
    held = sorted({b.key.currency for b in buckets if b.key.balance_type is BalanceType.PAYMENTS})
    # The currency of the zero entries: the account's default one, read only when it holds nothing.
    default_currency = held[0] if held else account_data(conn, ctx.account_id)["default_currency"]
    obj = balance_object(
        buckets, livemode=ctx.livemode, default_currency=default_currency, is_platform=ctx.is_platform
    )
    instant_available = instant.instant_available(conn, ctx, buckets)
    if instant_available:
        obj["instant_available"] = instant_available
    return obj


def render_txn(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "balance_transaction",
        "amount": row.amount,
        "available_on": row.available_on,
        "balance_type": row.balance_type,
        "created": row.created,
        "currency": row.currency,
        "description": row.description,
        "exchange_rate": None,
        "fee": row.fee,
        "fee_details": list(row.fee_details),
        "net": row.net,
        "reporting_category": row.reporting_category,
        "source": row.source,
        "status": row.status,
        "type": row.type,
    }


class BalanceTransactionList(ListParams):
    currency: str | None = None
    payout: str | None = None
    source: str | None = None
    type: str | None = None


def _scope(ctx: Ctx) -> list[Any]:
    return [
        txns.c.account_id == ctx.account_id,
        txns.c.livemode == ctx.livemode,
        txns.c.balance_type != BalanceType.CONNECT_RESERVED.value,
    ]


_DUE = (
    select(balances.c.seq)
    .where(
        balances.c.account_id == bindparam("account_id"),
        balances.c.livemode == bindparam("livemode"),
        balances.c.next_settle_at <= bindparam("now"),
    )
    .limit(1)
)


def list_transactions(conn: Connection, ctx: Ctx, p: BalanceTransactionList) -> dict[str, Any]:
    where = _scope(ctx)
    if p.currency:
        where.append(txns.c.currency == p.currency.lower())
    if p.type:
        where.append(txns.c.type == p.type)
    if p.source:
        where.append(txns.c.source == p.source)
    if p.payout:
        check_id(p.payout, ("po",), "payout", "payout")
        where.append(txns.c.payout == p.payout)
    # Anything due? The buckets know (`next_settle_at`) in one indexed row; asking the transactions
    # would scan the account's history.
    if conn.execute(_DUE, {"account_id": ctx.account_id, "livemode": ctx.livemode, "now": ctx.now}).first():
        settle(conn, ctx.now, account_id=ctx.account_id, livemode=ctx.livemode)
    return page(conn, txns, where, p, "/v1/balance_transactions", render_txn)


def _find(conn: Connection, ctx: Ctx, txn_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(txns).where(txns.c.id == txn_id, *_scope(ctx))).first()
    if row is None:
        # A connected account's transaction, seen by its platform: in the request's mode only.
        row = conn.execute(select(txns).where(txns.c.id == txn_id, txns.c.livemode == ctx.livemode)).first()
        if row is None or not ctx.is_platform or not expand.visible(conn, ctx, row.account_id):
            return None
    if row.status == "pending" and row.available_on <= ctx.now:  # due: settle its account first
        settle(conn, ctx.now, account_id=row.account_id, livemode=row.livemode)
        row = conn.execute(select(txns).where(txns.c.id == txn_id)).first()
    return render_txn(row)


def retrieve_transaction(conn: Connection, ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    check_id(id, ("txn",), "id", "balance transaction")
    obj = _find(conn, ctx, id)
    if obj is None:
        raise ResourceMissing.for_id("balance transaction", id)
    return obj


expand.register("txn", _find)
