"""The settle scenario: seed many due pending balance transactions, then time ONE settlement of them.

`seed(url, txns, per_bucket)` makes, through the API in this process (bench/template.py), the platform
(first start) and ONE connected account the platform is not liable for (`controller[losses][payments]
=stripe`: settling re-syncs no reserves); then, set-based through `payoutkit.store.seeding` (no rows
pass through Python):

- `txns / per_bucket` copies of that account, each with one (test mode, usd, payments, card) bucket;
- `txns` card charges, interleaved over the accounts in time order (charge k goes to account
  k mod accounts), each booked as two balance transactions as a charge is: +amount `pending` on the
  connected account's bucket, available on the second day boundary after it was made, and -amount
  `available` on one of the 16 `sys_world_NN` buckets. Amounts vary (500..9,999); there are no fees.
  Charges were made 8 to 3 days before the settle time, so every pending one is due;
- then every bucket is set from its transactions: `available` and `pending` are the sums of their
  `net`, `next_settle_at` the earliest pending `available_on`.

`check(url)` runs `payoutkit.store.invariants.check_ledger` and fails loudly on any violation.

`python -m bench.settle URL NOW [SHARDS]` (a child process, so its peak RSS is the settlement's own)
settles as the worker does (`worker.run_sharded`): on PostgreSQL one unit of work per shard of the
accounts (`Settings.worker_shards`, or SHARDS), at once on the event loop as in the server
(`Database.start_loop_units`), each `payoutkit.services.settlement.settle(
conn, NOW, livemode=False, shard=…)`; on SQLite (or with one shard) one unit through
`Database.transaction`. It times it (statement by statement, through SQLAlchemy's cursor events,
summed over the shards, and the commit), reads the CPU time of this process and of the
PostgreSQL backends, and prints the figures as one JSON line. `scenario` runs it all.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import greenlet

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection

from bench import seed as seeds
from bench.results import Config, Results, Settle, log, median_of, spread
from bench.servers import REPO, database
from bench.template import account, through_api
from devtools.pg import PostgresCluster
from payoutkit.store import seeding

DAY = 86_400
NOW = 1_767_225_600  # the settle time: 2026-01-01T00:00:00Z
FIRST_CHARGE = NOW - 8 * DAY  # charges are made from here…
CHARGE_SPAN = 5 * DAY  # …for five days: the last one, 3 days before NOW, is available 1-2 days before
PREFIX = "acct_bench"


def seed(url: str, txns: int, per_bucket: int) -> int:
    """Seed an empty database at `url` with `txns` due pending txns; return the number of buckets."""
    if txns % per_bucket:
        raise ValueError(f"{txns} transactions do not split into buckets of {per_bucket}")
    buckets = txns // per_bucket
    template = through_api(url, FIRST_CHARGE, lambda client: account(client, liable=False, bank=False))
    seeds.load(url, lambda conn: _fill(conn, template, txns, buckets))
    return buckets


def _fill(conn: Connection, template: str, txns: int, buckets: int) -> None:
    seeding.copy_account(conn, seeding.Copies(template, buckets, PREFIX))
    seeding.add_buckets(conn, PREFIX, buckets, seeds.KEY)
    seeds.world_buckets(conn)
    seeding.book_pairs(conn, seeding.Pairs(seeds.KEY, txns, PREFIX, buckets, least=500, spread=9_500,
                                           first=FIRST_CHARGE, span=CHARGE_SPAN, pending_days=2,
                                           source="ch_bench"))  # fmt: skip
    seeding.resync_buckets(conn)


def check(url: str, *, txns: int, settled: bool) -> None:
    """`check_ledger` must find nothing; and the pending/due state must be what the scenario expects."""
    from sqlalchemy import func, select

    from payoutkit.store.engines import READONLY, make_engine
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
    ("WITH moved AS", "settle_due: flip due txns, sum and move them per bucket (one statement)"),
    ("UPDATE balance_transactions", "settle_due: flip due txns, summing them per bucket (UPDATE)"),
    ("pending=(balances.pending", "settle_due: move the sums (UPDATE balances, executemany)"),
    ("SET next_settle_at=", "settle_due: next_settle_at from pending txns (UPDATE balances)"),
    ("SELECT balances.seq", "settle_due: find a batch of due buckets"),
    ("FROM connect_reserves", "settle: accounts with reserves"),
    (
        "SELECT accounts.kind, accounts.platform_id, accounts.data FROM accounts WHERE accounts.id =",
        "settle: is_liable, one account at a time",
    ),
)
_VERB_TABLE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(\w+)", re.DOTALL)
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
    """Wall time per kind of statement: from its execute to the next statement's in the same unit (or
    to `stop()`), summed over the units (the worker's shards run at once: the rows then add up to
    more than the wall time). A unit is known by its greenlet: a thread's own, or the one a unit on
    the event loop runs in (store/aio.py).

    A statement's time thus includes fetching its rows (sqlite3 computes them as they are fetched)
    and the Python work that follows it; the rows add up to the whole settlement before the commit.
    """

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self._current: dict[int, tuple[str, float]] = {}
        self._paused: set[int] = set()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._current.pop(_unit(), None)

    def pause(self, paused: bool) -> None:
        (self._paused.add if paused else self._paused.discard)(_unit())

    def before(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        self.stop()
        me = _unit()
        if me not in self._paused:
            self._current[me] = (_label(statement), time.perf_counter())

    def stop(self) -> None:
        current = self._current.pop(_unit(), None)
        if current is not None:
            label, started = current
            with self._lock:
                entry = self.stats[label]
                entry[0] += 1
                entry[1] += time.perf_counter() - started


def _unit() -> int:
    return id(greenlet.getcurrent())


@contextlib.contextmanager
def _statement_timer(engines: Sequence[Any], timer: _StatementTimer) -> Iterator[_StatementTimer]:
    from sqlalchemy import event

    for engine in engines:
        event.listen(engine, "before_cursor_execute", timer.before)
    try:
        yield timer
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", timer.before)


def _vm_hwm_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def _cpu_seconds(pid: int) -> float:
    """A process's CPU time (user + system) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _db_cache(conn: Any) -> tuple[str, int | None]:
    """The store's cache settings, and (PostgreSQL) the backend's pid."""
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        shared = conn.execute(text("SHOW shared_buffers")).scalar_one()
        work_mem = conn.execute(text("SHOW work_mem")).scalar_one()
        return f"shared_buffers={shared}, work_mem={work_mem}", pid
    pages = int(conn.execute(text("PRAGMA cache_size")).scalar_one())
    size = f"{-pages} KiB" if pages < 0 else f"{pages} pages"
    return f"page cache {size} (cache_size={pages}, the server's)", None


