"""Reads of buckets: one account's, many accounts', the funds due and pending by date (the writes and
locks are `store/balances.py`'s; every read first flushes the unit's deferred moves)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)

from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey, SourceType, TxnStatus
from payoutkit.store import clock as clock_row
from payoutkit.store import external_accounts, payouts
from payoutkit.store.among import among
from payoutkit.store.balances import KEY_COLUMNS, Known, flush_moves, key_of, known
from payoutkit.store.fast import Query
from payoutkit.store.schema import accounts, balances, resources
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import clock as clock_table

_BALANCE_TYPES = {t.value: t for t in BalanceType}
_SOURCE_TYPES = {t.value: t for t in SourceType}

_ONE_ACCOUNT = and_(
    balances.c.account_id == bindparam("account_id"), balances.c.livemode == bindparam("livemode")
)
_READ_BUCKETS = select(
    *KEY_COLUMNS, balances.c.available, balances.c.pending, balances.c.next_settle_at
).where(_ONE_ACCOUNT)
# One account's: what the caller knows (account, mode) is not read back.
_READ_BUCKETS_FAST = Query(select(*_READ_BUCKETS.selected_columns[2:]).where(_ONE_ACCOUNT))
_READ_BUCKETS_OF = select(*_READ_BUCKETS.selected_columns).where(among(balances.c.account_id, "ids"))


def read_buckets(conn: Connection, account_id: str, livemode: bool) -> tuple[list[Bucket], int | None]:
    """All buckets of an account (in key order) and the earliest time any of them has funds due."""
    flush_moves(conn)
    rows = _READ_BUCKETS_FAST.rows(conn, {"account_id": account_id, "livemode": livemode})
    due = [r[5] for r in rows if r[5] is not None]
    return _buckets_of(account_id, livemode, rows), (min(due) if due else None)


def _buckets_of(account_id: str, livemode: bool, rows: list[tuple[Any, ...]]) -> list[Bucket]:
    """Rows of (currency, balance type, source type, available, pending) as buckets, in key order."""
    # One account and mode: key order is (currency, balance type, source type), the values' order.
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    mode = bool(livemode)
    return [
        Bucket(BucketKey(account_id, mode, r[0], _BALANCE_TYPES[r[1]], _SOURCE_TYPES[r[2]]), r[3], r[4])
        for r in rows
    ]


# `GET /v1/balance` reads five things: the buckets, the external accounts and the platform's instant
# payout pricing (`instant_available`), the simulated clock, and the account's default currency (the
# currency of an empty Balance). One statement reads them all, each row tagged by its first column:
# columns 2-7 are a bucket's; the second is also the default currency; the fifth is also a
# destination's `seq` and the clock's time; the last a destination's or the pricing's document.
_BUCKET, _DESTINATION, _CLOCK, _PRICING, _ACCOUNT = 0, 1, 2, 3, 4
_NONE = (null(), null(), null())
_FOR_BALANCE = Query(
    union_all(
        # First: the columns' types are the first select's (the document's JSON is decoded).
        select(
            literal_column(str(_DESTINATION)), *_NONE, resources.c.seq, null(), null(), resources.c.data
        ).where(external_accounts.FOR_ACCOUNT_WHERE),
        select(
            literal_column(str(_BUCKET)),
            *_READ_BUCKETS.selected_columns[2:],
            type_coerce(null(), JSON),
        ).where(_ONE_ACCOUNT),
        select(literal_column(str(_CLOCK)), *_NONE, clock_table.c.now, null(), null(), null()).where(
            clock_table.c.id == 1
        ),
        select(literal_column(str(_PRICING)), *_NONE, null(), null(), null(), resources.c.data).where(
            payouts.PRICING_WHERE
        ),
        select(
            literal_column(str(_ACCOUNT)),
            accounts.c.data["default_currency"].as_string(),
            *_NONE[1:],
            null(),
            null(),
            null(),
            null(),
        ).where(accounts.c.id == bindparam("account_id")),
    )
)


@dataclass(frozen=True)
class ForBalance:
    """What `read_for_balance` read of an account: its buckets (in key order), the earliest time any
    of them has funds due, and its default currency (None: no such account)."""

    buckets: list[Bucket]
    due_at: int | None
    default_currency: str | None
    exists: bool


def read_for_balance(conn: Connection, account_id: str, platform_id: str, livemode: bool) -> ForBalance:
    """`read_buckets` and the account's default currency, in a statement that also reads the account's
    external accounts, its platform's instant payout pricing and the simulated clock: kept for the
    unit's `external_accounts.instant_capable`, `payouts.pricing` and `clock.read` (their `prime`s)."""
    flush_moves(conn)
    values = {"account_id": account_id, "platform_id": platform_id, "livemode": livemode}
    found = _sorted_out(conn, _FOR_BALANCE.rows(conn, values), platform_id, livemode, one=account_id)
    return found.get(account_id) or ForBalance(_buckets_of(account_id, livemode, []), None, None, False)


