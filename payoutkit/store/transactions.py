"""Reads of balance transactions (the append-only `balance_transactions`; store/balances.py appends).

The platform's internal `connect_reserved` leg of a reserve transaction is not an account's to list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, select

from payoutkit.ledger.postings import BalanceType
from payoutkit.lists import Page, Window
from payoutkit.records.balance import BalanceTransaction
from payoutkit.store.among import among
from payoutkit.store.paging import page
from payoutkit.store.schema import balance_transactions as txns


def record_of(row: Any) -> BalanceTransaction:
    """A balance transaction from its row."""
    return BalanceTransaction(
        id=row.id,
        account_id=row.account_id,
        livemode=bool(row.livemode),
        amount=row.amount,
        available_on=row.available_on,
        balance_type=row.balance_type,
        created=row.created,
        currency=row.currency,
        description=row.description,
        fee=row.fee,
        fee_details=tuple(row.fee_details),
        net=row.net,
        reporting_category=row.reporting_category,
        source=row.source,
        status=row.status,
        type=row.type,
        payout=row.payout,
    )


_BY_ID = select(txns).where(txns.c.id == bindparam("id"), txns.c.livemode == bindparam("livemode"))
_BY_IDS = select(txns).where(among(txns.c.id, "ids"))


def find(conn: Connection, txn_id: str, livemode: bool) -> BalanceTransaction | None:
    """A balance transaction of a mode, whoever's it is."""
    row = conn.execute(_BY_ID, {"id": txn_id, "livemode": livemode}).first()
    return None if row is None else record_of(row)


def by_ids(conn: Connection, ids: Iterable[str]) -> dict[str, BalanceTransaction]:
    """The balance transactions among `ids` that exist, by id."""
    return {r.id: record_of(r) for r in conn.execute(_BY_IDS, {"ids": sorted(set(ids))})}


@dataclass(frozen=True)
class Filter:
    """A list of one account's balance transactions in one mode, optionally narrowed."""

    account_id: str
    livemode: bool
    currency: str | None = None
    type: str | None = None
    source: str | None = None
    payout: str | None = None


def listed(conn: Connection, where: Filter, window: Window) -> Page[BalanceTransaction]:
    """A page of an account's balance transactions, newest first (the connect_reserved legs left out)."""
    conds: list[ColumnElement[bool]] = [
        txns.c.account_id == where.account_id,
        txns.c.livemode == where.livemode,
        txns.c.balance_type != BalanceType.CONNECT_RESERVED.value,
    ]
    for column, value in (
        (txns.c.currency, where.currency),
        (txns.c.type, where.type),
        (txns.c.source, where.source),
        (txns.c.payout, where.payout),
    ):
        if value:
            conds.append(column == value)
    rows: Page[Row[Any]] = page(conn, txns, conds, window)
    return rows.map(record_of)