class _Settling:
    """What the worker settles, as it does (`worker.settle_all`): one unit of work per shard (one in
    all on SQLite or with one shard), each `settle` until nothing of its share is due (checked,
    untimed, on the buckets' `next_settle_at` index): one call should do, and `calls` says how many it
    took (a call of every shard at once counts as one: the sum moved, the longest time)."""

    def __init__(self, now: int, timer: _StatementTimer) -> None:
        self.now, self.timer = now, timer
        self.calls: dict[int, list[dict[str, float]]] = {}
        self.untimed: dict[int, float] = {}
        self.settled: dict[int, float] = {}
        self.db_cache, self.backend_pids = "?", {}  # type: tuple[str, dict[int, int | None]]
        self.backend_cpu: dict[int, float] = {}

    def _still_due(self, shard: Any) -> Any:
        from sqlalchemy import false, select

        from payoutkit.store.schema import balances
        from payoutkit.store.shards import in_shard

        query = select(balances.c.seq).where(balances.c.next_settle_at <= self.now,
                                             balances.c.livemode == false())  # fmt: skip
        return (query if shard is None else query.where(in_shard(balances.c.account_id))).limit(1)

    def __call__(self, conn: Any, shard: Any = None) -> int:
        from payoutkit.services.settlement import settle
        from payoutkit.store.shards import whole

        shard = whole(shard)
        part = 0 if shard is None else shard.part
        self.timer.reset()  # the settlement's statements only (not BEGIN, not the pid)
        self.timer.pause(True)
        self.db_cache, pid = _db_cache(conn)
        self.timer.pause(False)
        self.backend_pids[part] = pid
        if pid is not None:
            self.backend_cpu.setdefault(part, _cpu_seconds(pid))
        still_due, values = self._still_due(shard), ({} if shard is None else shard.values())
        calls = self.calls[part] = []
        self.untimed[part] = 0.0
        while True:
            started = time.perf_counter()
            moved = settle(conn, self.now, livemode=False, shard=shard)
            self.timer.stop()
            calls.append({"moved": moved, "seconds": time.perf_counter() - started})
            started = time.perf_counter()
            self.timer.pause(True)
            left = conn.execute(still_due, values).first()
            self.timer.pause(False)
            self.untimed[part] += time.perf_counter() - started
            if left is None or moved == 0:
                break
        self.settled[part] = time.perf_counter()
        return sum(int(c["moved"]) for c in calls)

    def rounds(self) -> list[dict[str, float]]:
        out = []
        for i in range(max(len(c) for c in self.calls.values())):
            mine = [c[i] for c in self.calls.values() if len(c) > i]
            out.append({"moved": sum(c["moved"] for c in mine), "seconds": max(c["seconds"] for c in mine)})
        return out


