"""Finding and locking a unit's buckets in one statement.

`Movement.lock` finds the row ids of the buckets it touches (`bucket_seqs`: from the process's cache,
else a read) and then locks the exact ones (`lock_buckets`). The ids of rows found are cached, so the
find costs nothing on a warm process — except for the buckets that have no row. A payout checks the
total of every source type of its currency, and a bucket of a source type other than `card` gets its
row only when money first lands in it (`bucket_seqs`): most never do, nothing caches an absence (a row
may come at any time), and every payout used to read for them before locking.

`find_and_lock` folds that read into the lock: one statement locks the cached rows by id and those of
the uncached source types by key — `seq IN (…) OR (account, mode, currency, balance type, source type
IN (…))` — in row-id order, the one lock order of every unit. A key without a row reads as an empty
bucket with a provisional id (`is_provisional`), as `bucket_seqs` gives it. Its snapshot is the lock
statement's, taken no earlier than the separate read's was: a row another unit creates and has not
committed is missed either way, and then holds nothing this unit may count.
"""

from __future__ import annotations

import functools
from collections.abc import Collection

from sqlalchemy import Connection, and_, bindparam, or_, select

from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey, SourceType
from payoutkit.store.balances import KEY_COLUMNS, Locked, flush_moves, record_seqs
from payoutkit.store.engines import engine_cache
from payoutkit.store.fast import Query
from payoutkit.store.schema import balances

_BALANCE_TYPES = {t.value: t for t in BalanceType}
_SOURCE_TYPES = {t.value: t for t in SourceType}

# Up to 8 cached rows and the uncached source types (at most all but `card`) of one account's currency.
_MAX_CACHED = 8


@functools.lru_cache(maxsize=64)
def _query(cached: int, types: int, for_update: bool) -> Query:
    """The lock for `cached` row ids (`s0` …) and `types` source types (`t0` …) of one account's currency
    and balance type (`k_account`, `k_livemode`, `k_currency`, `k_balance_type`)."""
    by_key = and_(
        balances.c.account_id == bindparam("k_account"),
        balances.c.livemode == bindparam("k_livemode"),
        balances.c.currency == bindparam("k_currency"),
        balances.c.balance_type == bindparam("k_balance_type"),
        balances.c.source_type.in_([bindparam(f"t{i}") for i in range(types)]),
    )
    where = or_(balances.c.seq.in_([bindparam(f"s{i}") for i in range(cached)]), by_key) if cached else by_key
    stmt = (
        select(balances.c.seq, *KEY_COLUMNS, balances.c.available, balances.c.pending)
        .add_columns(balances.c.next_settle_at)
        .where(where)
        .order_by(balances.c.seq)
    )
    return Query(stmt.with_for_update() if for_update else stmt)


def find_and_lock(
    conn: Connection, keys: Collection[BucketKey], exact: Collection[BucketKey]
) -> tuple[dict[BucketKey, int], Locked] | None:
    """`bucket_seqs(keys)` and `lock_buckets` of `exact` in one statement, when every key the process
    has not cached is an exact one of a source type other than `card`, all of one account's currency and
    balance type (a payout's other source types); else None, and the caller finds and locks apart."""
    cache: dict[BucketKey, int] = engine_cache(conn, "bucket_seqs")
    seqs: dict[BucketKey, int] = {}
    missing: list[BucketKey] = []
    for k in keys:
        seq = cache.get(k)
        if seq is None:
            missing.append(k)
        else:
            seqs[k] = seq
    if not missing:
        return None  # nothing to find: the lock alone
    first = missing[0]
    group = (first.account, first.livemode, first.currency, first.balance_type)
    for k in missing:
        if (
            k.source_type is SourceType.CARD  # a card bucket gets its row on first use: `bucket_seqs`
            or k not in exact
            or (k.account, k.livemode, k.currency, k.balance_type) != group
        ):
            return None
    by_seq = {seqs[k]: k for k in exact if k in seqs}
    if len(by_seq) > _MAX_CACHED:
        return None
    flush_moves(conn)  # a value read under lock must include what this unit already moved
    values: dict[str, object] = {f"s{i}": seq for i, seq in enumerate(sorted(by_seq))}
    values |= {f"t{i}": k.source_type.value for i, k in enumerate(missing)}
    values |= {
        "k_account": first.account,
        "k_livemode": first.livemode,
        "k_currency": first.currency,
        "k_balance_type": first.balance_type.value,
    }
    query = _query(len(by_seq), len(missing), conn.dialect.name == "postgresql")
    locked = Locked()
    found: dict[BucketKey, int] = {}
    for r in query.rows(conn, values):
        key = by_seq.get(r[0])
        if key is None:
            key = BucketKey(r[1], bool(r[2]), r[3], _BALANCE_TYPES[r[4]], _SOURCE_TYPES[r[5]])
            found[key] = r[0]
        locked.buckets[key] = Bucket(key, r[6], r[7])
        locked.next_settle[key] = r[8]
    record_seqs(conn, found)
    seqs |= found
    # No row: it holds nothing (see `bucket_seqs`), with a provisional (negative) id.
    for i, k in enumerate((k for k in missing if k not in found), start=1):
        seqs[k] = -i
        locked.buckets[k] = Bucket(k)
        locked.next_settle[k] = None
    return seqs, locked
