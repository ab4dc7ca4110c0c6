"""The autopayout scenario: seed N accounts due for an automatic payout, then time the worker paying them.

`seed(backend, url, accounts)` fills a database migrated to head, straight into the store and
set-based (a recursive CTE on SQLite, generate_series on PostgreSQL; no rows pass through Python):

- one platform account and the system accounts (`sys_world`, `sys_processor`);
- `accounts` connected accounts of that platform, as `POST /v1/accounts type=custom country=US`
  makes them (ACCOUNT_TEMPLATE: the platform is liable for their negative balances, so each payout
  also locks the platform's buckets and re-syncs the account's reserve, as it does in production),
  on the default schedule: daily, delay 2 days;
- one `btok_us_verified` bank account each in `resources` (BANK_TEMPLATE; default for usd, `internal`
  `{"failure_code": ""}`: its payouts succeed);
- one (test mode, usd, payments, card) bucket each, holding one available balance transaction of
  1,000..99,999 (a charge that settled three days ago), booked against one of the 16 `sys_world_NN`
  buckets (-amount), which hold the opposite sums: conservation holds by construction; every bucket is
  then set from its transactions in one statement (as bench/settle.py does);
- a `payout_runs` row each, due at NOW.

`check(url, accounts, paid=...)` runs `payoutkit.store.invariants.check_ledger` and checks the
scenario's state: before, every account holds its funds and is due; after, there is one payout per
account (and its tracking row), every account's available is 0, every transaction of theirs is swept
by its payout, and no run is due.

`python -m bench.autopayout URL NOW [--statements] [--wait]` (a child process, so that py-spy can
sample it alone) runs the due payout runs exactly as the worker's tick does: units of work through
`Database(url).transaction(run_automatic, Moment.job(False, NOW), SimulatedRail(), limit=200)` until
one returns 0, and prints the figures as one JSON line. `--statements` also counts and times
statements by kind (SQLAlchemy's cursor events: a few µs each, so not on the timed runs); `--wait`
reads a line from stdin before starting (the parent attaches py-spy meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

if TYPE_CHECKING:
    from bench.run import Config, Results
    from devtools.pg import PostgresCluster

DAY = 86_400
NOW = 1_767_225_600  # the run time: 2026-01-01T00:00:00Z, when every seeded run is due
CREATED = NOW - 30 * DAY  # when the accounts and bank accounts were made
FUNDED = NOW - 3 * DAY  # when their funds were charged (available since)
SHARDS = 16  # sys_world_00 … sys_world_15, as services.money.SYSTEM_SHARDS
PLATFORM = "acct_benchautoplatform"
ACCT, BA = "__ACCT__", "__BA__"  # placeholders in the templates, replaced in SQL per row

# What accounts.create stores for `type=custom country=US` (no optional fields), and what
# external_accounts.create stores for `btok_us_verified`. Only the ids differ between rows.
ACCOUNT_TEMPLATE: dict[str, Any] = {
    "id": ACCT,
    "object": "account",
    "business_profile": {"mcc": None, "name": None, "url": None, "support_email": None},
    "business_type": None,
    "capabilities": {},
    "controller": {
        "fees": {"payer": "application_custom"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "application",
        "stripe_dashboard": {"type": "none"},
        "type": "application",
    },
    "country": "US",
    "created": CREATED,
    "default_currency": "usd",
    "email": None,
    "metadata": {},
    "settings": {
        "payouts": {
            "debit_negative_balances": False,
            "schedule": {"delay_days": 2, "interval": "daily"},
            "statement_descriptor": None,
        }
    },
    "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    "type": "custom",
}
BANK_TEMPLATE: dict[str, Any] = {
    "id": BA,
    "object": "bank_account",
    "account_holder_name": None,
    "account_holder_type": None,
    "account_type": None,
    "available_payout_methods": ["standard", "instant"],
    "bank_name": "PAYOUTKIT TEST BANK",
    "country": "US",
    "currency": "usd",
    "fingerprint": "0f1e2d3c4b5a6978",
    "last4": "6789",
    "routing_number": "110000000",
    "status": "new",
    "account": ACCT,
    "default_for_currency": True,
    "metadata": {},
    "livemode": False,
    "created": CREATED,
}
BANK_INTERNAL = {"failure_code": ""}

_SQL = {
    "sqlite": {
        "series": "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})",
        "from_series": "n",
        "false": "0",
        "acct": "printf('acct_bench%010d', {expr})",
        "ba": "printf('ba_bench%010d', {expr})",
        "txn": "printf('txn_bench%015d', {expr})",
        "charge": "printf('ch_bench%015d', {expr})",
        "shard": "printf('sys_world_%02d', {expr})",
        "empty_json": "'[]'",
        "json": "{expr}",
        "param": ":{name}",
    },
    "postgresql": {
        "series": "",
        "from_series": "generate_series(0::bigint, {last}) AS n(i)",
        "false": "false",
        "acct": "'acct_bench' || lpad(({expr})::text, 10, '0')",
        "ba": "'ba_bench' || lpad(({expr})::text, 10, '0')",
        "txn": "'txn_bench' || lpad(({expr})::text, 15, '0')",
        "charge": "'ch_bench' || lpad(({expr})::text, 15, '0')",
        "shard": "'sys_world_' || lpad(({expr})::text, 2, '0')",
        "empty_json": "'[]'::json",
        "json": "({expr})::json",
        "param": "%({name})s",
    },
}


def _statements(backend: str, n: int) -> list[str]:
    """The seeding statements; every value is a constant of this module, an int, or a bound template."""
    d = _SQL[backend]
    f = d["false"]

    def series(last: int) -> tuple[str, str]:
        return d["series"].format(last=last), d["from_series"].format(last=last)

    def templated(name: str) -> str:
        filled = f"replace(replace({d['param'].format(name=name)}, '{ACCT}', {acct}), '{BA}', {ba})"
        return d["json"].format(expr=filled)

    with_n, from_n = series(n - 1)
    acct, ba = d["acct"].format(expr="i"), d["ba"].format(expr="i")
    system = (
        "INSERT INTO accounts (id, platform_id, livemode, kind, created, data) VALUES "  # noqa: S608
        f"('{PLATFORM}', NULL, {f}, 'platform', {CREATED}, '{{\"id\": \"{PLATFORM}\"}}'),"
        f" ('sys_world', NULL, {f}, 'system', {CREATED}, '{{}}'),"
        f" ('sys_processor', NULL, {f}, 'system', {CREATED}, '{{}}')"
    )
    connected = (
        f"{with_n} INSERT INTO accounts (id, platform_id, livemode, kind, created, data) "  # noqa: S608
        f"SELECT {acct}, '{PLATFORM}', {f}, 'connected', {CREATED}, {templated('account')} FROM {from_n}"
    )
    banks = (
        f"{with_n} INSERT INTO resources (id, object, account_id, livemode, created, parent_id, status, "  # noqa: S608
        f"data, internal) SELECT {ba}, 'bank_account', {acct}, {f}, {CREATED}, {acct}, 'new', "
        f"{templated('bank')}, {d['json'].format(expr=d['param'].format(name='internal'))} FROM {from_n}"
    )
    cols = "seq, account_id, livemode, currency, balance_type, source_type, available, pending"
    buckets = (
        f"{with_n} INSERT INTO balances ({cols}) "  # noqa: S608
        f"SELECT i + 1, {acct}, {f}, 'usd', 'payments', 'card', 0, 0 FROM {from_n}"
    )
    shard_with, shard_from = series(SHARDS - 1)
    world = (
        f"{shard_with} INSERT INTO balances ({cols}) "  # noqa: S608
        f"SELECT {n + 1} + i, {d['shard'].format(expr='i')}, {f}, 'usd', 'payments', 'card', 0, 0 "
        f"FROM {shard_from}"
    )
    # Row r: account k = r / 2; even rows are the account's +amount, odd rows the world's -amount.
    txn_with, txn_from = series(2 * n - 1)
    mine = "c.i % 2 = 0"
    transactions = f"""
        {txn_with}
        INSERT INTO balance_transactions (seq, id, balance_seq, account_id, livemode, currency, balance_type,
            source_type, amount, fee, net, fee_details, type, reporting_category, status, available_on,
            created, description, source)
        SELECT c.i + 1, {d["txn"].format(expr="c.i")},
               CASE WHEN {mine} THEN c.k + 1 ELSE {n + 1} + c.k % {SHARDS} END,
               CASE WHEN {mine} THEN {d["acct"].format(expr="c.k")}
                    ELSE {d["shard"].format(expr=f"c.k % {SHARDS}")} END,
               {f}, 'usd', 'payments', 'card',
               CASE WHEN {mine} THEN c.amount ELSE -c.amount END, 0,
               CASE WHEN {mine} THEN c.amount ELSE -c.amount END,
               {d["empty_json"]}, 'charge', 'charge', 'available', {FUNDED}, {FUNDED}, NULL,
               {d["charge"].format(expr="c.k")}
        FROM (SELECT i, i / 2 AS k, 1000 + (i / 2 * 7919) % 99000 AS amount FROM {txn_from}) AS c
    """  # noqa: S608
    from_history = """
        UPDATE balances SET available = t.available, pending = t.pending, next_settle_at = t.next_settle_at
        FROM (SELECT balance_seq,
                     sum(CASE WHEN status = 'available' THEN net ELSE 0 END) AS available,
                     sum(CASE WHEN status = 'pending' THEN net ELSE 0 END) AS pending,
                     min(CASE WHEN status = 'pending' THEN available_on END) AS next_settle_at
              FROM balance_transactions GROUP BY balance_seq) AS t
        WHERE balances.seq = t.balance_seq
    """
    runs = (
        f"{with_n} INSERT INTO payout_runs (account_id, livemode, next_run_at) "  # noqa: S608
        f"SELECT {acct}, {f}, {NOW} FROM {from_n}"
    )
    out = [system, connected, banks, buckets, world, transactions, from_history, runs]
    if backend == "postgresql":  # explicit keys were given: move the sequences past them
        out += [
            f"SELECT setval(pg_get_serial_sequence('{table}', 'seq'), (SELECT max(seq) FROM {table}))"  # noqa: S608
            for table in ("accounts", "balances", "balance_transactions")
        ]
    return out


def _params() -> dict[str, str]:
    return {
        "account": json.dumps(ACCOUNT_TEMPLATE),
        "bank": json.dumps(BANK_TEMPLATE),
        "internal": json.dumps(BANK_INTERNAL),
    }


def seed(backend: str, url: str, accounts: int) -> None:
    """Seed an empty database at `url`, migrated to head, with `accounts` accounts due for a payout."""
    statements = _statements(backend, accounts)
    params = _params()
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")  # seeding only; the run uses the server's settings
            conn.execute("PRAGMA cache_size=-1048576")
            conn.execute("BEGIN IMMEDIATE")
            for stmt in statements:
                used = {k: v for k, v in params.items() if f":{k}" in stmt}
                conn.execute(stmt, used)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        conninfo = _conninfo(url)
        with psycopg.connect(conninfo) as pg:
            for stmt in statements:
                used = {k: v for k, v in params.items() if f"%({k})s" in stmt}
                pg.execute(stmt, used or None)
            pg.commit()
        with psycopg.connect(conninfo, autocommit=True) as pg:
            for table in ("accounts", "resources", "balances", "balance_transactions", "payout_runs"):
                pg.execute(f"VACUUM ANALYZE {table}")


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def check(url: str, *, accounts: int, paid: bool) -> dict[str, int]:
    """`check_ledger` must find nothing, and the accounts must be as the scenario expects (see module
    docstring). Returns the counts it checked."""
    from sqlalchemy import func, select

    from payoutkit.store.db import READONLY, make_engine
    from payoutkit.store.invariants import check_ledger
    from payoutkit.store.schema import balance_transactions as t
    from payoutkit.store.schema import balances as b
    from payoutkit.store.schema import payout_runs, payout_tracking, resources

    mine = b.c.account_id.like("acct_bench%")
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            violations = check_ledger(conn)
            if violations:
                raise AssertionError(
                    f"check_ledger found {len(violations)} violations "
                    f"({'after' if paid else 'before'} the run):\n  " + "\n  ".join(violations[:20])
                )
            got = {
                "payouts": conn.execute(select(func.count()).where(resources.c.object == "payout")),
                "tracking": conn.execute(select(func.count()).select_from(payout_tracking)),
                "automatic_payouts": conn.execute(
                    select(func.count()).where(
                        resources.c.object == "payout", resources.c.data["automatic"].as_boolean()
                    )
                ),
                "holding": conn.execute(select(func.count()).where(mine, b.c.available != 0)),
                "held": conn.execute(select(func.coalesce(func.sum(b.c.available), 0)).where(mine)),
                "unswept": conn.execute(
                    select(func.count()).where(t.c.account_id.like("acct_bench%"), t.c.payout.is_(None))
                ),
                "due": conn.execute(select(func.count()).where(payout_runs.c.next_run_at <= NOW)),
            }
            counts = {k: int(v.scalar_one()) for k, v in got.items()}
    finally:
        engine.dispose()
    want = (
        {
            "payouts": accounts,
            "tracking": accounts,
            "automatic_payouts": accounts,
            "holding": 0,
            "held": 0,
            "unswept": 0,
            "due": 0,
        }
        if paid
        else {"payouts": 0, "tracking": 0, "holding": accounts, "unswept": accounts, "due": accounts}
    )
    wrong = {k: (counts[k], v) for k, v in want.items() if counts[k] != v}
    if wrong:
        raise AssertionError(f"{'after' if paid else 'before'} the run, (found, expected): {wrong}")
    return counts


# -- the timed run (child process) ------------------------------------------------------------------

_VERB = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)")
_FROM = re.compile(r"\bFROM\s+(\w+)")


def _label(sql: str) -> str:
    lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    write = _VERB.match(sql)
    if write and write.group(2) == "balance_transactions" and "payout IS NULL" in sql:
        return "UPDATE balance_transactions (the sweep)"
    if write:
        return f"{write.group(1).split()[0]} {write.group(2)}"
    read = _FROM.search(sql)
    if read:
        return f"SELECT {read.group(1)}{lock}"
    return " ".join(sql.split())[:30]


class _Statements:
    """Statements by kind: how many, and the wall time from each one's execute to the next's."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self._current: tuple[str, float] | None = None

    def before(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        now = time.perf_counter()
        self.stop(now)
        self._current = (_label(statement), now)

    def stop(self, now: float | None = None) -> None:
        if self._current is not None:
            label, started = self._current
            entry = self.stats[label]
            entry[0] += 1
            entry[1] += (now or time.perf_counter()) - started
            self._current = None


@contextlib.contextmanager
def _counting(engine: Any, on: bool) -> Iterator[_Statements]:
    from sqlalchemy import event

    stmts = _Statements()
    if on:
        event.listen(engine, "before_cursor_execute", stmts.before)
    try:
        yield stmts
    finally:
        if on:
            event.remove(engine, "before_cursor_execute", stmts.before)


def timed_run(url: str, now: int, *, statements: bool = False, wait: bool = False) -> dict[str, Any]:
    """Every payout run due at `now`, a unit of work of at most 200 accounts at a time, as the worker."""
    from payoutkit.services.actor import Moment
    from payoutkit.services.payouts import run_automatic
    from payoutkit.services.rail import SimulatedRail
    from payoutkit.store.db import Database

    db = Database(url)
    moment, rail = Moment.job(False, now), SimulatedRail()
    units: list[dict[str, float]] = []
    try:
        if wait:
            print("READY", flush=True)
            sys.stdin.readline()
        with _counting(db.engine, statements) as stmts:
            started = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                n = db.transaction(run_automatic, moment, rail, limit=200)
                stmts.stop()
                units.append({"accounts": n, "seconds": time.perf_counter() - t0})
                if n == 0:
                    break
            seconds = time.perf_counter() - started
    finally:
        db.dispose()
    return {
        "accounts": sum(int(u["accounts"]) for u in units),
        "seconds": seconds,
        "units": units,
        "statements": {k: {"calls": int(v[0]), "seconds": v[1]} for k, v in stmts.stats.items()},
    }


def run_child(
    url: str, timeout: float, *, statements: bool = False, profile: Path | None = None
) -> dict[str, Any]:
    """`timed_run` in a child process (py-spy, when `profile` is given, samples it from start to end)."""
    from bench.profile import py_spy
    from bench.servers import REPO, VENV_BIN

    python = VENV_BIN / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "bench.autopayout", url, str(NOW)]
    argv += ["--statements"] if statements else []
    argv += ["--wait"] if profile else []
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
        )
        spy: subprocess.Popen[bytes] | None = None
        try:
            assert child.stdin is not None
            assert child.stdout is not None
            if profile is not None:
                if child.stdout.readline().strip() != "READY":
                    raise RuntimeError("the autopayout child did not start")
                exe = py_spy()
                assert exe is not None
                spy_argv = [exe, "record", "-p", str(child.pid), "-r", "100", "-f", "raw", "-o", str(profile)]
                spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.5)  # py-spy attaches
                child.stdin.write("go\n")
                child.stdin.flush()
            out, _ = child.communicate(timeout=timeout)
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            if spy is not None:
                try:
                    spy.wait(60)  # it stops when the child exits
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"the autopayout child failed ({child.returncode}):\n{err.read()[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def seed_swept_history(backend: str, url: str, accounts: int, per_account: int) -> None:
    """Give each seeded account `per_account` older available transactions (+1 each, against the world's
    shards) already swept by an earlier payout, as a long-lived automatic account has; the buckets are
    set from their transactions again, so the ledger stays whole."""
    if per_account <= 0:
        return
    d = _SQL[backend]
    rows = 2 * accounts * per_account
    last = rows - 1
    with_n, from_n = d["series"].format(last=last), d["from_series"].format(last=last)
    k = f"(i / 2) % {accounts}"
    mine = "i % 2 = 0"
    sql = f"""
        {with_n}
        INSERT INTO balance_transactions (id, balance_seq, account_id, livemode, currency, balance_type,
            source_type, amount, fee, net, fee_details, type, reporting_category, status, available_on,
            created, description, source, payout)
        SELECT {d["txn"].format(expr="i").replace("txn_bench", "txn_old")},
               CASE WHEN {mine} THEN {k} + 1 ELSE {accounts + 1} + (i / 2) % {SHARDS} END,
               CASE WHEN {mine} THEN {d["acct"].format(expr=k)}
                    ELSE {d["shard"].format(expr=f"(i / 2) % {SHARDS}")} END,
               {d["false"]}, 'usd', 'payments', 'card', CASE WHEN {mine} THEN 1 ELSE -1 END, 0,
               CASE WHEN {mine} THEN 1 ELSE -1 END, {d["empty_json"]}, 'charge', 'charge', 'available',
               {FUNDED - DAY}, {FUNDED - DAY}, NULL, NULL,
               CASE WHEN {mine} THEN 'po_benchearlier' ELSE NULL END
        FROM {from_n}
    """  # noqa: S608
    resync = _statements(backend, accounts)[6]  # every bucket from its transactions
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA cache_size=-1048576")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql)
            conn.execute(resync)
            conn.execute("COMMIT")
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        with psycopg.connect(_conninfo(url)) as pg:
            pg.execute(sql)
            pg.execute(resync)
            pg.commit()
        with psycopg.connect(_conninfo(url), autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE balance_transactions")
            pg.execute("VACUUM ANALYZE balances")


def sweep_plan(backend: str, url: str) -> str:
    """How the store runs the sweep for one account's bucket (EXPLAIN, literal values)."""
    sql = (
        "UPDATE balance_transactions SET payout = 'po_x' WHERE balance_seq = 1 AND status = 'available' "
        "AND payout IS NULL"
    )
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return "; ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
    with psycopg.connect(_conninfo(url)) as pg:
        lines = [str(r[0]).strip() for r in pg.execute("EXPLAIN " + sql)]
        pg.rollback()
    return "; ".join(ln.split("  (cost")[0] for ln in lines[1:3])


# -- the scenario ----------------------------------------------------------------------------------


@dataclass
class Run:
    accounts: int
    seconds: float  # from the first unit of work's start to the last one's end (it returned 0)
    units: int
    payouts: int  # payouts in the store afterwards, every check passed
    first_ms: float  # ms per account over the first tenth of the units of work…
    last_ms: float  # …and over the last tenth (a per-account cost that grows with the run shows here)
    seed_seconds: float
    check_seconds: float
    loadavg: str

    @property
    def rate(self) -> float:
        return self.accounts / self.seconds if self.seconds else 0.0


@dataclass
class Probe:
    accounts: int
    history: int  # swept available transactions per account before the run
    ms_per_account: float
    sweep_ms: float  # of which the sweep statement (per account)
    plan: str


@dataclass
class Autopayout:
    backend: str
    runs: list[Run] = field(default_factory=list)
    profile: dict[str, Any] | None = None
    probes: list[Probe] = field(default_factory=list)
    skipped: list[tuple[int, float]] = field(default_factory=list)  # (accounts, predicted seconds)


def _per_account_ms(units: list[dict[str, float]]) -> tuple[float, float]:
    busy = [u for u in units if u["accounts"]]
    tenth = max(1, len(busy) // 10)

    def ms(part: list[dict[str, float]]) -> float:
        n = sum(u["accounts"] for u in part)
        return 1000 * sum(u["seconds"] for u in part) / n if n else 0.0

    return ms(busy[:tenth]), ms(busy[-tenth:])


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    from bench.payouts import loadavg, log
    from bench.servers import database
    from payoutkit.store.migrations import upgrade

    out = Autopayout(backend)
    res.autopayout.append(out)
    for n in cfg.autopayout_sizes:
        if out.runs and cfg.autopayout_budget:  # the per-account cost is flat: the last size predicts
            predicted = n * out.runs[-1].seconds / out.runs[-1].accounts
            if predicted > cfg.autopayout_budget:
                out.skipped.append((n, predicted))
                log(
                    f"{backend}: {n:,} accounts skipped: the {out.runs[-1].accounts:,} run predicts "
                    f"~{predicted:,.0f} s, over the {cfg.autopayout_budget:,.0f} s budget"
                )
                continue
        with database(backend, cluster, f"bench_autopayout_{n}") as url:
            upgrade(url)
            t0 = time.monotonic()
            seed(backend, url, n)
            seeded = time.monotonic() - t0
            t0 = time.monotonic()
            check(url, accounts=n, paid=False)
            checked = time.monotonic() - t0
            log(
                f"{backend}: {n:,} accounts due seeded in {seeded:.1f} s; "
                f"check_ledger clean ({checked:.1f} s)"
            )
            before = loadavg()
            got = run_child(url, cfg.autopayout_timeout)
            after = loadavg()
            t0 = time.monotonic()
            counts = check(url, accounts=n, paid=True)
            checked += time.monotonic() - t0
        first, last = _per_account_ms(got["units"])
        run = Run(
            n,
            got["seconds"],
            len(got["units"]),
            counts["payouts"],
            first,
            last,
            seeded,
            checked,
            f"{before} / {after}",
        )
        out.runs.append(run)
        log(
            f"  {backend}: {run.accounts:,} accounts paid out in {run.seconds:,.1f} s ({run.rate:,.0f}/s, "
            f"{run.units} units; ms per account {first:.2f} first tenth, {last:.2f} last tenth); "
            f"{run.payouts:,} payouts, every account at 0 available, check_ledger clean"
        )
    if cfg.autopayout_profile:
        out.profile = _profile(backend, cluster, cfg.autopayout_profile, cfg.autopayout_timeout)
    for history in cfg.autopayout_probe:
        n = PROBE_ACCOUNTS
        with database(backend, cluster, f"bench_autopayout_probe_{history}") as url:
            upgrade(url)
            seed(backend, url, n)
            seed_swept_history(backend, url, n, history)
            check(url, accounts=n, paid=False)
            plan = sweep_plan(backend, url)
            got = run_child(url, cfg.autopayout_timeout, statements=True)
            check(url, accounts=n, paid=True)
        sweep = got["statements"].get("UPDATE balance_transactions (the sweep)", {}).get("seconds", 0.0)
        probe = Probe(n, history, 1000 * got["seconds"] / n, 1000 * sweep / n, plan)
        out.probes.append(probe)
        log(
            f"  {backend}: {n} accounts with {history:,} swept txns each: {probe.ms_per_account:.2f} ms per "
            f"account, of which the sweep {probe.sweep_ms:.2f} ms ({plan})"
        )


PROBE_ACCOUNTS = 100


def _profile(backend: str, cluster: PostgresCluster | None, n: int, timeout: float) -> dict[str, Any]:
    """One more run, sampled by py-spy from start to end, statements counted: where the time goes."""
    from bench.payouts import log
    from bench.profile import payoutkit_inclusive, py_spy, summarize
    from bench.servers import database
    from payoutkit.store.migrations import upgrade

    with database(backend, cluster, f"bench_autopayout_profile_{n}") as url:
        upgrade(url)
        seed(backend, url, n)
        with tempfile.TemporaryDirectory() as tmp:
            spy = Path(tmp) / "profile.txt" if py_spy() else None
            log(
                f"{backend}: profiling a run of {n:,} accounts (statements counted"
                f"{', py-spy on the child' if spy else '; py-spy is not installed'})"
            )
            got = run_child(url, timeout, statements=True, profile=spy)
            prof = summarize(spy) if spy is not None and spy.exists() else None
        check(url, accounts=n, paid=True)
    out: dict[str, Any] = {
        "accounts": n,
        "seconds": got["seconds"],
        "statements": got["statements"],
    }
    if prof is not None:
        out |= {
            "samples": prof.samples,
            "layers": [(k, round(prof.share(v), 1)) for k, v in prof.by_layer.most_common(8)],
            "self": [(k, round(prof.share(v), 1)) for k, v in prof.self_time.most_common(10)],
            "inclusive": [(k, round(prof.share(v), 1)) for k, v in payoutkit_inclusive(prof, 16)],
        }
    return out


# -- the doc section -------------------------------------------------------------------------------


def section(res: Results) -> str:
    from bench.payouts import machine_line

    rows = [
        "| Backend | accounts due | seconds | accounts/s | ms per account (first / last tenth of the units) "
        "| units of work | payouts made | seeding s | checks s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in res.autopayout:
        for r in a.runs:
            rows.append(
                f"| {a.backend} | {r.accounts:,} | **{r.seconds:,.1f}** | {r.rate:,.0f} | "
                f"{r.first_ms:.2f} / {r.last_ms:.2f} | {r.units:,} | {r.payouts:,} | "
                f"{r.seed_seconds:.1f} | {r.check_seconds:.1f} |"
            )
        for n, predicted in a.skipped:
            rows.append(f"| {a.backend} | {n:,} | not run: ~{predicted:,.0f} s predicted | | | | | | |")
    loads = "; ".join(f"{a.backend} {r.accounts:,}: {r.loadavg}" for a in res.autopayout for r in a.runs)
    rows += [
        "",
        "Seeded straight into a database migrated to head, set-based (bench/autopayout.py): a platform, "
        "the system accounts, and N connected accounts as `POST /v1/accounts type=custom` makes them "
        "(daily schedule, the platform liable), each with a default `btok_us_verified` bank account, "
        "one usd card bucket holding one available transaction of 1,000..99,999 (booked against the "
        "16 `sys_world_NN` buckets) and a `payout_runs` row due now. Timed, in a process of its own: "
        "`run_automatic(conn, Moment.job(False, now), SimulatedRail(), limit=200)` in units of work "
        "through `Database(url).transaction` until it returns 0, as the worker's tick does. Checked "
        "before (`check_ledger`, every account holds its funds and is due) and after: one automatic "
        "payout and tracking row per account, every account's available is 0, every one of their "
        "transactions is swept by its payout, no run is still due, and `check_ledger` is clean. A size is "
        "not run when the previous one predicts (at its accounts/s: the cost per account is flat, see the "
        f"tenths) that it would take over {res.config.autopayout_budget:,.0f} s. "
        f"Load average before / after each run: {loads}.",
        "",
        machine_line(res),
    ]
    profiled = [a for a in res.autopayout if a.profile]
    if profiled:
        rows += [
            "",
            "Statements per account in a run of "
            + ", ".join(f"{a.profile['accounts']:,} accounts ({a.backend})" for a in profiled if a.profile)
            + " (counted through SQLAlchemy's cursor events, in a run of its own; time is from a statement's "
            "execute to the next one's, so the Python between them is included):",
            "",
            "| Statement | "
            + " | ".join(f"{a.backend} per account | {a.backend} share" for a in profiled)
            + " |",
            "|---|" + "---:|---:|" * len(profiled),
        ]
        labels = sorted(
            {k for a in profiled if a.profile for k in a.profile["statements"]},
            key=lambda k: (
                -max(a.profile["statements"].get(k, {}).get("seconds", 0.0) for a in profiled if a.profile)
            ),
        )
        for label in labels:
            cells = []
            for a in profiled:
                assert a.profile is not None
                st, total = (
                    a.profile["statements"],
                    sum(v["seconds"] for v in a.profile["statements"].values()),
                )
                v = st.get(label)
                cells.append(
                    f"{v['calls'] / a.profile['accounts']:.2f} | {100 * v['seconds'] / total:.0f}%"
                    if v
                    else "- | -"
                )
            rows.append(f"| `{label}` | {' | '.join(cells)} |")
        totals = [
            sum(v["calls"] for v in a.profile["statements"].values()) / a.profile["accounts"]
            for a in profiled
            if a.profile
        ]
        rows.append("| all | " + " | ".join(f"**{t:.1f}** | 100%" for t in totals) + " |")
        for a in profiled:
            p = a.profile
            if p is None or "samples" not in p:
                continue
            rows += [
                "",
                f"py-spy on the {a.backend} run ({p['samples']:,} samples):",
                "",
                "| Layer (self time) | share | Payoutkit function (inclusive) | share |",
                "|---|---:|---|---:|",
            ]
            layers, incl = p["layers"], p["inclusive"]
            for i in range(max(len(layers), len(incl))):
                x = f"{layers[i][0]} | {layers[i][1]:.1f}%" if i < len(layers) else " | "
                y = f"`{incl[i][0]}` | {incl[i][1]:.1f}%" if i < len(incl) else " | "
                rows.append(f"| {x} | {y} |")
    probes = [(a.backend, p) for a in res.autopayout for p in a.probes]
    if probes:
        rows += [
            "",
            f"Cost of a run against the history an account has already been paid out ({PROBE_ACCOUNTS} "
            "accounts, each with N older available transactions that an earlier automatic payout swept; "
            "one unit of work):",
            "",
            "| Backend | swept txns per account | ms per account | of which the sweep statement "
            "| plan of the sweep |",
            "|---|---:|---:|---:|---|",
        ]
        for backend, probe in probes:
            rows.append(
                f"| {backend} | {probe.history:,} | **{probe.ms_per_account:.2f}** | {probe.sweep_ms:.2f} "
                f"| {probe.plan} |"
            )
    return "\n".join(rows)


def summary_lines(res: Results) -> list[str]:
    out = []
    for a in res.autopayout:
        for r in a.runs:
            out.append(
                f"  {a.backend:10s} {r.accounts:>9,} accounts {r.seconds:9,.1f} s {r.rate:7,.0f}/s  "
                f"ms/account {r.first_ms:.2f} -> {r.last_ms:.2f}  payouts {r.payouts:,}"
            )
        for p in a.probes:
            out.append(
                f"  {a.backend:10s} swept history {p.history:>7,}: {p.ms_per_account:.2f} ms/account "
                f"(sweep {p.sweep_ms:.2f})"
            )
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    flags = {a for a in args if a.startswith("--")}
    url_arg, now_arg = (a for a in args if not a.startswith("--"))
    print(
        json.dumps(
            timed_run(url_arg, int(now_arg), statements="--statements" in flags, wait="--wait" in flags)
        )
    )
