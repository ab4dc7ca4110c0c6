"""Set-based settlement: due pending funds become available, a batch of buckets at a time.

`settle_due` locks due buckets (found by the indexed `next_settle_at`) in row-id order — the lock
order of every unit of work — flips their due transactions and moves the sums in the buckets (on
PostgreSQL in one statement; on SQLite the flip sums what it flips, then the sums are moved)
and sets each bucket's next settlement time. Every statement is built once (the bucket query
once per combination of filters a caller uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)

from payoutkit.ledger.postings import BalanceType, TxnStatus
from payoutkit.store.balances import flush_moves
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import balances
from payoutkit.store.shards import Shard, in_shard

# Buckets per batch: as many as one statement binds comfortably. Each batch passes once over what its
# flip reads: on SQLite every table page holding one of its due transactions (a bucket's are spread over
# the table), on PostgreSQL, when the batch's share of the table is large, the whole table. At 1,000,000
# due transactions in 10,000 buckets one batch took a third less time (CPU) than twenty of 500 on both.
SETTLE_BATCH = 10_000
_PENDING, _AVAILABLE = TxnStatus.PENDING.value, TxnStatus.AVAILABLE.value


# The batch's buckets, in the statements that read or write buckets by primary key. On PostgreSQL one
# array parameter (`seq = ANY(:seqs)`): an expanding IN of 10,000 buckets is 10,000 placeholders,
# rendered by SQLAlchemy, split by psycopg and parsed by the server on every statement; SQLite binds
# each value (it has no arrays). Not in the flip: its plan depends on the batch's size (a hash join
# over the whole table for thousands of buckets, the (balance_seq, available_on) index for a few), and
# its text is the same for every size once the list is one parameter, so psycopg would prepare it after
# five runs and PostgreSQL could settle on one generic plan for all sizes.
_SEQ_ARRAY = ARRAY(BigInteger)


def _in_batch(col: ColumnElement[int], array: bool) -> ColumnElement[bool]:
    if array:
        return col == any_(bindparam("seqs", type_=_SEQ_ARRAY))
    return col.in_(bindparam("seqs", expanding=True))


@cache
def _due_buckets(by: tuple[bool, bool, bool, bool], batch: int, lock: bool) -> Select[Any]:
    by_account, by_mode, by_seqs, by_shard = by
    cond = [balances.c.next_settle_at <= bindparam("now"), balances.c.seq > bindparam("after")]
    if by_account:
        cond.append(balances.c.account_id == bindparam("account_id"))
    if by_shard:
        cond.append(in_shard(balances.c.account_id))
    if by_mode:
        cond.append(balances.c.livemode == bindparam("livemode"))
    if by_seqs:
        cond.append(balances.c.seq.in_(bindparam("seqs", expanding=True)))
    stmt = select(balances.c.seq).where(and_(*cond)).order_by(balances.c.seq).limit(batch)
    return stmt.with_for_update() if lock else stmt


_MOVED_ACCOUNTS = {
    pg: select(balances.c.account_id, balances.c.livemode).where(_in_batch(balances.c.seq, pg)).distinct()
    for pg in (False, True)
}


@dataclass(frozen=True)
class Due:
    """Which buckets to settle: all of a mode, one account's, these rows, or a shard's accounts' (each
    None: no filter; a shard only on PostgreSQL, store/shards.py)."""

    account_id: str | None = None
    livemode: bool | None = None
    seqs: tuple[int, ...] | None = None
    shard: Shard | None = None


EVERY = Due()


def settle_due(
    conn: Connection,
    now: int,
    where: Due = EVERY,
    *,
    batch: int = SETTLE_BATCH,
    moved_accounts: set[tuple[str, bool]] | None = None,
) -> int:
    """Make every pending transaction with `available_on <= now` available; return how many.

    Works through due buckets `batch` at a time, in row-id order: per batch one statement locks the
    buckets, one (PostgreSQL) or three (SQLite: sums, flip, moves) flip their due transactions and move
    the sums, and one sets each bucket's next settlement time. Given `moved_accounts`, one more
    statement per batch adds the (account, livemode) of every bucket that moved funds to it.
    """
    flush_moves(conn)
    lock = conn.dialect.name == "postgresql"
    flags = (where.account_id is not None, where.livemode is not None, where.seqs is not None,
             where.shard is not None)  # fmt: skip
    stmt = _due_buckets(flags, batch, lock)
    values: dict[str, Any] = {"now": now, "account_id": where.account_id, "livemode": where.livemode}
    if where.seqs is not None:
        values["seqs"] = list(where.seqs)
    if where.shard is not None:
        values |= where.shard.values()
    moved_total = 0
    after = 0
    while True:
        due = [r.seq for r in conn.execute(stmt, values | {"after": after})]
        if not due:
            return moved_total
        after = due[-1]
        count, moved_seqs = _settle_buckets(conn, due, now)
        moved_total += count
        if moved_accounts is not None and moved_seqs:
            moved_accounts.update(
                (r.account_id, bool(r.livemode))
                for r in conn.execute(_MOVED_ACCOUNTS[lock], {"seqs": moved_seqs})
            )
        if len(due) < batch:
            return moved_total


# A bucket's due transactions, by the index on (balance_seq, available_on): from the bucket's
# `next_settle_at` (no pending transaction of the bucket is available earlier) to now, so the bucket's
# settled past is never read.
_DUE_TXNS = and_(
    _in_batch(balances.c.seq, array=False),
    txns.c.balance_seq == balances.c.seq,
    txns.c.available_on >= balances.c.next_settle_at,
    txns.c.available_on <= bindparam("now"),
    txns.c.status == _PENDING,
)
# PostgreSQL: one statement flips the due transactions, sums them per bucket and moves the sums in the
# buckets (locked by this unit), returning each bucket's sum and count.
_FLIPPED_CTE = (
    update(txns)
    .where(_DUE_TXNS)
    .values(status=_AVAILABLE)
    .returning(txns.c.balance_seq, txns.c.net)
    .cte("moved")
)
_SUMS_CTE = (
    select(_FLIPPED_CTE.c.balance_seq, func.sum(_FLIPPED_CTE.c.net).label("due"), func.count().label("n"))
    .group_by(_FLIPPED_CTE.c.balance_seq)
    .cte("sums")
)
# The batch's own buckets bound the moves' update as well: the planner cannot tell how many rows `sums`
# has (a CTE), and for a movement's few buckets it would otherwise read every bucket of the table.
_MOVED_CTE = (
    update(balances)
    .where(balances.c.seq == _SUMS_CTE.c.balance_seq, _in_batch(balances.c.seq, array=False))
    .values(pending=balances.c.pending - _SUMS_CTE.c.due, available=balances.c.available + _SUMS_CTE.c.due)
    .returning(balances.c.seq)
    .cte("bumped")
)
_FLIP_SUM_AND_MOVE = select(_MOVED_CTE.c.seq, _SUMS_CTE.c.due, _SUMS_CTE.c.n).join_from(
    _MOVED_CTE, _SUMS_CTE, _SUMS_CTE.c.balance_seq == _MOVED_CTE.c.seq
)
# SQLite: the due rows' ids (read from the index alone), then the flip, in row-id order: a bucket's
# transactions are spread over the table, and a pass in bucket order would visit each table page once
# per bucket on it, the page cache long spilled; in row-id order each page is read (and written) once.
# The flip sums what it flips as it goes: its new `status` is a function of this connection's
# (`_SUMMING`, which outside the statement only raises) that adds each flipped row's `net` to its
# bucket's sum in Python and answers 'available'. SQLite computes an UPDATE's SET once per row it
# updates, so the sums are exactly the flipped rows'. Two statements instead (a SUM … GROUP BY of the
# due rows, then the flip) read every due row twice: 1,000,000 due transactions settled in ~6.5-7.5 s
# instead of ~8-9.5 (pairs on one seed, bench/settle.py). An UPDATE … RETURNING of every flipped row,
# summed in Python, cost more still (SQLite buffers the returned rows before the first is fetched).
_due = txns.alias("due")
_DUE_IDS = (
    select(_due.c.seq)
    .select_from(balances.join(_due, _due.c.balance_seq == balances.c.seq))
    .where(
        _in_batch(balances.c.seq, array=False),
        _due.c.available_on >= balances.c.next_settle_at,
        _due.c.available_on <= bindparam("now"),
    )
)
_DUE_NOW = and_(txns.c.seq.in_(_DUE_IDS), txns.c.status == _PENDING)
_SUMMING = "payoutkit_settling"
_FLIP = update(txns).where(_DUE_NOW).values(status=getattr(func, _SUMMING)(txns.c.balance_seq, txns.c.net))
_MOVE_DUE = (
    update(balances)
    .where(balances.c.seq == bindparam("b_seq"))
    .values(
        pending=balances.c.pending - bindparam("b_due"), available=balances.c.available + bindparam("b_due")
    )
)
_NEXT_PENDING = (
    select(func.min(txns.c.available_on))
    .where(
        txns.c.balance_seq == balances.c.seq,
        txns.c.available_on > bindparam("now"),  # none due is left: the flip took them all
        txns.c.status == _PENDING,
    )
    .scalar_subquery()
)
# A concurrent unit may have just added a pending transaction this statement's snapshot cannot see; it
# lowered `next_settle_at` to that transaction's (future) time, so keep any future value that is
# earlier than what this snapshot finds.
_KEEP_FUTURE = and_(
    balances.c.next_settle_at > bindparam("now"),
    or_(_NEXT_PENDING.is_(None), balances.c.next_settle_at < _NEXT_PENDING),
)
_NEXT_SETTLE = {
    pg: update(balances)
    .where(_in_batch(balances.c.seq, pg))
    .values(next_settle_at=case((_KEEP_FUTURE, balances.c.next_settle_at), else_=_NEXT_PENDING))
    for pg in (False, True)
}


def _not_flipping(_bucket: int, _net: int) -> str:
    raise RuntimeError(f"{_SUMMING}() runs only in a settlement's flip")


def _flip_summing(conn: Connection, values: dict[str, Any]) -> tuple[list[tuple[int, int, int]], int]:
    """SQLite: flip the batch's due transactions; returns (bucket, sum of net, how many) per bucket
    that moved, in bucket order, and how many rows the UPDATE reported."""
    sums: dict[int, list[int]] = {}

    def summing(bucket: int, net: int) -> str:
        entry = sums.get(bucket)
        if entry is None:
            sums[bucket] = [net, 1]
        else:
            entry[0] += net
            entry[1] += 1
        return _AVAILABLE

    raw = conn.connection.driver_connection
    assert raw is not None  # a live sqlite3 connection: this unit's
    raw.create_function(_SUMMING, 2, summing)
    try:
        flipped = conn.execute(_FLIP, values).rowcount
    finally:  # sqlite3 cannot unregister a function: replace it, and let go of this batch's sums
        raw.create_function(_SUMMING, 2, _not_flipping)
    return [(bucket, total, n) for bucket, (total, n) in sorted(sums.items())], flipped


def _settle_buckets(conn: Connection, seqs: list[int], now: int) -> tuple[int, list[int]]:
    """Settle these (locked) buckets; returns how many transactions moved and the buckets they were in."""
    values = {"seqs": seqs, "now": now}
    pg = conn.dialect.name == "postgresql"
    sums: list[tuple[int, int, int]]  # bucket, sum of net, how many
    if pg:  # flipped, summed and moved in one statement
        sums = [(int(s), int(total), int(n)) for s, total, n in conn.execute(_FLIP_SUM_AND_MOVE, values)]
    else:
        sums, flipped = _flip_summing(conn, values)
        if flipped != sum(n for _, _, n in sums):  # each row flipped was summed once
            raise AssertionError(f"settlement flipped {flipped} transactions, summed others")
        if sums:
            conn.execute(_MOVE_DUE, [{"b_seq": s, "b_due": total} for s, total, _ in sums])
    conn.execute(_NEXT_SETTLE[pg], values)
    return sum(n for _, _, n in sums), [s for s, _, _ in sums]


_DUE_PAYMENTS = (
    select(balances.c.account_id, balances.c.currency)
    .where(
        balances.c.livemode == bindparam("livemode"),
        balances.c.next_settle_at <= bindparam("now"),
        balances.c.balance_type == BalanceType.PAYMENTS.value,
    )
    .distinct()
)
_DUE_PAYMENTS_OF = _DUE_PAYMENTS.where(balances.c.account_id == bindparam("account_id"))
_DUE_PAYMENTS_IN_SHARD = _DUE_PAYMENTS.where(in_shard(balances.c.account_id))


def due_payments(conn: Connection, now: int, livemode: bool, where: Due = EVERY) -> list[tuple[str, str]]:
    """(account, currency) of every `payments` bucket of a mode with funds due by `now` (of one account,
    or of a shard's accounts, as `where` says; its mode and rows are not looked at)."""
    values: dict[str, Any] = {"now": now, "livemode": livemode, "account_id": where.account_id}
    stmt = _DUE_PAYMENTS
    if where.account_id is not None:
        stmt = _DUE_PAYMENTS_OF
    elif where.shard is not None:
        stmt, values = _DUE_PAYMENTS_IN_SHARD, values | where.shard.values()
    return [(r.account_id, r.currency) for r in conn.execute(stmt, values)]
