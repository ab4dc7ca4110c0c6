"""The settle scenario: seed many due pending balance transactions, then time ONE settlement of them.

`seed(backend, url, txns, per_bucket)` fills a database migrated to head, straight into the store and
set-based (a recursive CTE on SQLite, generate_series on PostgreSQL; no rows pass through Python):

- one platform account, the system accounts, and `txns / per_bucket` connected accounts of that
  platform (`controller.losses.payments = stripe`: the platform is not liable, so settling re-syncs no
  reserves), each with one (test mode, usd, payments, card) bucket;
- `txns` card charges, interleaved over the accounts in time order (charge k goes to account
  k mod accounts), each booked as two balance transactions as a charge is: +amount `pending` on the
  connected account's bucket, available on the second day boundary after it was made, and -amount
  `available` on one of the 16 `sys_world_NN` buckets. Amounts vary (500..9,999); there are no fees.
  Charges were made 8 to 3 days before the settle time, so every pending one is due;
- then every bucket is set from its transactions in one statement: `available` and `pending` are the
  sums of their `net`, `next_settle_at` the earliest pending `available_on`.

`check(url)` runs `payoutkit.store.invariants.check_ledger` and fails loudly on any violation.

`python -m bench.settle URL NOW` (a child process, so its peak RSS is the settlement's own) runs
`payoutkit.services.settlement.settle(conn, NOW, livemode=False)` in one unit of work through
`Database.transaction`, as the worker does, times it (statement by statement, through SQLAlchemy's
cursor events, and the commit) and prints the figures as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAY = 86_400
NOW = 1_767_225_600  # the settle time: 2026-01-01T00:00:00Z
FIRST_CHARGE = NOW - 8 * DAY  # charges are made from here…
CHARGE_SPAN = 5 * DAY  # …for five days: the last one, 3 days before NOW, is available 1-2 days before
SHARDS = 16  # sys_world_00 … sys_world_15, as services.money.SYSTEM_SHARDS
PLATFORM = "acct_benchsettleplatform"

# Dialect fragments: the statements below are written once, with these in braces.
_SQL = {
    "sqlite": {
        "series": "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})",
        "from_series": "n",
        "false": "0",
        "acct": "printf('acct_bench%010d', {expr})",
        "txn": "printf('txn_bench%015d', {expr})",
        "charge": "printf('ch_bench%015d', {expr})",
        "shard": "printf('sys_world_%02d', {expr})",
        "empty_json": "'[]'",
        "account_json": "json_object('id', {id}, 'object', 'account', 'type', 'custom', "
        "'controller', json_object('losses', json_object('payments', 'stripe')))",
    },
    "postgresql": {
        "series": "",
        "from_series": "generate_series(0::bigint, {last}) AS n(i)",  # bigint: k * span > 2^31
        "false": "false",
        "acct": "'acct_bench' || lpad(({expr})::text, 10, '0')",
        "txn": "'txn_bench' || lpad(({expr})::text, 15, '0')",
        "charge": "'ch_bench' || lpad(({expr})::text, 15, '0')",
        "shard": "'sys_world_' || lpad(({expr})::text, 2, '0')",
        "empty_json": "'[]'::json",
        "account_json": "json_build_object('id', {id}, 'object', 'account', 'type', 'custom', "
        "'controller', json_build_object('losses', json_build_object('payments', 'stripe')))",
    },
}


def _statements(backend: str, txns: int, buckets: int) -> list[str]:
    """The seeding statements; every value is a constant of this module or an int from the caller."""
    d = _SQL[backend]
    f = d["false"]

    def series(last: int) -> tuple[str, str]:
        return d["series"].format(last=last), d["from_series"].format(last=last)

    acct_with, acct_from = series(buckets - 1)
    txn_with, txn_from = series(2 * txns - 1)
    acct_id = d["acct"].format(expr="i")
    system = (
        f"INSERT INTO accounts (id, platform_id, livemode, kind, created, data) VALUES "  # noqa: S608
        f"('{PLATFORM}', NULL, {f}, 'platform', {FIRST_CHARGE}, '{{\"id\": \"{PLATFORM}\"}}'),"
        f" ('sys_world', NULL, {f}, 'system', {FIRST_CHARGE}, '{{}}'),"
        f" ('sys_processor', NULL, {f}, 'system', {FIRST_CHARGE}, '{{}}')"
    )
    connected = (
        f"{acct_with} INSERT INTO accounts (id, platform_id, livemode, kind, created, data) "  # noqa: S608
        f"SELECT {acct_id}, '{PLATFORM}', {f}, 'connected', {FIRST_CHARGE}, "
        f"{d['account_json'].format(id=acct_id)} FROM {acct_from}"
    )
    bucket_cols = "seq, account_id, livemode, currency, balance_type, source_type, available, pending"
    connected_buckets = (
        f"{acct_with} INSERT INTO balances ({bucket_cols}) "  # noqa: S608
        f"SELECT i + 1, {acct_id}, {f}, 'usd', 'payments', 'card', 0, 0 FROM {acct_from}"
    )
    shard_with, shard_from = series(SHARDS - 1)
    world_buckets = (
        f"{shard_with} INSERT INTO balances ({bucket_cols}) "  # noqa: S608
        f"SELECT {buckets + 1} + i, {d['shard'].format(expr='i')}, {f}, 'usd', 'payments', 'card', 0, 0 "
        f"FROM {shard_from}"
    )
    # Row i: charge k = i / 2; even rows are the connected account's pending side, odd rows the world's.
    pending = "c.i % 2 = 0"
    transactions = f"""
        {txn_with}
        INSERT INTO balance_transactions (seq, id, balance_seq, account_id, livemode, currency, balance_type,
            source_type, amount, fee, net, fee_details, type, reporting_category, status, available_on,
            created, description, source)
        SELECT c.i + 1, {d["txn"].format(expr="c.i")},
               CASE WHEN {pending} THEN c.k % {buckets} + 1 ELSE {buckets + 1} + c.k % {SHARDS} END,
               CASE WHEN {pending} THEN {d["acct"].format(expr=f"c.k % {buckets}")}
                    ELSE {d["shard"].format(expr=f"c.k % {SHARDS}")} END,
               {f}, 'usd', 'payments', 'card',
               CASE WHEN {pending} THEN c.amount ELSE -c.amount END, 0,
               CASE WHEN {pending} THEN c.amount ELSE -c.amount END,
               {d["empty_json"]}, 'charge', 'charge',
               CASE WHEN {pending} THEN 'pending' ELSE 'available' END,
               CASE WHEN {pending} THEN (c.created / {DAY} + 2) * {DAY} ELSE c.created END,
               c.created, NULL, {d["charge"].format(expr="c.k")}
        FROM (SELECT i, i / 2 AS k, 500 + (i / 2 * 7919) % 9500 AS amount,
                     {FIRST_CHARGE} + (i / 2) * {CHARGE_SPAN} / {txns} AS created
              FROM {txn_from}) AS c
    """  # noqa: S608
    # Every bucket from its transactions: the ledger invariants hold by construction (and are checked).
    buckets_from_history = """
        UPDATE balances SET available = t.available, pending = t.pending, next_settle_at = t.next_settle_at
        FROM (SELECT balance_seq,
                     sum(CASE WHEN status = 'available' THEN net ELSE 0 END) AS available,
                     sum(CASE WHEN status = 'pending' THEN net ELSE 0 END) AS pending,
                     min(CASE WHEN status = 'pending' THEN available_on END) AS next_settle_at
              FROM balance_transactions GROUP BY balance_seq) AS t
        WHERE balances.seq = t.balance_seq
    """
    out = [system, connected, connected_buckets, world_buckets, transactions, buckets_from_history]
    if backend == "postgresql":  # explicit keys were given: move the sequences past them
        out += [
            f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'), (SELECT max(seq) FROM {table}))"  # noqa: S608
            for table in ("accounts", "balances", "balance_transactions")
        ]
    return out


def seed(backend: str, url: str, txns: int, per_bucket: int) -> int:
    """Seed an empty database at `url`, migrated to head, with `txns` due pending txns; return buckets."""
    if txns % per_bucket:
        raise ValueError(f"{txns} transactions do not split into buckets of {per_bucket}")
    buckets = txns // per_bucket
    statements = _statements(backend, txns, buckets)
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # seeding only; the settlement runs with the server's
            conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB while seeding: index inserts stay in memory
            conn.execute("BEGIN IMMEDIATE")
            for stmt in statements:
                conn.execute(stmt)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        conninfo = _conninfo(url)
        with psycopg.connect(conninfo) as pg:
            for stmt in statements:
                pg.execute(stmt)  # no parameters: psycopg sends `%` as it is
            pg.commit()
        with psycopg.connect(conninfo, autocommit=True) as pg:
            for table in ("accounts", "balances", "balance_transactions"):
                pg.execute(f"VACUUM ANALYZE {table}")
    return buckets


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def check(url: str, *, txns: int, settled: bool) -> None:
    """`check_ledger` must find nothing; and the pending/due state must be what the scenario expects."""
    from sqlalchemy import func, select

    from payoutkit.store.db import READONLY, make_engine
    from payoutkit.store.invariants import check_ledger
    from payoutkit.store.schema import balance_transactions as t
    from payoutkit.store.schema import balances as b

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            violations = check_ledger(conn)
            if violations:
                raise AssertionError(
                    f"check_ledger found {len(violations)} violations "
                    f"({'after' if settled else 'before'} settling):\n  " + "\n  ".join(violations[:20])
                )
            pending = conn.execute(select(func.count()).where(t.c.status == "pending")).scalar_one()
            due = conn.execute(select(func.count()).where(b.c.next_settle_at.is_not(None))).scalar_one()
            held = conn.execute(select(func.coalesce(func.sum(b.c.pending), 0))).scalar_one()
    finally:
        engine.dispose()
    if settled and (pending, due, held) != (0, 0, 0):
        raise AssertionError(f"after settling: {pending} pending txns, {due} buckets due, {held} pending")
    if not settled and pending != txns:
        raise AssertionError(f"seeded {pending} pending txns, not {txns}")


# -- the timed settlement (child process) ---------------------------------------------------------

LABELS = (  # (substring of the SQL, label): first match wins; others are named by verb and table
    ("SELECT DISTINCT balances.account_id, balances.currency", "settle: due accounts (SELECT DISTINCT)"),
    ("FOR UPDATE", "settle_due: lock a batch of due buckets"),
    ("WITH moved AS", "settle_due: flip due txns, sum per bucket (UPDATE … RETURNING)"),
    ("UPDATE balance_transactions", "settle_due: flip due txns (UPDATE)"),
    ("sum(balance_transactions.net)", "settle_due: sum due txns per bucket (SELECT)"),
    ("pending=(balances.pending", "settle_due: move the sums (UPDATE balances, executemany)"),
    ("SET next_settle_at=", "settle_due: next_settle_at from pending txns (UPDATE balances)"),
    ("SELECT balances.seq", "settle_due: find a batch of due buckets"),
    ("FROM connect_reserves", "settle: accounts with reserves"),
    (
        "SELECT accounts.kind, accounts.platform_id, accounts.data FROM accounts WHERE accounts.id =",
        "settle: is_liable, one account at a time",
    ),
)
_VERB_TABLE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.DOTALL)
_FROM_TABLE = re.compile(r"\bFROM\s+(\w+)")


def _label(sql: str) -> str:
    sql = " ".join(sql.split())
    for needle, label in LABELS:
        if needle in sql:
            return label
    write = _VERB_TABLE.match(sql)
    if write:
        return f"other: {write.group(1)} {write.group(2)}"
    read = _FROM_TABLE.search(sql)
    return f"other: reads {read.group(1)}" if read else "other: " + " ".join(sql.split())[:40]


class _StatementTimer:
    """Wall time per kind of statement: from its execute to the next statement's (or to `stop()`).

    A statement's time thus includes fetching its rows (sqlite3 computes them as they are fetched)
    and the Python work that follows it; the rows add up to the whole settlement before the commit.
    """

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self._current: tuple[str, float] | None = None
        self.paused = False

    def reset(self) -> None:
        self.stats.clear()
        self._current = None

    def before(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        self.stop()
        if not self.paused:
            self._current = (_label(statement), time.perf_counter())

    def stop(self) -> None:
        if self._current is not None:
            label, started = self._current
            entry = self.stats[label]
            entry[0] += 1
            entry[1] += time.perf_counter() - started
            self._current = None


@contextlib.contextmanager
def _statement_timer(engine: Any) -> Iterator[_StatementTimer]:
    from sqlalchemy import event

    timer = _StatementTimer()
    event.listen(engine, "before_cursor_execute", timer.before)
    try:
        yield timer
    finally:
        event.remove(engine, "before_cursor_execute", timer.before)


def _vm_hwm_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def timed_settle(url: str, now: int) -> dict[str, Any]:
    """Settle everything due at `now` in one unit of work; the figures as a dict.

    `settle` is called until nothing is due (checked, untimed, on the buckets' `next_settle_at`
    index): one call should do, and `calls` says how many it took.
    """
    from sqlalchemy import Connection, false, select, text

    from payoutkit.services.settlement import settle
    from payoutkit.store.db import Database
    from payoutkit.store.schema import balances

    still_due = select(balances.c.seq).where(balances.c.next_settle_at <= now, balances.c.livemode == false())
    db = Database(url, pool_size=1)
    backend_pid: list[int] = []
    marks: dict[str, float] = {"untimed": 0.0}
    calls: list[dict[str, float]] = []
    marks_text: dict[str, str] = {}

    def unit(conn: Connection) -> int:
        if conn.dialect.name == "postgresql":
            backend_pid.append(int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()))
            shared = conn.execute(text("SHOW shared_buffers")).scalar_one()
            work_mem = conn.execute(text("SHOW work_mem")).scalar_one()
            marks_text["db_cache"] = f"shared_buffers={shared}, work_mem={work_mem}"
        else:
            pages = int(conn.execute(text("PRAGMA cache_size")).scalar_one())
            size = f"{-pages} KiB" if pages < 0 else f"{pages} pages"
            marks_text["db_cache"] = f"page cache {size} (cache_size={pages}, the server's)"
        timer.reset()  # the settlement's statements only (not BEGIN, not the pid)
        calls.clear()
        marks["begin"] = time.perf_counter()
        while True:
            started = time.perf_counter()
            moved = settle(conn, now, livemode=False)
            timer.stop()
            calls.append({"moved": moved, "seconds": time.perf_counter() - started})
            started = time.perf_counter()
            timer.paused = True
            left = conn.execute(still_due.limit(1)).first()
            timer.paused = False
            marks["untimed"] += time.perf_counter() - started
            if left is None or moved == 0:
                break
        marks["settled"] = time.perf_counter()
        return sum(int(c["moved"]) for c in calls)

    try:
        rss_base = _vm_hwm_kb(os.getpid())
        with _statement_timer(db.engine) as timer:
            moved = db.transaction(unit)
            done = time.perf_counter()
        rss_peak = _vm_hwm_kb(os.getpid())
        backend_hwm = _vm_hwm_kb(backend_pid[0]) if backend_pid else None
    finally:
        db.dispose()
    return {
        "moved": moved,
        "seconds": done - marks["begin"] - marks["untimed"],
        "commit_seconds": done - marks["settled"],
        "calls": calls,
        "rss_base_kb": rss_base,
        "rss_peak_kb": rss_peak,
        "backend_hwm_kb": backend_hwm,
        "db_cache": marks_text.get("db_cache", "?"),
        "statements": {k: {"calls": int(v[0]), "seconds": v[1]} for k, v in timer.stats.items()},
    }


if __name__ == "__main__":
    print(json.dumps(timed_settle(sys.argv[1], int(sys.argv[2]))))