def _sorted_out(
    conn: Connection, rows: list[tuple[Any, ...]], platform_id: str, livemode: bool, one: str | None = None
) -> dict[str, ForBalance]:
    """The rows of `_FOR_BALANCE` (`one`: the account they are all of) or of `_FOR_BALANCES` (each
    names its account in its second column) as a `ForBalance` per account that exists; the external
    accounts, the pricing and the clock they hold are kept for the unit (their `prime`s)."""
    o = 0 if one is not None else 1  # where a row's columns begin after its tag (and its account)
    buckets: dict[str, list[tuple[Any, ...]]] = {}
    due: dict[str, list[int]] = {}
    destinations: dict[str, list[tuple[int, Any]]] = {}
    currencies: dict[str, Any] = {}
    pricing = None
    for r in rows:
        kind, account = r[0], (one if one is not None else r[1])
        if kind == _BUCKET:
            buckets.setdefault(account, []).append(r[1 + o : 6 + o])
            if r[6 + o] is not None:
                due.setdefault(account, []).append(r[6 + o])
        elif kind == _DESTINATION:
            destinations.setdefault(account, []).append((r[4 + o], r[7 + o]))
        elif kind == _CLOCK:
            clock_row.prime(conn, r[4 + o])
        elif kind == _ACCOUNT:
            currencies[account] = r[1 + o]
        else:
            pricing = r[7 + o]
    payouts.prime_pricing(conn, platform_id, livemode, pricing)
    found = {}
    for account_id, currency in currencies.items():
        docs = sorted(destinations.get(account_id, ()), key=lambda d: d[0], reverse=True)  # newest first
        external_accounts.prime_instant_capable(conn, account_id, livemode, (d for _, d in docs))
        dues = due.get(account_id)
        found[account_id] = ForBalance(
            _buckets_of(account_id, livemode, buckets.get(account_id, [])),
            min(dues) if dues else None,
            currency,
            True,
        )
    return found


# `read_for_balance` for many accounts of one platform and mode: the same five things, every row with
# its account (the second column; None for the clock and the pricing) before `_FOR_BALANCE`'s columns.
_MANY_ACCOUNTS = and_(among(balances.c.account_id, "ids"), balances.c.livemode == bindparam("livemode"))
_FOR_BALANCES = Query(
    union_all(
        select(
            literal_column(str(_DESTINATION)),
            resources.c.parent_id,
            *_NONE,
            resources.c.seq,
            null(),
            null(),
            resources.c.data,
        ).where(
            among(resources.c.parent_id, "ids"),
            external_accounts.IS_EXTERNAL_ACCOUNT,
            resources.c.livemode == bindparam("livemode"),
        ),
        select(
            literal_column(str(_BUCKET)),
            balances.c.account_id,
            *_READ_BUCKETS.selected_columns[2:],
            type_coerce(null(), JSON),
        ).where(_MANY_ACCOUNTS),
        select(literal_column(str(_CLOCK)), null(), *_NONE, clock_table.c.now, null(), null(), null()).where(
            clock_table.c.id == 1
        ),
        select(literal_column(str(_PRICING)), null(), *_NONE, null(), null(), null(), resources.c.data).where(
            payouts.PRICING_WHERE
        ),
        select(
            literal_column(str(_ACCOUNT)),
            accounts.c.id,
            accounts.c.data["default_currency"].as_string(),
            *_NONE[1:],
            null(),
            null(),
            null(),
            null(),
        ).where(among(accounts.c.id, "ids")),
    )
)


def read_for_balances(
    conn: Connection, account_ids: Iterable[str], platform_id: str, livemode: bool
) -> dict[str, ForBalance]:
    """`read_for_balance` of each of `account_ids` (of one platform and mode) in one statement, by
    account (an account that does not exist is not there); the external accounts, the pricing and
    the clock it reads are kept for the unit as `read_for_balance` keeps them."""
    flush_moves(conn)
    values = {"ids": sorted(set(account_ids)), "platform_id": platform_id, "livemode": livemode}
    return _sorted_out(conn, _FOR_BALANCES.rows(conn, values), platform_id, livemode)


_DUE_PENDING = (
    select(*KEY_COLUMNS, func.sum(txns.c.net).label("due"))
    .select_from(balances.join(txns, txns.c.balance_seq == balances.c.seq))
    .where(
        balances.c.account_id == bindparam("account_id"),
        balances.c.livemode == bindparam("livemode"),
        balances.c.next_settle_at <= bindparam("now"),
        txns.c.available_on >= balances.c.next_settle_at,  # no pending transaction is due earlier
        txns.c.available_on <= bindparam("now"),
        txns.c.status == TxnStatus.PENDING.value,
    )
    .group_by(balances.c.seq, *KEY_COLUMNS)
)