def timed_settle(url: str, now: int, shards: int | None = None) -> dict[str, Any]:
    """Settle everything due at `now` as the worker does (`worker.run_sharded`: one unit of work per
    shard at once on PostgreSQL, one unit on SQLite); the figures as a dict."""
    import anyio

    from payoutkit.config import Settings
    from payoutkit.store.db import Database
    from payoutkit.worker import run_sharded

    shards = Settings().worker_shards if shards is None else shards
    db = Database(url, pool_size=max(1, shards))
    if db.is_sqlite:
        shards = 1
    try:
        rss_base = _vm_hwm_kb(os.getpid())
        cpu_base = _cpu_seconds(os.getpid())
        timer = _StatementTimer()
        unit = _Settling(now, timer)

        async def as_the_server() -> int:
            """The shards as the server's worker runs them: their units on the event loop."""
            await db.start_loop_units()
            try:
                with _statement_timer(db.engines, timer):
                    return sum(await run_sharded(db, unit, shards))
            finally:
                await db.stop_loop_units()

        begin = time.perf_counter()
        if shards > 1:
            moved = anyio.run(as_the_server)
        else:
            with _statement_timer(db.engines, timer):
                moved = db.transaction(unit)
        done = time.perf_counter()
        cpu = _cpu_seconds(os.getpid()) - cpu_base
        rss_peak = _vm_hwm_kb(os.getpid())
        pids = {p: pid for p, pid in unit.backend_pids.items() if pid}
        hwms = [_vm_hwm_kb(pid) for pid in pids.values()]
        backend_hwm = sum(h for h in hwms if h) if pids else None
        spent = [_cpu_seconds(pid) - unit.backend_cpu[p] for p, pid in pids.items()]
        backend_cpu = sum(spent) if pids else None
    finally:
        db.dispose()
    return {
        "moved": moved,
        "shards": shards,
        "seconds": done - begin - max(unit.untimed.values()),
        "commit_seconds": done - max(unit.settled.values()),
        "calls": unit.rounds(),
        "cpu_seconds": cpu,
        "backend_cpu_seconds": backend_cpu,
        "backend_cpu_each": spent,  # per shard's backend: the longest bounds the wall time on free cores
        "rss_base_kb": rss_base,
        "rss_peak_kb": rss_peak,
        "backend_hwm_kb": backend_hwm,
        "db_cache": unit.db_cache,
        "statements": {k: {"calls": int(v[0]), "seconds": v[1]} for k, v in timer.stats.items()},
    }


