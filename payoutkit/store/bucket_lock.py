"""Finding and locking a unit's buckets, and reading its liable account's reserve, in one statement.

`Movement.lock` finds the row ids of the buckets it touches (`bucket_seqs`: from the process's cache,
else a read) and then locks the exact ones (`lock_buckets`). The ids of rows found are cached, so the
find costs nothing on a warm process — except for the buckets that have no row. A payout checks the
total of every source type of its currency, and a bucket of a source type other than `card` gets its
row only when money first lands in it (`bucket_seqs`): most never do, nothing caches an absence (a row
may come at any time), and every payout used to read for them before locking. A unit that moves a
liable account's funds then read the account's reserve (`store/reserves.py`), after the lock.

`lock_movement` folds both reads into the lock (any other key not cached yet is found first, as
`bucket_seqs` finds it): one statement locks the cached rows by id and those of the uncached source
types by key — `seq IN (…) OR (account, mode, currency, balance type, source type
IN (…))` — in row-id order, the one lock order of every unit; a key without a row reads as an empty
bucket with a provisional id (`is_provisional`), as `bucket_seqs` gives it. Its snapshot is the lock
statement's, taken no earlier than the separate read's was: a row another unit creates and has not
committed is missed either way, and then holds nothing this unit may count.

The reserve's row is read after the buckets (a `UNION ALL` of two CTEs, run in order), locked too on
PostgreSQL: a unit that changes a reserve holds its account's bucket locks, so once this statement has
them the reserve can no longer move, and a row read `FOR UPDATE` is read as last committed, even when
the statement's snapshot is older (it waited for a bucket's lock). A row created after that snapshot is
not seen at all: so "no row" is not an answer here, and the unit reads the reserve apart, as before
(`Movement.read_reserves`). Every liable account gets its row, at 0, the first time a unit of its own
(not a batch of automatic payouts, which reads its accounts' reserves in one statement) syncs its
reserve (`Movement.sync_reserves`), so that is once per account and currency.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, null, or_, select, union_all

from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey, SourceType
from payoutkit.store.balances import (
    KEY_COLUMNS,
    Locked,
    bucket_seqs,
    flush_moves,
    is_provisional,
    record_seqs,
)
from payoutkit.store.engines import engine_cache
from payoutkit.store.fast import Query
from payoutkit.store.schema import balances
from payoutkit.store.schema import connect_reserves as reserves

_BALANCE_TYPES = {t.value: t for t in BalanceType}
_SOURCE_TYPES = {t.value: t for t in SourceType}

# Up to 8 cached rows and the uncached source types (at most all but `card`) of one account's currency.
_MAX_CACHED = 8


@functools.lru_cache(maxsize=128)
def _query(cached: int, types: int, reserve: bool, for_update: bool) -> Query:
    """The lock of `cached` row ids (`s0` …) and of `types` source types (`t0` …) of one account's
    currency and balance type (`k_account`, `k_livemode`, `k_currency`, `k_balance_type`); with the
    `reserve` of (`r_account`, `r_livemode`, `r_currency`) after them, in a row whose `seq` is NULL and
    whose `available` is the amount."""
    by_seq = balances.c.seq.in_([bindparam(f"s{i}") for i in range(cached)])
    by_key = and_(
        balances.c.account_id == bindparam("k_account"),
        balances.c.livemode == bindparam("k_livemode"),
        balances.c.currency == bindparam("k_currency"),
        balances.c.balance_type == bindparam("k_balance_type"),
        balances.c.source_type.in_([bindparam(f"t{i}") for i in range(types)]),
    )
    where = or_(by_seq, by_key) if cached and types else (by_seq if cached else by_key)
    stmt = (
        select(balances.c.seq, *KEY_COLUMNS, balances.c.available, balances.c.pending)
        .add_columns(balances.c.next_settle_at)
        .where(where)
        .order_by(balances.c.seq)
    )
    if for_update:
        stmt = stmt.with_for_update()
    if not reserve:
        return Query(stmt)
    held = select(reserves.c.amount).where(
        reserves.c.account_id == bindparam("r_account"),
        reserves.c.livemode == bindparam("r_livemode"),
        reserves.c.currency == bindparam("r_currency"),
    )
    if for_update:
        held = held.with_for_update()
    locked, reserve_row = stmt.cte("locked"), held.cte("reserve_row")
    nulls = [null()] * 5
    return Query(
        union_all(
            select(locked),
            select(null(), *nulls, reserve_row.c.amount, null(), null()),
        )
    )


@dataclass(frozen=True)
class Locking:
    """What `lock_movement` found and locked: the row ids (provisional for a bucket without a row), the
    locked buckets, and the reserve (None: not read, or no row seen: read it apart)."""

    seqs: dict[BucketKey, int]
    locked: Locked
    reserved: int | None


def _by_key(missing: list[BucketKey], exact: Collection[BucketKey]) -> list[BucketKey]:
    """Of the keys the process has not cached, those the lock finds by key: exact ones of a source type
    other than `card` (a card bucket gets its row on first use: `bucket_seqs`), of the first such
    key's account, currency and balance type."""
    found: list[BucketKey] = []
    group: tuple[str, bool, str, BalanceType] | None = None
    for k in missing:
        if k.source_type is SourceType.CARD or k not in exact:
            continue
        mine = (k.account, k.livemode, k.currency, k.balance_type)
        group = group or mine
        if mine == group:
            found.append(k)
    return found


