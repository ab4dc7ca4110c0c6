"""Seed a long balance history fast, straight into the store, consistent with the ledger.

`bulk_history` appends `count` balance transactions of +1000 (available, type `adjustment`) to the
account's (test mode, usd, payments, card) bucket and `count` of -1000 to the same bucket of the system
account `sys_world`, interleaved, in ONE set-based statement (a recursive CTE on SQLite,
generate_series on PostgreSQL), then moves both buckets by the same sums. Afterwards each bucket still
equals the sum of its transactions and all buckets still sum to zero per currency; `check_ledger`
verifies both. Run it while no server is using the database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

WORLD = "sys_world"
AMOUNT = 1000

_COLUMNS = (
    "id, balance_seq, account_id, livemode, currency, balance_type, source_type, amount, fee, net, "
    "fee_details, type, reporting_category, status, available_on, created, description, source"
)


class _Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...


def _q(backend: str, sql: str) -> str:
    """Write SQL with `?` placeholders; psycopg wants `%s`."""
    return sql.replace("?", "%s") if backend == "postgresql" else sql


def platform_account(conn: _Conn, backend: str) -> str:
    row = conn.execute(_q(backend, "SELECT id FROM accounts WHERE kind = 'platform' ORDER BY seq LIMIT 1"))
    return str(row.fetchone()[0])


def count_txns(conn: _Conn, backend: str, account: str) -> int:
    sql = _q(backend, "SELECT count(*) FROM balance_transactions WHERE account_id = ?")
    cur = conn.execute(sql, (account,))
    return int(cur.fetchone()[0])


def _bucket_seq(conn: _Conn, backend: str, account: str) -> int:
    cur = conn.execute(
        _q(backend, "SELECT seq FROM balances WHERE account_id = ? AND livemode = ? AND currency = 'usd'"
                    " AND balance_type = 'payments' AND source_type = 'card'"),
        (account, False),
    )  # fmt: skip
    row = cur.fetchone()
    if row is None:
        raise RuntimeError(f"no usd card bucket for {account}: make one charge through the API first")
    return int(row[0])


def _world_shard(conn: _Conn, backend: str) -> str:
    """The system account `sys_world` is spread over rows `sys_world_00`…; use one the API has made."""
    cur = conn.execute(
        _q(backend, "SELECT account_id FROM balances WHERE account_id LIKE ? ORDER BY seq LIMIT 1"),
        (WORLD + "%",),
    )
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("no sys_world bucket: make one charge through the API first")
    return str(row[0])


def bulk_history(conn: _Conn, backend: str, account: str, count: int) -> None:
    """Append `count` txns to `account` and `count` opposite ones to sys_world (caller commits)."""
    if count <= 0:
        return
    acct_seq = _bucket_seq(conn, backend, account)
    world = _world_shard(conn, backend)
    world_seq = _bucket_seq(conn, backend, world)
    clock = conn.execute("SELECT max(now) FROM clock").fetchone()[0]
    now = int(clock) if clock is not None else int(time.time())
    created = now - 86_400  # yesterday, already available: nothing for settlement to do
    rows = 2 * count
    if backend == "sqlite":
        sql = f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO balance_transactions ({_COLUMNS})
            SELECT printf('txn_bench%015d', i),
                   CASE i % 2 WHEN 1 THEN ? ELSE ? END,
                   CASE i % 2 WHEN 1 THEN ? ELSE ? END,
                   0, 'usd', 'payments', 'card',
                   CASE i % 2 WHEN 1 THEN ? ELSE -? END, 0, CASE i % 2 WHEN 1 THEN ? ELSE -? END,
                   '[]', 'adjustment', 'other_adjustment', 'available', ?, ?, 'bench seed', NULL
            FROM n
        """  # noqa: S608 (a constant column list; every value is bound)
    else:
        sql = f"""
            INSERT INTO balance_transactions ({_COLUMNS})
            SELECT 'txn_bench' || lpad(i::text, 15, '0'),
                   CASE mod(i, 2) WHEN 1 THEN %s ELSE %s END,
                   CASE mod(i, 2) WHEN 1 THEN %s ELSE %s END,
                   false, 'usd', 'payments', 'card',
                   CASE mod(i, 2) WHEN 1 THEN %s ELSE -%s END, 0, CASE mod(i, 2) WHEN 1 THEN %s ELSE -%s END,
                   '[]'::json, 'adjustment', 'other_adjustment', 'available', %s, %s, 'bench seed', NULL
            FROM generate_series(1, %s) AS i
        """  # noqa: S608 (a constant column list; every value is bound)
    params: list[Any] = [acct_seq, world_seq, account, world, AMOUNT, AMOUNT, AMOUNT, AMOUNT, created,
                         created]  # fmt: skip
    params = [rows, *params] if backend == "sqlite" else [*params, rows]
    conn.execute(sql, params)
    move = _q(backend, "UPDATE balances SET available = available + ? WHERE seq = ?")
    conn.execute(move, (count * AMOUNT, acct_seq))
    conn.execute(move, (-count * AMOUNT, world_seq))


def check_ledger(conn: _Conn, backend: str) -> None:
    """Each bucket equals the sum of its transactions; all buckets sum to zero per mode and currency."""
    bad = conn.execute(
        "SELECT b.seq, b.available + b.pending, coalesce(t.total, 0) FROM balances b LEFT JOIN "
        "(SELECT balance_seq, sum(net) AS total FROM balance_transactions GROUP BY balance_seq) t "
        "ON t.balance_seq = b.seq WHERE b.available + b.pending <> coalesce(t.total, 0)"
    ).fetchall()
    if bad:
        raise AssertionError(f"buckets that differ from the sum of their transactions: {bad[:5]}")
    unbalanced = conn.execute(
        "SELECT livemode, currency, sum(available + pending) FROM balances GROUP BY livemode, currency "
        "HAVING sum(available + pending) <> 0"
    ).fetchall()
    if unbalanced:
        raise AssertionError(f"the ledger does not sum to zero: {unbalanced}")


def seed_sqlite(path: str, count: int) -> tuple[str, int]:
    """Bulk history into the SQLite file at `path`; returns (account, its transaction count)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        account = platform_account(conn, "sqlite")
        bulk_history(conn, "sqlite", account, count)
        check_ledger(conn, "sqlite")
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return account, count_txns(conn, "sqlite", account)
    finally:
        conn.close()


def seed_postgresql(conninfo: str, count: int) -> tuple[str, int]:
    """Bulk history into the PostgreSQL database at `conninfo`; returns (account, its txn count)."""
    with psycopg.connect(conninfo) as conn:
        account = platform_account(conn, "postgresql")
        bulk_history(conn, "postgresql", account, count)
        check_ledger(conn, "postgresql")
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE balance_transactions")
        conn.execute("VACUUM ANALYZE balances")
        return account, count_txns(conn, "postgresql", account)
