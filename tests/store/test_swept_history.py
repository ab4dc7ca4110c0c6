"""An account's swept history does not make its next automatic payout run slower (SQLite).

Each automatic payout marks the transactions it swept (`balance_transactions.payout`); an account paid
out daily keeps all of them. The batch's read of "a debit still on its way" (`debits_arriving`) once
read every one of them: SQLite drove it through the index on (balance_seq, payout), with `payout IS
NOT NULL` as its range (the autopayout probe: 3.9 ms per account with 1,000 swept transactions, 19 ms
with 10,000). Here the work the statement does (SQLite's virtual machine steps) is counted with a
short history and with a long one, on an analysed store: it must not grow with the history.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from payoutkit.store import payouts
from payoutkit.store.engines import make_engine
from tests.support import databases

NOW = 1_767_225_600


@pytest.fixture
def url(sqlite_template: Path, tmp_path: Path) -> str:
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


def _add(conn: sqlite3.Connection, seq: int, count: int, *, status: str, payout: str, at: int) -> None:
    rows = [
        (f"txn_{status}{seq}_{i}_{at}", seq, f"acct_{seq}", False, "usd", "payments", "card", 1, 0, 1, "[]",
         "charge", "charge", status, at, at, None, None, payout)
        for i in range(count)
    ]  # fmt: skip
    conn.executemany(
        "INSERT INTO balance_transactions (id, balance_seq, account_id, livemode, currency, balance_type,"
        " source_type, amount, fee, net, fee_details, type, reporting_category, status, available_on,"
        " created, description, source, payout) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )


def _steps(url: str, seqs: list[int]) -> tuple[int, set[int]]:
    """SQLite's VM steps (in thousands) for the store's `debits_arriving` of these buckets, none of
    which has a row in `balances` (each given a `next_settle_at` tomorrow), and what it found."""
    engine = make_engine(url, pool_size=1)
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.set_progress_handler(tick, 1000)
            found = payouts.debits_arriving(conn, dict.fromkeys(seqs, NOW + 86400))
            raw.set_progress_handler(None, 0)
    finally:
        engine.dispose()
    return counted[0], found


def test_a_long_swept_history_is_not_read_to_find_a_debit_on_its_way(url: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    seqs = list(range(1_000_001, 1_000_021))  # 20 buckets (their rows are not read)
    for seq in seqs:
        _add(conn, seq, 10, status="available", payout="po_earlier", at=NOW - 86_400)
    # One bucket has a debit on its way: its own credit, pending, swept by the debit.
    _add(conn, seqs[3], 1, status="pending", payout="po_debit", at=NOW + 2 * 86_400)
    conn.execute("ANALYZE")
    short, found = _steps(url, seqs)
    assert found == {seqs[3]}
    for seq in seqs:
        _add(conn, seq, 2_000, status="available", payout="po_older", at=NOW - 30 * 86_400)
    conn.execute("ANALYZE")
    long, found = _steps(url, seqs)
    assert found == {seqs[3]}
    # 40,000 more swept transactions: reading them would be hundreds of thousands of steps.
    assert long <= short + 5, (short, long)