# -- the scenario (the parent) --------------------------------------------------------------------


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    """Per size: one seed, checked; then `cfg.settle_runs` settlements, each on a fresh copy of it
    (`_copy`: the SQLite file copied, or `CREATE DATABASE … TEMPLATE`), each checked after; the median
    run is kept, with every run's seconds."""
    for txns in cfg.settle_sizes:
        with database(backend, cluster, f"bench_settle_{txns}") as seeded_url:
            log(f"seeding {txns:,} due pending txns ({cfg.settle_per_bucket} per bucket) on {backend}")
            t0 = time.monotonic()
            buckets = seed(seeded_url, txns, cfg.settle_per_bucket)
            seeded = time.monotonic() - t0
            t0 = time.monotonic()
            check(seeded_url, txns=txns, settled=False)
            checked = time.monotonic() - t0
            log(f"  seeded in {seeded:.1f} s ({buckets:,} buckets); check_ledger passes ({checked:.1f} s)")
            runs = []
            # Every size gets the runs (a smaller one is cheap, and a figure is a median with its spread).
            for i in range(cfg.settle_runs):
                with _copy(backend, cluster, seeded_url, f"bench_settle_{txns}_run{i}") as url:
                    runs.append(_settle_once(backend, cluster, cfg, url, (txns, buckets, seeded, checked)))
        s = median_of(runs, lambda r: r.seconds)
        s.all_seconds = [r.seconds for r in runs]
        res.settle.append(s)
        log(f"  {backend} {txns:,} txns: median {s.seconds:.2f} s of {len(runs)} ({spread(s.all_seconds)})")


@contextlib.contextmanager
def _copy(backend: str, cluster: PostgresCluster | None, url: str, name: str) -> Iterator[str]:
    """A copy of the seeded database at `url`, for one settlement (it is changed by settling)."""
    if backend == "sqlite":
        src = Path(url.removeprefix("sqlite:///"))
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
            for suffix in ("", "-wal"):  # the seeding's engine is disposed: the WAL is checkpointed
                if Path(f"{src}{suffix}").exists():
                    shutil.copyfile(f"{src}{suffix}", Path(tmp) / f"payoutkit.db{suffix}")
            yield f"sqlite:///{Path(tmp) / 'payoutkit.db'}"
        return
    assert cluster is not None
    template = url.rsplit("/", 1)[1]
    cluster.terminate_connections(template)
    with cluster.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_database(name)


def _settle_once(backend: str, cluster: PostgresCluster | None, cfg: Config, url: str,
                 seeded: tuple[int, int, float, float]) -> Settle:  # fmt: skip
    txns, buckets, seed_seconds, checked = seeded
    out = _run_settle(url, cfg.settle_timeout)
    t0 = time.monotonic()
    check(url, txns=txns, settled=True)
    checked += time.monotonic() - t0
    if out["moved"] != txns:
        raise AssertionError(f"settled {out['moved']:,} txns, not {txns:,}")
    s = Settle(backend, txns, buckets, out["seconds"], out["commit_seconds"], out["calls"],
               out["statements"], out["rss_base_kb"], out["rss_peak_kb"], out["backend_hwm_kb"],
               out["db_cache"], _settle_storage(backend, cluster), seed_seconds, checked)  # fmt: skip
    peak = f"{s.rss_peak_kb / 1024:,.0f} MiB" if s.rss_peak_kb else "?"
    cpu = f"CPU {out['cpu_seconds']:.2f} s here"
    if out.get("backend_cpu_seconds") is not None:
        cpu += f", {out['backend_cpu_seconds']:.2f} s in the PostgreSQL backends"
    log(f"  {backend} settled {txns:,} txns in {s.seconds:.2f} s ({s.rate:,.0f} txns/s; commit "
        f"{s.commit_seconds:.2f} s; {out['shards']} unit(s) at once; {len(s.calls)} settle() calls; "
        f"peak RSS {peak}; {cpu}); check_ledger passes, nothing pending")  # fmt: skip
    if len(s.calls) > 1:
        first = s.calls[0]
        log(f"  NOTE: one settle() call moved only {first['moved']:,.0f} of {txns:,} due txns "
            f"({len(s.calls)} calls were needed in the unit of work)")  # fmt: skip
    return s


def _settle_storage(backend: str, cluster: PostgresCluster | None) -> str:
    from bench import durability

    return durability.describe(backend, cluster)


def _run_settle(url: str, timeout: float) -> dict[str, Any]:
    """The timed settlement in a child process of its own (so its peak RSS is the settlement's)."""
    argv = [sys.executable, "-m", "bench.settle", url, str(NOW)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the settlement failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    given = int(sys.argv[3]) if len(sys.argv) > 3 else None  # shards (default: the worker's setting)
    print(json.dumps(timed_settle(sys.argv[1], int(sys.argv[2]), given)))
