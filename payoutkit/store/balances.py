"""The one write path that moves money.

A unit of work finds the row ids of every bucket it touches (`bucket_seqs`), locks with
`lock_buckets` the ones whose exact value it must know — a bucket it checks funds in, a liable
account's — in one fixed order (row id), decides in pure code, and calls `write_entries`, which refuses
unbalanced entries, appends the balance transactions and moves every bucket by a relative update, all
in the caller's transaction. A bucket only credited or debited without a check (the system accounts, a
charge's platform bucket) is thus locked only from its update to the commit. A bucket of a source type
other than `card` gets its row only when money first lands in it (`bucket_seqs`): one without a row
holds nothing, and reads as empty everywhere.

Settlement (`settle_due`, the set-based step that makes due pending funds available) is in
store/settlement.py. The reads here take no lock: an account's buckets, and what of them is due.

On PostgreSQL a unit that still meets a deadlock or a serialization failure is run again whole by
`Database.transaction`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from payoutkit.ids import new_id
from payoutkit.ledger.postings import (
    BalanceType,
    Bucket,
    BucketKey,
    Entry,
    SourceType,
    TxnStatus,
    apply,
    check_balanced,
)
from payoutkit.store.among import among
from payoutkit.store.engines import engine_cache
from payoutkit.store.fast import Query, Write
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import balances
from payoutkit.store.units import BEFORE_COMMIT, DEFERRED_MOVES, after_commit

KEY_COLUMNS = (
    balances.c.account_id,
    balances.c.livemode,
    balances.c.currency,
    balances.c.balance_type,
    balances.c.source_type,
)


# The enums by their stored values: a dict lookup, where calling the enum costs ten times as much.
_BALANCE_TYPES = {t.value: t for t in BalanceType}
_SOURCE_TYPES = {t.value: t for t in SourceType}


def key_of(row: object) -> BucketKey:
    """The bucket key of a row of `balances` (or of a select with its key columns)."""
    return BucketKey(
        row.account_id,  # type: ignore[attr-defined]
        bool(row.livemode),  # type: ignore[attr-defined]
        row.currency,  # type: ignore[attr-defined]
        _BALANCE_TYPES[row.balance_type],  # type: ignore[attr-defined]
        _SOURCE_TYPES[row.source_type],  # type: ignore[attr-defined]
    )


@dataclass
class Locked:
    """Buckets locked for this unit of work: their values and next settlement time."""

    buckets: dict[BucketKey, Bucket] = field(default_factory=dict)
    next_settle: dict[BucketKey, int | None] = field(default_factory=dict)

    def get(self, key: BucketKey) -> Bucket:
        """The locked value of a bucket; asking for one not locked is a bug (its value is unknown)."""
        try:
            return self.buckets[key]
        except KeyError:
            raise KeyError(f"bucket {key} was not locked by this unit of work") from None


# Create bucket rows when money first lands in them; a row another unit created meanwhile is left as it is.
_CREATE_BUCKETS = {
    "postgresql": pg_insert(balances).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(balances).on_conflict_do_nothing(),
}


def _insert_ignoring_conflicts(conn: Connection, values: list[dict[str, Any]]) -> None:
    if values:
        _moved(conn)
        conn.execute(_CREATE_BUCKETS[conn.dialect.name], values)


# Connection.info key: how many times this connection has (possibly) moved or created bucket rows. A
# `Known` read holds while it is unchanged. Every statement that writes `balances` comes after a
# `flush_moves` (the settlement's too), an `append_entries` or a bucket row's creation, which count.
_MOVES = "payoutkit_bucket_moves"


def _moved(conn: Connection) -> None:
    conn.info[_MOVES] = conn.info.get(_MOVES, 0) + 1


@dataclass(frozen=True)
class Known:
    """Every bucket (of one mode) of some accounts as a unit of work read them, with their row ids,
    on SQLite, where a unit holds the database's write lock from its `BEGIN IMMEDIATE` to its commit:
    as long as the unit itself has moved no bucket since (`holds`), these are the values a lock would
    read, and a key of these accounts without a row has none (`Movement.lock` then neither finds nor
    locks them again). Never made on PostgreSQL, where only a lock says what another unit has not
    moved."""

    accounts: frozenset[str]
    livemode: bool
    seqs: dict[BucketKey, int]
    locked: Locked
    moves: int

    def holds(self, conn: Connection) -> bool:
        moves: int = conn.info.get(_MOVES, 0)
        return moves == self.moves


def known(
    conn: Connection,
    livemode: bool,
    rows: Iterable[tuple[int, Bucket, int | None]],
    accounts: Iterable[str],
) -> Known | None:
    """A `Known` of these rows (row id, bucket, next settlement time): every bucket of `accounts` in
    this mode, just read in this unit of work (after its deferred moves); None on PostgreSQL."""
    if conn.dialect.name != "sqlite":
        return None
    seqs: dict[BucketKey, int] = {}
    locked = Locked()
    for seq, bucket, settles in rows:
        key = bucket.key
        seqs[key] = seq
        locked.buckets[key] = bucket
        locked.next_settle[key] = settles
    return Known(frozenset(accounts), livemode, seqs, locked, conn.info.get(_MOVES, 0))


def _rows(keys: Iterable[BucketKey]) -> list[dict[str, Any]]:
    """New bucket rows for these keys, in key order (the order concurrent creators take their locks)."""
    return [
        {"account_id": k.account, "livemode": k.livemode, "currency": k.currency,
         "balance_type": k.balance_type.value, "source_type": k.source_type.value}
        for k in sorted(set(keys))
    ]  # fmt: skip


def _find_query(accounts: ColumnElement[bool]) -> Select[Any]:
    return select(balances.c.seq, *KEY_COLUMNS).where(
        accounts,
        balances.c.livemode == bindparam("livemode"),
        balances.c.currency == bindparam("currency"),
    )


_FIND_BUCKETS = _find_query(among(balances.c.account_id, "accounts"))
# A payout asks for the rows of its other source types' buckets (most never get one) on every call: on
# the driver for up to 4 accounts (`a0` …; a `Query` takes no list parameter).
_FIND_FAST = {
    n: Query(_find_query(balances.c.account_id.in_([bindparam(f"a{i}") for i in range(n)])))
    for n in range(1, 5)
}


def _find(conn: Connection, keys: Collection[BucketKey]) -> dict[BucketKey, int]:
    """The row ids of those of `keys` that have a row (one statement per mode and currency)."""
    wanted = set(keys)
    found: dict[BucketKey, int] = {}
    for livemode, currency in sorted({(k.livemode, k.currency) for k in wanted}):
        accounts = sorted({k.account for k in wanted if k.livemode == livemode and k.currency == currency})
        values: dict[str, Any] = {"livemode": livemode, "currency": currency}
        fast = _FIND_FAST.get(len(accounts))
        rows: Iterable[Any] = (
            fast.rows(conn, values | {f"a{i}": a for i, a in enumerate(accounts)})
            if fast is not None
            else conn.execute(_FIND_BUCKETS, values | {"accounts": accounts})
        )
        for seq, account, live, cur, balance, source in rows:
            key = BucketKey(account, bool(live), cur, _BALANCE_TYPES[balance], _SOURCE_TYPES[source])
            if key in wanted:
                found[key] = seq
    return found


def is_provisional(seq: int) -> bool:
    """Whether a row id from `bucket_seqs` stands for a bucket without a row (it holds nothing yet)."""
    return seq < 0


def bucket_seqs(conn: Connection, keys: Iterable[BucketKey]) -> dict[BucketKey, int]:
    """The row ids of the buckets for `keys` (without locking any).

    A `card` bucket (every account's usual one) is given its row here, on first use. A bucket of
    another source type (`bank_account`, `fpx`) is given its row only when money first lands in it
    (`append_entries`): every payout reads its currency's buckets of all source types to check their
    total, and most of them stay empty forever. Until then it holds nothing, and gets a *provisional*
    row id here, negative (`is_provisional`), which `lock_buckets` reads as an empty bucket and
    `append_entries` replaces by the row it creates.

    A bucket's row id never changes and rows are never deleted, so ids are cached per database once
    the transaction that saw them has committed.
    """
    cache: dict[BucketKey, int] = engine_cache(conn, "bucket_seqs")
    seqs: dict[BucketKey, int] = {}
    missing: list[BucketKey] = []
    for key in keys:
        seq = cache.get(key)
        if seq is None:
            missing.append(key)
        else:
            seqs[key] = seq
    if not missing:
        return seqs
    found = _find(conn, missing)
    new = [k for k in missing if k not in found and k.source_type is SourceType.CARD]
    if new:  # read first: nearly every bucket asked for has its row, only not yet in this process's cache
        _insert_ignoring_conflicts(conn, _rows(new))
        found |= _find(conn, new)
    record_seqs(conn, found)
    provisional = (k for k in missing if k not in found)
    return seqs | found | {k: -i for i, k in enumerate(provisional, start=1)}


def create_buckets(conn: Connection, keys: Collection[BucketKey]) -> dict[BucketKey, int]:
    """Give these buckets their rows (in key order; an existing row is left as it is) and return the
    row ids of all of them."""
    if not keys:
        return {}
    _insert_ignoring_conflicts(conn, _rows(keys))
    found = _find(conn, keys)
    record_seqs(conn, found)
    return found


def record_seqs(conn: Connection, found: Mapping[BucketKey, int]) -> None:
    """Cache these buckets' row ids for the process once this unit has committed (`bucket_seqs`)."""
    if found:
        cache: dict[BucketKey, int] = engine_cache(conn, "bucket_seqs")
        after_commit(conn, lambda: cache.update(found))


def _land(conn: Connection, seqs: dict[BucketKey, int], keys: Iterable[BucketKey]) -> None:
    """Replace, in `seqs`, the provisional row ids of these buckets by rows created now: money lands in
    them. Concurrent units creating the same row both use the one that wins (its move is relative)."""
    new = {k for k in keys if is_provisional(seqs[k])}
    if new:
        seqs.update(create_buckets(conn, new))


_LOCK = select(balances).where(among(balances.c.seq, "seqs")).order_by(balances.c.seq)
_LOCK_FOR_UPDATE = _LOCK.with_for_update()


def _lock_query(n: int, *, for_update: bool) -> Query:
    """`_LOCK` for exactly `n` row ids (`s0` … `sN-1`): a `Query` takes no expanding parameter."""
    stmt = (
        select(balances.c.seq, *KEY_COLUMNS, balances.c.available, balances.c.pending)
        .add_columns(balances.c.next_settle_at)
        .where(balances.c.seq.in_([bindparam(f"s{i}") for i in range(n)]))
        .order_by(balances.c.seq)
    )
    return Query(stmt.with_for_update() if for_update else stmt)


# A payout locks 3 to 5 buckets, a transfer or refund a few more; larger sets go through Core.
_LOCK_FAST = {(n, fu): _lock_query(n, for_update=fu) for n in range(1, 9) for fu in (False, True)}


def lock_buckets(conn: Connection, seqs: Mapping[BucketKey, int]) -> Locked:
    """Lock these bucket rows (by row id: the one lock order of every unit of work) and read them."""
    flush_moves(conn)  # a value read under lock must include what this unit already moved
    locked = Locked()
    keys: dict[int, BucketKey] = {}
    for key, seq in seqs.items():
        if is_provisional(seq):  # no row: it holds nothing (see `bucket_seqs`)
            locked.buckets[key] = Bucket(key)
            locked.next_settle[key] = None
        else:
            keys[seq] = key
    if not keys:
        return locked
    for_update = conn.dialect.name == "postgresql"
    ordered = sorted(keys)
    fast = _LOCK_FAST.get((len(ordered), for_update))
    if fast is None:  # more than 8 buckets (a batch of automatic payouts): through Core
        stmt = _LOCK_FOR_UPDATE if for_update else _LOCK
        for row in conn.execute(stmt, {"seqs": ordered}):
            key = keys[row.seq]
            locked.buckets[key] = Bucket(key, row.available, row.pending)
            locked.next_settle[key] = row.next_settle_at
        return locked
    for r in fast.rows(conn, {f"s{i}": seq for i, seq in enumerate(ordered)}):
        key = keys[r[0]]
        locked.buckets[key] = Bucket(key, r[6], r[7])
        locked.next_settle[key] = r[8]
    return locked


def lock_known(
    conn: Connection, keys: Collection[BucketKey], exact: Collection[BucketKey], known: Known
) -> tuple[dict[BucketKey, int], Locked] | None:
    """`bucket_seqs` of `keys` and `lock_buckets` of `exact` (SQLite), taking what `known` holds of its
    accounts' buckets instead of reading them again; None if it no longer holds or does not cover
    every exact key's account."""
    if not known.holds(conn):
        return None
    mine = known.accounts
    mode = known.livemode
    if any(k.account not in mine or k.livemode != mode for k in exact):
        return None
    got = known.seqs
    others = [k for k in keys if k not in got and (k.account not in mine or k.livemode != mode)]
    absent = [k for k in keys if k not in got and k.account in mine and k.livemode == mode]
    # Another source type's bucket without a row stays without one (`bucket_seqs`); a card one gets it.
    others += [k for k in absent if k.source_type is SourceType.CARD]
    seqs = bucket_seqs(conn, others) if others else {}
    provisional = [k for k in absent if k.source_type is not SourceType.CARD]
    first = min(min(seqs.values(), default=0), 0) - 1
    seqs.update((k, first - i) for i, k in enumerate(provisional))
    seqs.update((k, got[k]) for k in keys if k in got)
    locked = Locked()
    buckets, settles = known.locked.buckets, known.locked.next_settle
    unread: dict[BucketKey, int] = {}
    for k in exact:
        if k in buckets:
            locked.buckets[k] = buckets[k]
            locked.next_settle[k] = settles[k]
        elif is_provisional(seqs[k]):  # no row: it holds nothing
            locked.buckets[k] = Bucket(k)
            locked.next_settle[k] = None
        else:
            unread[k] = seqs[k]  # a card row made just now (`bucket_seqs`): read it
    if unread:
        more = lock_buckets(conn, unread)
        locked.buckets.update(more.buckets)
        locked.next_settle.update(more.next_settle)
    return seqs, locked


_APPEND_TXN = Write(insert(txns), deferred=True)
# One statement moves any bucket: `b_next` is the earliest pending time the unit added, or NULL (a
# comparison with NULL is never true, so NULL leaves `next_settle_at` as it is).
_MOVE = (
    update(balances)
    .where(balances.c.seq == bindparam("b_seq", type_=BigInteger))
    .values(
        available=balances.c.available + bindparam("b_available", type_=BigInteger),
        pending=balances.c.pending + bindparam("b_pending", type_=BigInteger),
        next_settle_at=case(
            (
                or_(
                    balances.c.next_settle_at.is_(None),
                    balances.c.next_settle_at > bindparam("b_next", type_=BigInteger),
                ),
                func.coalesce(bindparam("b_next", type_=BigInteger), balances.c.next_settle_at),
            ),
            else_=balances.c.next_settle_at,
        ),
    )
)
# On PostgreSQL, several buckets in one statement over arrays that locks them in row-id order first (the
# order in which every unit takes the locks it does not hold yet; those it holds cost nothing): one
# statement, which store/merged.py merges with the unit's other kept writes.
_MOVE_BUCKETS = Write(_MOVE, by={"b_seq": balances.c.seq}, deferred=True, ordered=True)


def flush_moves(conn: Connection) -> None:
    """Apply the bucket moves this unit has deferred, in row-id order, in one statement (on PostgreSQL
    from two buckets one statement over arrays that locks them in row-id order first: the order in
    which every unit takes the locks it does not hold yet). Called before every statement that reads
    bucket values or writes them (settlement's too): it counts as a move (see `Known`)."""
    _moved(conn)
    moves: dict[int, list[int | None]] | None = conn.info.pop(DEFERRED_MOVES, None)
    if not moves:
        return
    in_order = sorted(moves.items())
    rows = [{"b_seq": seq, "b_available": m[0], "b_pending": m[1], "b_next": m[2]} for seq, m in in_order]
    _MOVE_BUCKETS.run(conn, rows)


def _defer_moves(conn: Connection, entries: Sequence[Entry], seqs: Mapping[BucketKey, int]) -> None:
    """Add these entries' bucket moves to the unit's; they run as its last statement.

    A busy bucket that is only credited (a platform's, the system accounts') is then locked from that
    statement to the commit, not for the whole unit.
    """
    _moved(conn)
    moves = conn.info.get(DEFERRED_MOVES)
    if moves is None:
        moves = conn.info[DEFERRED_MOVES] = {}
        conn.info.setdefault(BEFORE_COMMIT, []).append(lambda: flush_moves(conn))
    for e in entries:
        move = moves.setdefault(seqs[e.key], [0, 0, None])
        if e.status is TxnStatus.PENDING:
            move[1] += e.net
            move[2] = e.available_on if move[2] is None else min(move[2], e.available_on)
        else:
            move[0] += e.net


@dataclass(frozen=True)
class Written:
    entry: Entry
    id: str


def write_entries(
    conn: Connection, locked: Locked, seqs: dict[BucketKey, int], entries: Sequence[Entry]
) -> list[Written]:
    """Append `entries` as balance transactions and move their buckets by relative updates.

    `post` refuses unbalanced entries and gives the new values of the buckets this unit locked (the
    ones whose exact value it checks); every other bucket is moved by `available + d` so that a busy
    row is locked only from that update to the commit.
    """
    written = stage_entries(locked, seqs, entries)
    append_entries(conn, seqs, written)
    return written


def stage_entries(locked: Locked, seqs: Mapping[BucketKey, int], entries: Sequence[Entry]) -> list[Written]:
    """`write_entries` without the writing: refuse unbalanced entries, give them their ids and move
    the locked buckets' values in memory. `append_entries` writes them later in the unit (a batch of
    automatic payouts decides one account after another, then writes them all at once)."""
    unknown = {e.key for e in entries if e.key not in seqs}
    if unknown:
        raise RuntimeError(f"buckets written without their rows: {sorted(unknown)}")
    check_balanced(entries)
    locked.buckets.update(apply(locked.buckets, [e for e in entries if e.key in locked.buckets]))
    return [Written(e, new_id("txn")) for e in entries]


def append_entries(conn: Connection, seqs: dict[BucketKey, int], written: Sequence[Written]) -> None:
    """Append staged entries as balance transactions (one statement) and defer their bucket moves; a
    bucket still without a row gets it now, and `seqs` its row id."""
    if not written:
        return
    _land(conn, seqs, {w.entry.key for w in written})
    _APPEND_TXN.run(
        conn,
        [
            {
                "id": w.id,
                "balance_seq": seqs[w.entry.key],
                "account_id": w.entry.key.account,
                "livemode": w.entry.key.livemode,
                "currency": w.entry.key.currency,
                "balance_type": w.entry.key.balance_type.value,
                "source_type": w.entry.key.source_type.value,
                "amount": w.entry.amount,
                "fee": w.entry.fee,
                "net": w.entry.net,
                "fee_details": [f.as_dict() for f in w.entry.fee_details],
                "type": w.entry.type,
                "reporting_category": w.entry.reporting_category,
                "status": w.entry.status.value,
                "available_on": w.entry.available_on,
                "created": w.entry.created,
                "description": w.entry.description,
                "source": w.entry.source,
                "payout": w.entry.payout,
            }
            for w in written
        ],
    )
    _defer_moves(conn, [w.entry for w in written], seqs)
