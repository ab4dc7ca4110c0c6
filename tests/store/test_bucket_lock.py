"""A payout's buckets found and locked in one statement (store/bucket_lock.py): the rows of the source
types the process has not cached (a bucket of a source type other than `card` gets its row only when
money lands in it) are found by key in the lock itself, read with their values, locked like the rest,
and cached once the unit commits; those without a row read as empty."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select, update

from payoutkit.ledger.postings import BucketKey, SourceType
from payoutkit.runtime import Runtime
from payoutkit.services.actor import Moment
from payoutkit.services.movement import Movement
from payoutkit.store.balances import is_provisional
from payoutkit.store.engines import engine_cache
from payoutkit.store.schema import balances
from tests.conftest import CLOCK_START
from tests.support.waiting import InThread, wait_for_a_lock_wait

_CARD = BucketKey("acct_lock1", False, "usd")
_BANK = _CARD.with_source_type(SourceType.BANK_ACCOUNT)
_FPX = _CARD.with_source_type(SourceType.FPX)
_ALL = (_CARD, _BANK, _FPX)
_MOMENT = Moment(livemode=False, now=CLOCK_START)


def _bucket(runtime: Runtime, key: BucketKey, available: int) -> int:
    """A bucket row holding `available` (as if money had landed in it); its row id."""
    row = {
        "account_id": key.account,
        "livemode": key.livemode,
        "currency": key.currency,
        "balance_type": key.balance_type.value,
        "source_type": key.source_type.value,
        "available": available,
    }
    made = insert(balances).values(row).returning(balances.c.seq)
    return runtime.db.transaction(lambda conn: int(conn.execute(made).scalar_one()))


class _Selects:
    """The statements that read `balances` while attached (what the unit sent to the database)."""

    def __init__(self, runtime: Runtime) -> None:
        self.sql: list[str] = []
        self._engine = runtime.db.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        if sql.lstrip().startswith("SELECT") and "FROM balances" in sql:
            self.sql.append(sql)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


def _lock_all(runtime: Runtime) -> Movement:
    return runtime.db.transaction(lambda conn: Movement(conn, _MOMENT).touch(*_ALL, exact=True).lock())


def test_the_uncached_source_types_are_found_and_locked_in_the_lock(runtime: Runtime) -> None:
    card = _bucket(runtime, _CARD, 700)
    bank = _bucket(runtime, _BANK, 300)
    # A first unit finds the card bucket apart (a card key the process has not seen is given its row
    # first), and caches its row id.
    runtime.db.transaction(lambda conn: Movement(conn, _MOMENT).touch(_CARD, exact=True).lock())
    selects = _Selects(runtime)
    try:
        mv = _lock_all(runtime)
    finally:
        selects.close()
    [lock] = selects.sql  # no read of its own to find the other source types' rows
    assert "source_type IN" in lock
    assert mv.seqs[_CARD] == card
    assert mv.seqs[_BANK] == bank
    assert is_provisional(mv.seqs[_FPX])  # no row: no money has landed there
    assert [mv.bucket(k).available for k in _ALL] == [700, 300, 0]
    cache: dict[BucketKey, int] = runtime.db.transaction(lambda conn: engine_cache(conn, "bucket_seqs"))
    assert cache[_BANK] == bank
    assert _FPX not in cache
    # The next unit locks the bank bucket by its row id; the fpx one is still looked for by key.
    selects = _Selects(runtime)
    try:
        again = _lock_all(runtime)
    finally:
        selects.close()
    [lock] = selects.sql
    assert "source_type IN" in lock
    assert lock.count("balances.seq IN") == 1
    assert [again.bucket(k).available for k in _ALL] == [700, 300, 0]


def test_a_row_that_comes_later_is_found_by_the_next_unit(runtime: Runtime) -> None:
    _bucket(runtime, _CARD, 10)
    runtime.db.transaction(lambda conn: Movement(conn, _MOMENT).touch(_CARD, exact=True).lock())
    assert [_lock_all(runtime).bucket(k).available for k in _ALL] == [10, 0, 0]
    _bucket(runtime, _FPX, 45)  # money lands in fpx (another process)
    assert [_lock_all(runtime).bucket(k).available for k in _ALL] == [10, 0, 45]


def test_a_row_found_by_key_is_locked(runtime: Runtime) -> None:
    """On PostgreSQL the bank bucket, found by key in the lock statement, waits for the unit that holds
    it; on SQLite the unit holds the write lock, and the lock is a plain read (never FOR UPDATE)."""
    _bucket(runtime, _CARD, 1)
    bank = _bucket(runtime, _BANK, 2)
    runtime.db.transaction(lambda conn: Movement(conn, _MOMENT).touch(_CARD, exact=True).lock())
    if runtime.db.engine.dialect.name != "postgresql":
        selects = _Selects(runtime)
        try:
            _lock_all(runtime)
        finally:
            selects.close()
        assert "FOR UPDATE" not in selects.sql[0]
        return
    holder = runtime.db.engine.connect()
    holder.begin()
    holder.execute(select(balances.c.seq).where(balances.c.seq == bank).with_for_update()).all()
    locker = InThread(lambda: _lock_all(runtime))
    try:
        wait_for_a_lock_wait(runtime.db.engine, locker.done)  # it waits for the row `holder` locked
        assert not locker.done.is_set(), locker.got
        holder.execute(update(balances).where(balances.c.seq == bank).values(available=9))
        holder.commit()
    finally:
        holder.close()
    mv = locker.result()
    assert isinstance(mv, Movement)
    assert mv.bucket(_BANK).available == 9  # the value its holder committed, read under the lock
