"""Payoutkit's benchmark: `python bench/run.py [--quick] [--scenarios ...] [--backends ...]`.

Starts its own servers on 127.0.0.1 (`payoutkit serve --simulated-clock` on a fresh SQLite file or a
fresh database of a throwaway PostgreSQL cluster; a bare Starlette app for the ceiling), loads them with
wrk (or bench/aload.py), stops every process it started by its pid, prints the figures and updates the
generated sections of docs/benchmarks.md (not with --quick, unless --docs is given).

Scenarios:
  throughput  POST /v1/charges and GET /v1/balance at concurrency 32: req/s, p50/p99, errors
  history     sequential GET /v1/balance with 1,000 vs 1,000,000 balance transactions on the account
  ceiling     a bare Starlette app on uvicorn answering a trivial JSON endpoint at concurrency 32
  profile     py-spy on the server while POST /v1/charges (and GET /v1/balance) run under load
  settle      one settlement of 1,000,000 due pending balance transactions (and of 100,000), no server
  payouts     POST /v1/payouts at concurrency 32 on one connected account, and round-robin over 32
  autopayout  the worker's automatic payout run over 100,000 due accounts (and 10,000), no server
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import autopayout as autopayout_bench
from bench import payouts as payouts_bench
from bench import report
from bench import settle as settle_bench
from bench.load import LoadResult, SeqResult, have_wrk, run_load, sequential
from bench.machine import describe, filesystem
from bench.profile import Profile, py_spy, record, summarize
from bench.seed import count_txns, seed_postgresql, seed_sqlite
from bench.servers import (
    REPO,
    ServerProcess,
    auth_headers,
    ceiling_server,
    database,
    payoutkit_server,
)
from devtools.pg import PostgresCluster
from payoutkit.store.migrations import upgrade

SCENARIOS = ("throughput", "history", "ceiling", "profile", "settle", "payouts", "autopayout")
BACKENDS = ("sqlite", "postgresql")
CHARGE_BODY = "amount=1000&currency=usd&source=tok_visa"
# (name, method, path, body): the two endpoints the issue asks about.
ENDPOINTS = (
    ("POST /v1/charges", "POST", "/v1/charges", CHARGE_BODY),
    ("GET /v1/balance", "GET", "/v1/balance", ""),
)
# What later issues design toward; reported beside the figures, never asserted.
TARGETS = {
    ("sqlite", "POST /v1/charges"): 2000,
    ("postgresql", "POST /v1/charges"): 1000,
    ("sqlite", "GET /v1/balance"): 5000,
    ("postgresql", "GET /v1/balance"): 5000,
}
CEILING_CLAIM = 17_000  # req/s the issue quotes for a bare Starlette app on this machine


@dataclass(frozen=True)
class Config:
    duration: float
    warmup: float
    repeat: int
    concurrency: int
    max_requests: int
    threads: int
    tool: str
    history_small: int
    history_large: int
    seq_requests: int
    seq_seconds: float
    profile_seconds: int
    settle_sizes: tuple[int, ...]  # due pending txns per settle measurement
    settle_per_bucket: int  # of them per connected account's bucket
    settle_timeout: float  # seconds one settlement may take before the scenario fails
    autopayout_sizes: tuple[int, ...] = (10_000, 100_000)  # accounts due per autopayout measurement
    autopayout_timeout: float = 1800  # seconds one automatic payout run may take
    autopayout_budget: float = 600  # skip a size whose run the previous size predicts to take longer
    autopayout_profile: int = 10_000  # accounts in the extra, profiled run (0: none)
    autopayout_probe: tuple[int, ...] = (0, 1_000, 10_000)  # swept txns per account, history probe


FULL = Config(duration=10, warmup=3, repeat=3, concurrency=32, max_requests=1_000_000, threads=2, tool="auto",
              history_small=1_000, history_large=1_000_000, seq_requests=2_000, seq_seconds=60,
              profile_seconds=12, settle_sizes=(100_000, 1_000_000), settle_per_bucket=100,
              settle_timeout=600)  # fmt: skip
QUICK = Config(duration=2, warmup=1, repeat=1, concurrency=32, max_requests=200_000, threads=2, tool="auto",
               history_small=200, history_large=20_000, seq_requests=300, seq_seconds=15,
               profile_seconds=4, settle_sizes=(100_000,), settle_per_bucket=100,
               settle_timeout=120, autopayout_sizes=(2_000,), autopayout_timeout=300,
               autopayout_profile=1_000, autopayout_probe=(0, 1_000))  # fmt: skip


@dataclass
class Throughput:
    backend: str
    endpoint: str
    runs: list[LoadResult]
    warmup_errors: int
    target: int | None = None

    @property
    def median(self) -> LoadResult:
        ordered = sorted(self.runs, key=lambda r: r.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        return self.warmup_errors + sum(r.errors for r in self.runs)


@dataclass
class History:
    backend: str
    txns: int
    balance: SeqResult
    listing: SeqResult


@dataclass
class Settle:
    backend: str
    txns: int
    buckets: int
    seconds: float  # the whole unit of work: settle() until nothing is due, and the commit
    commit_seconds: float
    calls: list[dict[str, float]]  # per settle() call: txns moved, seconds
    statements: dict[str, dict[str, float]]  # label -> calls, seconds (see bench/settle.py)
    rss_base_kb: int | None  # the settling process: VmHWM before, and after (its peak)
    rss_peak_kb: int | None
    backend_hwm_kb: int | None  # PostgreSQL: the backend's VmHWM (shared buffers it touched included)
    db_cache: str
    storage: str
    seed_seconds: float
    check_seconds: float

    @property
    def rate(self) -> float:
        return self.txns / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    config: Config
    machine: dict[str, str] = field(default_factory=dict)
    storage: dict[str, str] = field(default_factory=dict)
    throughput: list[Throughput] = field(default_factory=list)
    history: list[History] = field(default_factory=list)
    ceiling: Throughput | None = None
    profiles: list[tuple[str, str, Profile]] = field(default_factory=list)
    settle: list[Settle] = field(default_factory=list)
    payouts: list[payouts_bench.PayoutLoad] = field(default_factory=list)
    autopayout: list[autopayout_bench.Autopayout] = field(default_factory=list)

    @property
    def errors(self) -> int:
        n = sum(t.errors for t in self.throughput) + (self.ceiling.errors if self.ceiling else 0)
        n += sum(p.errors for p in self.payouts)
        return n + sum(h.balance.errors + h.listing.errors for h in self.history)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- scenarios -------------------------------------------------------------------------------------


def measure(url: str, cfg: Config, *, method: str = "GET", body: str = "", auth: str = "",
            label: str) -> tuple[list[LoadResult], int]:  # fmt: skip
    kw: dict[str, Any] = {"method": method, "body": body, "auth": auth, "concurrency": cfg.concurrency,
                          "threads": cfg.threads, "tool": cfg.tool}  # fmt: skip
    warm = run_load(url, duration=cfg.warmup, max_requests=cfg.max_requests, **kw)
    runs = []
    for i in range(cfg.repeat):
        r = run_load(url, duration=cfg.duration, max_requests=cfg.max_requests, **kw)
        log(f"  {label} run {i + 1}/{cfg.repeat}: {r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, "
            f"p99 {r.p99_ms:.1f} ms, errors {r.errors}{' (capped)' if r.capped else ''}")  # fmt: skip
        runs.append(r)
    return runs, warm.errors


@contextlib.contextmanager
def server_for(backend: str, cluster: PostgresCluster | None, name: str) -> Iterator[ServerProcess]:
    with database(backend, cluster, name) as url, payoutkit_server(url) as srv:
        log(f"payoutkit on {backend} started: pid {srv.pid}, {srv.url}")
        try:
            yield srv
        finally:
            log(f"stopping payoutkit pid {srv.pid}")


def scenario_throughput(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    auth = auth_headers()["Authorization"]
    for name, method, path, body in ENDPOINTS:
        # A fresh database per endpoint, so the reads do not run on the charges' history.
        slug = path.strip("/").replace("/", "_")
        with server_for(backend, cluster, f"bench_tp_{slug}") as srv:
            if method == "GET":  # something to read: one charge
                sequential_post(srv, "/v1/charges", CHARGE_BODY, 1)
            runs, warm_errors = measure(srv.url + path, cfg, method=method, body=body, auth=auth,
                                        label=f"{backend} {name}")  # fmt: skip
        res.throughput.append(Throughput(backend, name, runs, warm_errors, TARGETS.get((backend, name))))


def sequential_post(srv: ServerProcess, path: str, body: str, count: int, max_seconds: float = 300) -> None:
    import http.client

    headers = {**auth_headers(), "Content-Type": "application/x-www-form-urlencoded"}
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    deadline = time.monotonic() + max_seconds
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                raise TimeoutError(f"seeding {count} requests took over {max_seconds}s")
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"POST {path} answered {resp.status}: {data[:300]!r}")
    finally:
        conn.close()


def _history_measure(srv: ServerProcess, backend: str, txns: int, cfg: Config) -> History:
    headers = auth_headers()
    limit = cfg.seq_seconds
    sequential(srv.port, "/v1/balance", headers, count=min(200, cfg.seq_requests), max_seconds=limit)
    bal = sequential(srv.port, "/v1/balance", headers, count=cfg.seq_requests, max_seconds=limit)
    lst = sequential(srv.port, "/v1/balance_transactions?limit=10", headers,
                     count=max(50, cfg.seq_requests // 4), max_seconds=cfg.seq_seconds)  # fmt: skip
    log(
        f"  {backend} history {txns:,} txns: GET /v1/balance p50 {bal.p50_ms:.2f} ms"
        f" p99 {bal.p99_ms:.2f} ms ({bal.requests} requests, {bal.errors} errors);"
        f" list p50 {lst.p50_ms:.2f} ms p99 {lst.p99_ms:.2f} ms"
    )
    return History(backend, txns, bal, lst)


def scenario_history(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    with database(backend, cluster, "bench_history") as url:
        # 1. The small history through the API (each charge: one txn on the platform account).
        with payoutkit_server(url) as srv:
            log(f"payoutkit on {backend}: pid {srv.pid}; {cfg.history_small:,} charges through the API")
            sequential_post(srv, "/v1/charges", CHARGE_BODY, cfg.history_small)
            small = _txn_count(backend, url, cluster)
            res.history.append(_history_measure(srv, backend, small, cfg))
        # 2. The rest straight into the store, set-based, while no server runs; then measure again.
        extra = cfg.history_large - small
        log(f"seeding {extra:,} more balance transactions (and {extra:,} opposite ones on sys_world)")
        t0 = time.monotonic()
        if backend == "sqlite":
            _, large = seed_sqlite(url.removeprefix("sqlite:///"), extra)
        else:
            assert cluster is not None
            _, large = seed_postgresql(cluster.conninfo("bench_history"), extra)
        log(f"  seeded in {time.monotonic() - t0:.1f} s; ledger checks pass; account has {large:,} txns")
        with payoutkit_server(url) as srv:
            log(f"payoutkit on {backend} restarted: pid {srv.pid}")
            res.history.append(_history_measure(srv, backend, large, cfg))


def _txn_count(backend: str, url: str, cluster: PostgresCluster | None) -> int:
    if backend == "sqlite":
        import sqlite3

        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            acct = conn.execute("SELECT id FROM accounts WHERE kind = 'platform' ORDER BY seq LIMIT 1")
            return count_txns(conn, backend, acct.fetchone()[0])
    assert cluster is not None
    with cluster.connect("bench_history") as pg:
        row = pg.execute("SELECT id FROM accounts WHERE kind = 'platform' ORDER BY seq LIMIT 1").fetchone()
        assert row is not None
        return count_txns(pg, backend, str(row[0]))


def scenario_ceiling(cfg: Config, res: Results) -> None:
    with ceiling_server() as srv:
        log(f"bare Starlette app started: pid {srv.pid}, {srv.url}")
        runs, warm_errors = measure(srv.url + "/", cfg, label="ceiling GET /")
        log(f"stopping ceiling app pid {srv.pid}")
    res.ceiling = Throughput("-", "bare Starlette GET / (JSON)", runs, warm_errors, CEILING_CLAIM)


def scenario_profile(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    if py_spy() is None:
        log("profile skipped: py-spy is not installed (.venv/bin/pip install py-spy)")
        return
    auth = auth_headers()["Authorization"]
    for name, method, path, body in ENDPOINTS:
        slug = path.strip("/").replace("/", "_")
        with server_for(backend, cluster, f"bench_prof_{slug}") as srv, tempfile.TemporaryDirectory() as tmp:
            if method == "GET":
                sequential_post(srv, "/v1/charges", CHARGE_BODY, 1)
            load: dict[str, Any] = {"method": method, "body": body, "auth": auth, "tool": cfg.tool,
                                    "concurrency": cfg.concurrency, "threads": cfg.threads,
                                    "max_requests": cfg.max_requests}  # fmt: skip
            run_load(srv.url + path, duration=cfg.warmup, **load)
            out = Path(tmp) / "profile.txt"
            result: list[LoadResult] = []
            seconds = cfg.profile_seconds + 2
            loader = threading.Thread(target=_append_load, args=(result, srv.url + path, seconds, load),
                                      daemon=True)  # fmt: skip
            loader.start()
            try:
                time.sleep(1)
                log(f"py-spy record on pid {srv.pid} for {cfg.profile_seconds} s under {name} load")
                record(srv.pid, cfg.profile_seconds, out)
            finally:
                loader.join(cfg.profile_seconds + 90)
            prof = summarize(out)
            res.profiles.append((backend, name, prof))
            rate = f"{result[0].rps:,.0f} req/s while sampled" if result else "load failed"
            log(f"  {prof.samples} samples ({rate})")


def scenario_settle(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    for txns in cfg.settle_sizes:
        with database(backend, cluster, f"bench_settle_{txns}") as url:
            upgrade(url)
            log(f"seeding {txns:,} due pending txns ({cfg.settle_per_bucket} per bucket) on {backend}")
            t0 = time.monotonic()
            buckets = settle_bench.seed(backend, url, txns, cfg.settle_per_bucket)
            seeded = time.monotonic() - t0
            t0 = time.monotonic()
            settle_bench.check(url, txns=txns, settled=False)
            checked = time.monotonic() - t0
            log(f"  seeded in {seeded:.1f} s ({buckets:,} buckets); check_ledger passes ({checked:.1f} s)")
            out = _run_settle(url, cfg.settle_timeout)
            t0 = time.monotonic()
            settle_bench.check(url, txns=txns, settled=True)
            checked += time.monotonic() - t0
        if out["moved"] != txns:
            raise AssertionError(f"settled {out['moved']:,} txns, not {txns:,}")
        s = Settle(backend, txns, buckets, out["seconds"], out["commit_seconds"], out["calls"],
                   out["statements"], out["rss_base_kb"], out["rss_peak_kb"], out["backend_hwm_kb"],
                   out["db_cache"], _settle_storage(backend, cluster), seeded, checked)  # fmt: skip
        res.settle.append(s)
        peak = f"{s.rss_peak_kb / 1024:,.0f} MiB" if s.rss_peak_kb else "?"
        log(f"  {backend} settled {txns:,} txns in {s.seconds:.2f} s ({s.rate:,.0f} txns/s; commit "
            f"{s.commit_seconds:.2f} s; {len(s.calls)} settle() calls; peak RSS {peak}); "
            "check_ledger passes, nothing pending")  # fmt: skip
        if len(s.calls) > 1:
            first = s.calls[0]
            log(f"  NOTE: one settle() call moved only {first['moved']:,.0f} of {txns:,} due txns "
                f"({len(s.calls)} calls were needed in the unit of work)")  # fmt: skip


def _settle_storage(backend: str, cluster: PostgresCluster | None) -> str:
    if backend == "sqlite":
        tmp = tempfile.gettempdir()
        return f"temp file under {tmp} ({filesystem(tmp)}), WAL, synchronous=NORMAL"
    where = cluster.basedir.parent if cluster is not None and cluster.basedir is not None else "?"
    return (f"throwaway cluster under {where} ({filesystem(str(where))}), fsync=off, synchronous_commit=off, "
            "full_page_writes=off")  # fmt: skip


def _run_settle(url: str, timeout: float) -> dict[str, Any]:
    """The timed settlement in a child process of its own (so its peak RSS is the settlement's)."""
    argv = [sys.executable, "-m", "bench.settle", url, str(settle_bench.NOW)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the settlement failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _append_load(into: list[LoadResult], url: str, seconds: float, kw: dict[str, Any]) -> None:
    into.append(run_load(url, duration=seconds, **kw))


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (seconds, small history); no docs")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma list of sqlite, postgresql")
    ap.add_argument("--duration", type=float, help="seconds per measurement (default 10; quick 2)")
    ap.add_argument("--repeat", type=int, help="runs per figure; median shown (default 3; quick 1)")
    ap.add_argument("--concurrency", type=int, help="connections (default 32)")
    ap.add_argument("--history", type=int, help="size of the large history (default 1,000,000)")
    ap.add_argument("--settle", type=_sizes, help="comma list of due txns to settle (default "
                    "100000,1000000; quick 100000)")  # fmt: skip
    ap.add_argument("--autopayout", type=_sizes, help="comma list of accounts due per automatic payout run "
                    "(default 10000,100000; quick 2000)")  # fmt: skip
    ap.add_argument("--tool", choices=("auto", "wrk", "asyncio"), help="load generator (default: wrk)")
    ap.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None,
                    help="update docs/benchmarks.md (default: yes, except with --quick)")  # fmt: skip
    ap.add_argument("--docs-path", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    return ap.parse_args(argv)


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())


