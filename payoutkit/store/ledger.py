"""The one write path that moves money.

A unit of work calls `lock_buckets` for every bucket it will touch (rows are created on first use and
locked in one fixed order, so concurrent units never deadlock), decides in pure code, and calls
`write_entries`, which posts the entries through `ledger.postings.post` (refusing unbalanced ones),
appends the balance transactions and stores the new bucket values, all in the caller's transaction.

`settle_due` is the set-based settlement step: it locks due buckets (same order), flips their due
pending transactions to available in one statement, and moves the sums in the buckets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, tuple_, update

from payoutkit.ids import new_id
from payoutkit.ledger.postings import (
    BalanceType,
    Bucket,
    BucketKey,
    Entry,
    SourceType,
    TxnStatus,
    post,
)
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import balances

_KEY_COLUMNS = (
    balances.c.account_id,
    balances.c.livemode,
    balances.c.currency,
    balances.c.balance_type,
    balances.c.source_type,
)


def _key_of(row: object) -> BucketKey:
    return BucketKey(
        row.account_id,  # type: ignore[attr-defined]
        bool(row.livemode),  # type: ignore[attr-defined]
        row.currency,  # type: ignore[attr-defined]
        BalanceType(row.balance_type),  # type: ignore[attr-defined]
        SourceType(row.source_type),  # type: ignore[attr-defined]
    )


@dataclass
class Locked:
    """Buckets locked for this unit of work: their values, row ids and next settlement time."""

    buckets: dict[BucketKey, Bucket] = field(default_factory=dict)
    seqs: dict[BucketKey, int] = field(default_factory=dict)
    next_settle: dict[BucketKey, int | None] = field(default_factory=dict)

    def get(self, key: BucketKey) -> Bucket:
        return self.buckets.get(key) or Bucket(key)


_LOCK_SELECT = (
    select(balances)
    .where(
        balances.c.account_id.in_(bindparam("accounts", expanding=True)),
        balances.c.livemode == bindparam("livemode"),
        balances.c.currency == bindparam("currency"),
    )
    .order_by(*_KEY_COLUMNS)
)
_LOCK_SELECT_FOR_UPDATE = _LOCK_SELECT.with_for_update()


def _select_locked(conn: Connection, keys: Sequence[BucketKey]) -> Locked:
    """Lock every bucket of the keys' accounts in their currency, in key order.

    Locking per (account, currency) rather than per exact bucket costs nothing in contention (a unit
    of work touching an account's card funds rarely races one touching its ACH funds) and lets one
    cached statement serve every movement.
    """
    wanted = set(keys)
    stmt = _LOCK_SELECT_FOR_UPDATE if conn.dialect.name == "postgresql" else _LOCK_SELECT
    groups = sorted({(k.livemode, k.currency) for k in keys})
    locked = Locked()
    for livemode, currency in groups:
        accounts = sorted({k.account for k in keys if (k.livemode, k.currency) == (livemode, currency)})
        for row in conn.execute(stmt, {"accounts": accounts, "livemode": livemode, "currency": currency}):
            key = _key_of(row)
            if key not in wanted:
                continue
            locked.buckets[key] = Bucket(key, row.available, row.pending)
            locked.seqs[key] = row.seq
            locked.next_settle[key] = row.next_settle_at
    return locked


def lock_buckets(conn: Connection, keys: Iterable[BucketKey]) -> Locked:
    """Lock (creating if needed) the buckets for `keys`, in key order."""
    wanted = sorted(set(keys))
    locked = _select_locked(conn, wanted)
    missing = [k for k in wanted if k not in locked.seqs]
    if missing:
        values = [
            {
                "account_id": k.account,
                "livemode": k.livemode,
                "currency": k.currency,
                "balance_type": k.balance_type.value,
                "source_type": k.source_type.value,
            }
            for k in missing
        ]
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            conn.execute(pg_insert(balances).on_conflict_do_nothing(), values)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            conn.execute(sqlite_insert(balances).on_conflict_do_nothing(), values)
        locked = _select_locked(conn, wanted)
    return locked


_APPEND_TXN = insert(txns)
_STORE_BUCKET = (
    update(balances)
    .where(balances.c.seq == bindparam("b_seq"))
    .values(
        available=bindparam("b_available"), pending=bindparam("b_pending"), next_settle_at=bindparam("b_next")
    )
)


@dataclass(frozen=True)
class Written:
    entry: Entry
    id: str


def write_entries(conn: Connection, locked: Locked, entries: Sequence[Entry]) -> list[Written]:
    """Post `entries` onto locked buckets; append their balance transactions. Returns their ids."""
    unlocked = {e.key for e in entries} - locked.seqs.keys()
    if unlocked:
        raise RuntimeError(f"buckets written without being locked: {sorted(unlocked)}")
    changed = post(locked.buckets, entries)
    written = [Written(e, new_id("txn")) for e in entries]
    conn.execute(
        _APPEND_TXN,
        [
            {
                "id": w.id,
                "balance_seq": locked.seqs[w.entry.key],
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
            }
            for w in written
        ],
    )
    for e in entries:
        if e.status is TxnStatus.PENDING:
            current = locked.next_settle.get(e.key)
            locked.next_settle[e.key] = e.available_on if current is None else min(current, e.available_on)
    conn.execute(
        _STORE_BUCKET,
        [
            {
                "b_seq": locked.seqs[k],
                "b_available": b.available,
                "b_pending": b.pending,
                "b_next": locked.next_settle.get(k),
            }
            for k, b in changed.items()
        ],
    )
    locked.buckets.update(changed)
    return written


SETTLE_BATCH = 500


def settle_due(
    conn: Connection,
    now: int,
    *,
    account_id: str | None = None,
    livemode: bool | None = None,
    batch: int = SETTLE_BATCH,
) -> int:
    """Make every pending transaction with `available_on <= now` available; return how many.

    Works through due buckets `batch` at a time: per batch one statement locks the buckets, one flips
    their due transactions, one reads the moved sums and one stores the buckets.
    """
    moved_total = 0
    after: tuple[str, bool, str, str, str] | None = None
    while True:
        cond = [balances.c.next_settle_at <= now]
        if account_id is not None:
            cond.append(balances.c.account_id == account_id)
        if livemode is not None:
            cond.append(balances.c.livemode == livemode)
        if after is not None:
            cond.append(tuple_(*_KEY_COLUMNS) > after)
        stmt = select(balances.c.seq, *_KEY_COLUMNS).where(and_(*cond)).order_by(*_KEY_COLUMNS).limit(batch)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        rows = conn.execute(stmt).all()
        if not rows:
            return moved_total
        last = rows[-1]
        after = (last.account_id, last.livemode, last.currency, last.balance_type, last.source_type)
        seqs = [r.seq for r in rows]
        moved_total += _settle_buckets(conn, seqs, now)
        if len(rows) < batch:
            return moved_total


def _settle_buckets(conn: Connection, seqs: list[int], now: int) -> int:
    due = and_(
        txns.c.balance_seq.in_(seqs),
        txns.c.status == TxnStatus.PENDING.value,
        txns.c.available_on <= now,
    )
    if conn.dialect.name == "postgresql":
        moved = (
            update(txns)
            .where(due)
            .values(status=TxnStatus.AVAILABLE.value)
            .returning(txns.c.balance_seq, txns.c.net)
            .cte("moved")
        )
        sums = conn.execute(
            select(moved.c.balance_seq, func.sum(moved.c.net), func.count()).group_by(moved.c.balance_seq)
        ).all()
    else:  # SQLite units of work are serialized: read the sums, then flip.
        sums = conn.execute(
            select(txns.c.balance_seq, func.sum(txns.c.net), func.count())
            .where(due)
            .group_by(txns.c.balance_seq)
        ).all()
        conn.execute(update(txns).where(due).values(status=TxnStatus.AVAILABLE.value))
    if sums:
        conn.execute(
            update(balances)
            .where(balances.c.seq == bindparam("b_seq"))
            .values(
                pending=balances.c.pending - bindparam("b_due"),
                available=balances.c.available + bindparam("b_due"),
            ),
            [{"b_seq": s, "b_due": int(total)} for s, total, _ in sums],
        )
    next_pending = (
        select(func.min(txns.c.available_on))
        .where(txns.c.balance_seq == balances.c.seq, txns.c.status == TxnStatus.PENDING.value)
        .scalar_subquery()
    )
    conn.execute(update(balances).where(balances.c.seq.in_(seqs)).values(next_settle_at=next_pending))
    return sum(int(n) for _, _, n in sums)


def read_buckets(conn: Connection, account_id: str, livemode: bool) -> tuple[list[Bucket], int | None]:
    """All buckets of an account and the earliest time any of them has funds due."""
    rows = conn.execute(
        select(balances)
        .where(balances.c.account_id == account_id, balances.c.livemode == livemode)
        .order_by(*_KEY_COLUMNS)
    ).all()
    due = [r.next_settle_at for r in rows if r.next_settle_at is not None]
    return [Bucket(_key_of(r), r.available, r.pending) for r in rows], (min(due) if due else None)


def any_due(conn: Connection, now: int) -> bool:
    return (
        conn.execute(select(balances.c.seq).where(or_(balances.c.next_settle_at <= now)).limit(1)).first()
        is not None
    )