def due_pending(conn: Connection, account_id: str, livemode: bool, now: int) -> dict[BucketKey, int]:
    """Per bucket of the account, the pending funds that settlement would make available by `now`
    (read without settling: the buckets due are found by `next_settle_at`, their due transactions by
    the settlement index)."""
    values = {"account_id": account_id, "livemode": livemode, "now": now}
    return {key_of(r): int(r.due) for r in conn.execute(_DUE_PENDING, values)}


def read_buckets_of(
    conn: Connection, accounts: Iterable[tuple[str, bool]]
) -> dict[tuple[str, bool], list[Bucket]]:
    """The buckets (in key order) of each (account, livemode), read in one statement."""
    wanted = set(accounts)
    if not wanted:
        return {}
    flush_moves(conn)
    ids = sorted({account for account, _ in wanted})
    rows = conn.execute(_READ_BUCKETS_OF, {"ids": ids}).all()
    found: dict[tuple[str, bool], list[Bucket]] = {key: [] for key in wanted}
    for r in rows:
        key = (r.account_id, bool(r.livemode))
        if key in found:
            found[key].append(Bucket(key_of(r), r.available, r.pending))
    return {key: sorted(buckets, key=lambda b: b.key) for key, buckets in found.items()}


_PENDING_BY_DATE = (
    select(balances.c.currency, txns.c.available_on, func.sum(txns.c.net).label("amount"))
    .select_from(balances.join(txns, txns.c.balance_seq == balances.c.seq))
    .where(
        balances.c.account_id == bindparam("account_id"),
        balances.c.livemode == bindparam("livemode"),
        balances.c.balance_type == BalanceType.PAYMENTS.value,
        txns.c.status == TxnStatus.PENDING.value,
        txns.c.available_on > bindparam("now"),
    )
    .group_by(balances.c.currency, txns.c.available_on)
    .order_by(balances.c.currency, txns.c.available_on)
)


def pending_by_date(
    conn: Connection, account_id: str, livemode: bool, now: int
) -> dict[str, list[tuple[int, int]]]:
    """Per currency, the account's pending `payments` funds not yet due by `now`, summed by the time
    they become available: `[(available_on, amount), ...]` in time order (read through the settlement
    index, bucket by bucket; what is due by `now` shows as available and is left out)."""
    out: dict[str, list[tuple[int, int]]] = {}
    values = {"account_id": account_id, "livemode": livemode, "now": now}
    for r in conn.execute(_PENDING_BY_DATE, values):
        if r.amount:
            out.setdefault(r.currency, []).append((int(r.available_on), int(r.amount)))
    return out


_READ_BUCKETS_MANY = select(balances.c.seq, *_READ_BUCKETS.selected_columns).where(
    among(balances.c.account_id, "ids"), balances.c.livemode == bindparam("livemode")
)


def read_buckets_many(
    conn: Connection, account_ids: Iterable[str], livemode: bool
) -> tuple[dict[str, tuple[list[Bucket], int | None]], Known | None]:
    """`read_buckets` of many accounts of one mode in one statement: each one's buckets (in key order)
    and the earliest time any of them has funds due (accounts without buckets are left out); and, on
    SQLite, what was read as a `Known` (a movement of these accounts then does not read them again)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}, None
    flush_moves(conn)
    out: dict[str, tuple[list[Bucket], int | None]] = {}
    rows: list[tuple[int, Bucket, int | None]] = []
    keep = rows.append if conn.dialect.name == "sqlite" else None  # a `Known` is SQLite's only
    mode = bool(livemode)
    for seq, account, _, currency, balance_type, source_type, available, pending, settles in conn.execute(
        _READ_BUCKETS_MANY, {"ids": ids, "livemode": livemode}
    ):
        key = BucketKey(account, mode, currency, _BALANCE_TYPES[balance_type], _SOURCE_TYPES[source_type])
        bucket = Bucket(key, available, pending)
        if keep is not None:
            keep((seq, bucket, settles))
        found = out.get(account)
        if found is None:
            out[account] = ([bucket], settles)
            continue
        found[0].append(bucket)
        if settles is not None and (found[1] is None or settles < found[1]):
            out[account] = (found[0], settles)
    for buckets, _ in out.values():
        if len(buckets) > 1:
            buckets.sort(key=lambda b: b.key)
    # Every bucket of these accounts in this mode was read: one without a row has none.
    return out, known(conn, mode, rows, ids)