def _pick(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
    picked = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in picked if s not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return picked


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = _pick(args.scenarios, SCENARIOS, "scenario")
    backends = _pick(args.backends, BACKENDS, "backend")
    base = QUICK if args.quick else FULL
    overrides = {k: v for k, v in (("duration", args.duration), ("repeat", args.repeat),
                                   ("concurrency", args.concurrency), ("history_large", args.history),
                                   ("tool", args.tool), ("settle_sizes", args.settle),
                                   ("autopayout_sizes", args.autopayout))
                 if v is not None}  # fmt: skip
    cfg = Config(**{**asdict(base), **overrides})
    write_docs = (not args.quick) if args.docs is None else args.docs
    res = Results(cfg)
    log(
        f"load generator: {'wrk' if cfg.tool == 'wrk' or (cfg.tool == 'auto' and have_wrk()) else 'asyncio'};"
        f" scenarios {scenarios}; backends {backends}"
    )
    cluster: PostgresCluster | None = None
    started = time.monotonic()
    try:
        if "postgresql" in backends and set(scenarios) - {"ceiling"}:
            cluster = PostgresCluster()
            cluster.start()
            log(f"PostgreSQL cluster started: postmaster pid {cluster.pid}, port {cluster.port}")
        res.machine = describe(cluster)
        res.storage = _storage(cluster)
        steps: list[tuple[str, Callable[[], None]]] = []
        for backend in backends:
            if "throughput" in scenarios:
                step = _bind(scenario_throughput, backend, cluster, cfg, res)
                steps.append((f"throughput {backend}", step))
            if "history" in scenarios:
                steps.append((f"history {backend}", _bind(scenario_history, backend, cluster, cfg, res)))
            if "settle" in scenarios:
                steps.append((f"settle {backend}", _bind(scenario_settle, backend, cluster, cfg, res)))
            if "payouts" in scenarios:
                step = _bind(payouts_bench.scenario, backend, cluster, cfg, res)
                steps.append((f"payouts {backend}", step))
            if "autopayout" in scenarios:
                step = _bind(autopayout_bench.scenario, backend, cluster, cfg, res)
                steps.append((f"autopayout {backend}", step))
        if "ceiling" in scenarios:
            steps.append(("ceiling", lambda: scenario_ceiling(cfg, res)))
        for backend in backends:
            if "profile" in scenarios:
                steps.append((f"profile {backend}", _bind(scenario_profile, backend, cluster, cfg, res)))
        for name, step in steps:
            log(f"== {name}")
            step()
    finally:
        if cluster is not None:
            log(f"stopping PostgreSQL cluster (postmaster pid {cluster.pid})")
            cluster.stop()
    log(f"done in {time.monotonic() - started:.0f} s")
    print()
    print(report.text_summary(res))
    if args.json:
        args.json.write_text(json.dumps(report.as_json(res), indent=2))
    if write_docs:
        report.update_docs(args.docs_path, res)
        log(f"updated {args.docs_path}")
    if res.errors:
        log(f"FAILED: {res.errors} request errors (must be 0)")
        return 1
    return 0


def _bind(fn: Callable[[str, PostgresCluster | None, Config, Results], None], backend: str,
          cluster: PostgresCluster | None, cfg: Config, res: Results) -> Callable[[], None]:  # fmt: skip
    return lambda: fn(backend, cluster, cfg, res)


def _storage(cluster: PostgresCluster | None) -> dict[str, str]:
    tmp = tempfile.gettempdir()
    out = {"sqlite": f"temp file under {tmp} ({filesystem(tmp)}); WAL, synchronous=NORMAL (the server's own"
                     " settings)"}  # fmt: skip
    if cluster is not None and cluster.basedir is not None:
        out["postgresql"] = (
            f"throwaway cluster under {cluster.basedir.parent} ({filesystem(str(cluster.basedir))}) with the"
            " test suite's settings: fsync=off, synchronous_commit=off, full_page_writes=off;"
            " server pool 16+16 connections"
        )
    return out


if __name__ == "__main__":
    raise SystemExit(main())