def _params(
    by_seq: dict[int, BucketKey], by_key: list[BucketKey], reserve: tuple[str, bool, str] | None
) -> dict[str, object]:
    values: dict[str, object] = {f"s{i}": seq for i, seq in enumerate(sorted(by_seq))}
    if by_key:
        first = by_key[0]
        values |= {f"t{i}": k.source_type.value for i, k in enumerate(by_key)}
        values |= {
            "k_account": first.account,
            "k_livemode": first.livemode,
            "k_currency": first.currency,
            "k_balance_type": first.balance_type.value,
        }
    if reserve is not None:
        values |= {"r_account": reserve[0], "r_livemode": reserve[1], "r_currency": reserve[2]}
    return values


def _to_lock(
    seqs: dict[BucketKey, int], exact: Collection[BucketKey], locked: Locked
) -> dict[int, BucketKey]:
    """The exact buckets to lock by row id; one with a provisional id is put in `locked` empty."""
    by_seq: dict[int, BucketKey] = {}
    for k in exact:
        seq = seqs.get(k)
        if seq is None:
            continue  # found by key
        if is_provisional(seq):  # no row: it holds nothing (see `bucket_seqs`)
            locked.buckets[k] = Bucket(k)
            locked.next_settle[k] = None
        else:
            by_seq[seq] = k
    return by_seq


def lock_movement(
    conn: Connection,
    keys: Collection[BucketKey],
    exact: Collection[BucketKey],
    reserve: tuple[str, bool, str] | None = None,
) -> Locking | None:
    """`bucket_seqs(keys)` and `lock_buckets(exact)`, with the `reserve` of (account, livemode, currency)
    if given, the uncached exact buckets of other source types of one account's currency (a payout's)
    found by key in the lock statement; the other uncached keys are found first (`bucket_seqs`). None
    when there is nothing to fold into the lock (no such bucket and no reserve), or more than 8 rows
    to lock by id: the caller then finds and locks apart."""
    cache: dict[BucketKey, int] = engine_cache(conn, "bucket_seqs")
    seqs = {k: cache[k] for k in keys if k in cache}
    missing = [k for k in keys if k not in seqs]
    by_key = _by_key(missing, exact)
    if not (by_key or reserve) or sum(1 for k in exact if k not in by_key) > _MAX_CACHED:
        return None
    if len(by_key) < len(missing):
        seqs |= bucket_seqs(conn, [k for k in missing if k not in by_key])
    locked = Locked()
    by_seq = _to_lock(seqs, exact, locked)
    if not (by_key or by_seq):
        return Locking(seqs, locked, None)  # nothing to lock: the reserve is read apart
    flush_moves(conn)  # a value read under lock must include what this unit already moved
    query = _query(len(by_seq), len(by_key), reserve is not None, conn.dialect.name == "postgresql")
    found: dict[BucketKey, int] = {}
    reserved: int | None = None
    for r in query.rows(conn, _params(by_seq, by_key, reserve)):
        if r[0] is None:  # the reserve's row
            reserved = int(r[6])
            continue
        key = by_seq.get(r[0])
        if key is None:
            key = BucketKey(r[1], bool(r[2]), r[3], _BALANCE_TYPES[r[4]], _SOURCE_TYPES[r[5]])
            found[key] = r[0]
        locked.buckets[key] = Bucket(key, r[6], r[7])
        locked.next_settle[key] = r[8]
    record_seqs(conn, found)
    seqs |= found
    # No row: it holds nothing, with a provisional (negative) id unlike any `bucket_seqs` gave.
    first_free = min([0, *seqs.values()]) - 1
    for i, k in enumerate(k for k in by_key if k not in found):
        seqs[k] = first_free - i
        locked.buckets[k] = Bucket(k)
        locked.next_settle[k] = None
    return Locking(seqs, locked, reserved)
