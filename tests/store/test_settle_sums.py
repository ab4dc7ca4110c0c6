"""What a settlement moves into each bucket is exactly the sum of the transactions it made available.

On SQLite the flip sums what it flips (store/settlement.py: the new `status` is a function of the
connection that adds each row's `net` to its bucket's sum); on PostgreSQL one statement flips, sums
and moves. Here both stores settle the same buckets over several batches: due pending transactions
(credits and debits), pending ones not yet due, and transactions that were available from the start
inside the due window, which must not be counted again. The expected sums are computed here from the
seeded rows, not by the store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from payoutkit.ledger.postings import BucketKey
from payoutkit.store import settlement
from payoutkit.store.balances import create_buckets
from payoutkit.store.engines import make_engine
from tests.support import databases

NOW = 1_767_225_600
DAY = 86_400
BUCKETS = 7


def _txn(conn: Connection, seq: int, i: int, net: int, *, status: str, available_on: int) -> None:
    conn.execute(
        text(
            "INSERT INTO balance_transactions (id, balance_seq, account_id, livemode, currency, balance_type,"
            " source_type, amount, fee, net, fee_details, type, reporting_category, status, available_on,"
            " created) SELECT :id, seq, account_id, livemode, currency, balance_type, source_type, :net, 0,"
            " :net, '[]', 'adjustment', 'other_adjustment', :status, :available_on, :created"
            " FROM balances WHERE seq = :seq"
        ),
        {"id": f"txn_sum_{seq}_{i}", "seq": seq, "net": net, "status": status, "available_on": available_on,
         "created": available_on - 3 * DAY if status == "pending" else available_on},
    )  # fmt: skip


def _seed(conn: Connection) -> dict[int, int]:
    """Buckets with a mix of transactions; returns each bucket's due pending sum (what must move)."""
    keys = [BucketKey(f"acct_sum{b}", False, "usd") for b in range(BUCKETS)]
    create_buckets(conn, keys)
    seqs = [int(r[0]) for r in conn.execute(text("SELECT seq FROM balances ORDER BY seq"))]
    due: dict[int, int] = {}
    for b, seq in enumerate(seqs):
        nets = [1_000 + 37 * b, -250 - b, 999_999_999_999, -(10**12) + b]  # large: no rounding anywhere
        for i, net in enumerate(nets):  # due, spread over the last days
            _txn(conn, seq, i, net, status="pending", available_on=NOW - i * DAY)
        _txn(conn, seq, 10, 5_000 + b, status="pending", available_on=NOW + DAY)  # not yet due
        _txn(conn, seq, 11, 777, status="available", available_on=NOW - DAY)  # available from the start
        due[seq] = sum(nets)
    conn.execute(
        text(
            "UPDATE balances SET"
            " pending = (SELECT COALESCE(SUM(net), 0) FROM balance_transactions t"
            "   WHERE t.balance_seq = balances.seq AND t.status = 'pending'),"
            " available = (SELECT COALESCE(SUM(net), 0) FROM balance_transactions t"
            "   WHERE t.balance_seq = balances.seq AND t.status = 'available'),"
            " next_settle_at = (SELECT MIN(available_on) FROM balance_transactions t"
            "   WHERE t.balance_seq = balances.seq AND t.status = 'pending')"
        )
    )
    return due


_DUE_LEFT = text("SELECT count(*) FROM balance_transactions WHERE status = 'pending' AND available_on <= :t")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


def _from_transactions(conn: Connection) -> dict[int, tuple[int, int]]:
    """Each bucket's (available, pending) as its transactions sum them."""
    rows = conn.execute(
        text(
            "SELECT balance_seq, SUM(CASE WHEN status = 'available' THEN net ELSE 0 END),"
            " SUM(CASE WHEN status = 'pending' THEN net ELSE 0 END) FROM balance_transactions"
            " GROUP BY balance_seq"
        )
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}


def _buckets(conn: Connection) -> dict[int, tuple[int, int, int | None]]:
    rows = conn.execute(text("SELECT seq, available, pending, next_settle_at FROM balances"))
    return {int(r[0]): (int(r[1]), int(r[2]), r[3]) for r in rows}


@pytest.mark.parametrize("batch", [1, 3, settlement.SETTLE_BATCH])
def test_each_bucket_moves_exactly_the_sum_of_what_it_made_available(database_url: str, batch: int) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            due = _seed(conn)
            before = _buckets(conn)
        with engine.begin() as conn:
            moved = settlement.settle_due(conn, NOW, batch=batch)
            after = _buckets(conn)
            summed = _from_transactions(conn)
            left = conn.execute(_DUE_LEFT, {"t": NOW}).scalar_one()
        assert moved == 4 * BUCKETS
        assert left == 0
        for seq, (available, pending, _) in before.items():
            assert after[seq][:2] == (available + due[seq], pending - due[seq]), seq
            assert after[seq][2] == NOW + DAY  # the one not yet due
            assert summed[seq] == after[seq][:2]  # each bucket equals its transactions
    finally:
        engine.dispose()


def test_the_summing_function_holds_no_sums_outside_the_flip(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, pool_size=1)
    try:
        with engine.connect() as conn:
            with conn.begin():
                _seed(conn)
            with conn.begin():
                assert settlement.settle_due(conn, NOW) == 4 * BUCKETS
            raw = conn.connection.driver_connection
            assert raw is not None
            with pytest.raises(sqlite3.OperationalError, match="user-defined function raised exception"):
                raw.execute(f"SELECT {settlement._SUMMING}(1, 2)")
    finally:
        engine.dispose()
