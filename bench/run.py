"""Payoutkit's benchmark: `python bench/run.py [--quick] [--scenarios ...] [--backends ...]`.

Starts its own servers on 127.0.0.1 (`payoutkit serve --simulated-clock` on a fresh SQLite file or a
fresh database of a throwaway PostgreSQL cluster; a bare Starlette app for the ceiling), loads them with
wrk (or bench/load.py's asyncio client), stops every process it started by its pid, prints the figures
and updates the generated sections of docs/benchmarks.md (not with --quick, unless --docs is given).
PostgreSQL runs on devtools/pg.py's durable profile (on disk; fsync, synchronous_commit and
full_page_writes on) unless `--pg fast`; every section states the durability it ran with.

Scenarios:
  throughput  POST /v1/charges and GET /v1/balance at concurrency 32 (the balance also round-robin over
              32 connected accounts): req/s, p50/p99, errors
  history     sequential GET /v1/balance with 1,000 vs 1,000,000 balance transactions on the account,
              then the server's peak RSS (VmHWM) after a mixed load on that store (bench/rss.py)
  ceiling     a bare Starlette app on uvicorn answering a trivial JSON endpoint at concurrency 32
  profile     py-spy on the server while POST /v1/charges, GET /v1/balance and POST /v1/payouts
              (round-robin over 32 connected accounts) run under load
  settle      one settlement of 1,000,000 due pending balance transactions (and of 100,000), no server
  payouts     POST /v1/payouts at concurrency 32 on one connected account, and round-robin over 32
  autopayout  the worker's automatic payout run over 100,000 due accounts (and 10,000), no server
  workers     PostgreSQL: `serve --workers N` for N = 1, 2, 4 (balance, charges, payouts; bench/workers.py)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import autopayout, durability, payouts, report, rss, settle, workers
from bench.load import Limits, LoadResult, Shape, have_wrk, is_error, run_load, sequential
from bench.machine import describe
from bench.profile import py_spy, record, summarize
from bench.results import FULL, QUICK, Config, History, Results, Throughput, log, median_of, spread
from bench.seed import count_txns, platform_account
from bench.seed import history as seed_history
from bench.servers import REPO, ServerProcess, auth_headers, ceiling_server, database, payoutkit_server
from devtools.pg import PostgresCluster

SCENARIOS = ("throughput", "history", "ceiling", "profile", "settle", "payouts", "autopayout", "workers")
BACKENDS = ("sqlite", "postgresql")
CHARGE_BODY = "amount=1000&currency=usd&source=tok_visa"
# (name, method, path, body): the two endpoints the issue asks about.
ENDPOINTS = (
    ("POST /v1/charges", "POST", "/v1/charges", CHARGE_BODY),
    ("GET /v1/balance", "GET", "/v1/balance", ""),
)
# The balance read again, each request as the next of 32 connected accounts (`Stripe-Account`): reads of
# different balances, which a shared unit answers by one statement for all of them, not one read
# (store/aio.py `read_shared`, bucket_reads.read_for_balances).
SPREAD_BALANCE = "GET /v1/balance, 32 accounts"
SPREAD_ACCOUNTS = 32
# The profile scenario also samples the payouts scenario's round-robin load (32 liable connected accounts).
PROFILED_PAYOUTS = ("POST /v1/payouts", "POST", "/v1/payouts", payouts.PAYOUT_BODY)
# What later issues design toward; reported beside the figures, never asserted.
TARGETS = {
    ("sqlite", "POST /v1/charges"): 2000,
    ("postgresql", "POST /v1/charges"): 1000,
    ("sqlite", "GET /v1/balance"): 5000,
    ("postgresql", "GET /v1/balance"): 5000,
    ("sqlite", SPREAD_BALANCE): 5000,
    ("postgresql", SPREAD_BALANCE): 5000,
}
CEILING_CLAIM = 17_000  # req/s the issue quotes for a bare Starlette app on this machine


# -- scenarios -------------------------------------------------------------------------------------


def limits(cfg: Config, duration: float) -> Limits:
    return Limits(cfg.concurrency, duration, cfg.max_requests, cfg.threads, cfg.tool)


def measure(shape: Shape, cfg: Config, *, label: str) -> tuple[list[LoadResult], int]:
    warm = run_load(shape, limits(cfg, cfg.warmup))
    runs = []
    for i in range(cfg.repeat):
        r = run_load(shape, limits(cfg, cfg.duration))
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
            shape = Shape(srv.url + path, method, body, auth)
            runs, warm_errors = measure(shape, cfg, label=f"{backend} {name}")
        res.throughput.append(Throughput(backend, name, runs, warm_errors, TARGETS.get((backend, name))))
    with server_for(backend, cluster, "bench_tp_balance_spread") as srv:
        accounts = tuple(payouts.prepare(srv, SPREAD_ACCOUNTS))  # each with funds, a bank account, a payout
        shape = Shape(srv.url + "/v1/balance", "GET", "", auth, accounts)
        runs, warm_errors = measure(shape, cfg, label=f"{backend} {SPREAD_BALANCE}")
    res.throughput.append(
        Throughput(backend, SPREAD_BALANCE, runs, warm_errors, TARGETS.get((backend, SPREAD_BALANCE)))
    )


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
            if is_error(resp.status):
                raise RuntimeError(f"POST {path} answered {resp.status}: {data[:300]!r}")
    finally:
        conn.close()


def _history_measure(srv: ServerProcess, backend: str, txns: int, cfg: Config) -> History:
    """`cfg.history_runs` sequential measurements of both reads; the median run (by p50) shown."""
    headers = auth_headers()
    limit = cfg.seq_seconds
    sequential(srv.port, "/v1/balance", headers, count=min(200, cfg.seq_requests), max_seconds=limit)
    bals, lsts = [], []
    for _ in range(cfg.history_runs):
        bals.append(sequential(srv.port, "/v1/balance", headers, count=cfg.seq_requests, max_seconds=limit))
        lsts.append(sequential(srv.port, "/v1/balance_transactions?limit=10", headers,
                               count=max(50, cfg.seq_requests // 4), max_seconds=limit))  # fmt: skip
    bal, lst = median_of(bals, lambda r: r.p50_ms), median_of(lsts, lambda r: r.p50_ms)
    log(
        f"  {backend} history {txns:,} txns: GET /v1/balance p50 {bal.p50_ms:.2f} ms"
        f" ({spread([r.p50_ms for r in bals])}) p99 {bal.p99_ms:.2f} ms ({len(bals)} runs of {bal.requests}"
        f" requests); list p50 {lst.p50_ms:.2f} ms p99 {lst.p99_ms:.2f} ms"
    )
    return History(backend, txns, bal, lst, bals, lsts)


def scenario_history(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    with database(backend, cluster, "bench_history") as url:
        # 1. The small history through the API (each charge: one txn on the platform account).
        with payoutkit_server(url) as srv:
            log(f"payoutkit on {backend}: pid {srv.pid}; {cfg.history_small:,} charges through the API")
            sequential_post(srv, "/v1/charges", CHARGE_BODY, cfg.history_small)
            small = _txn_count(url)
            res.history.append(_history_measure(srv, backend, small, cfg))
        # 2. The rest straight into the store, set-based, while no server runs; then measure again.
        extra = cfg.history_large - small
        log(f"seeding {extra:,} more balance transactions (and {extra:,} opposite ones on sys_world)")
        t0 = time.monotonic()
        _, large = seed_history(url, extra)
        log(f"  seeded in {time.monotonic() - t0:.1f} s; ledger checks pass; account has {large:,} txns")
        with payoutkit_server(url) as srv:
            log(f"payoutkit on {backend} restarted: pid {srv.pid}")
            res.history.append(_history_measure(srv, backend, large, cfg))
            # 3. The server's peak RSS on this store, after a mixed load (bench/rss.py).
            res.rss.append(rss.measure(srv, backend, large, cfg))


def _txn_count(url: str) -> int:
    from payoutkit.store.engines import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return count_txns(conn, platform_account(conn))
    finally:
        engine.dispose()


def scenario_ceiling(cfg: Config, res: Results) -> None:
    with ceiling_server() as srv:
        log(f"bare Starlette app started: pid {srv.pid}, {srv.url}")
        runs, warm_errors = measure(Shape(srv.url + "/"), cfg, label="ceiling GET /")
        log(f"stopping ceiling app pid {srv.pid}")
    res.ceiling = Throughput("-", "bare Starlette GET / (JSON)", runs, warm_errors, CEILING_CLAIM)


def scenario_profile(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    if py_spy() is None:
        log("profile skipped: py-spy is not installed (.venv/bin/pip install py-spy)")
        return
    auth = auth_headers()["Authorization"]
    for name, method, path, body in (*ENDPOINTS, PROFILED_PAYOUTS):
        slug = path.strip("/").replace("/", "_")
        with server_for(backend, cluster, f"bench_prof_{slug}") as srv, tempfile.TemporaryDirectory() as tmp:
            shape = Shape(srv.url + path, method, body, auth)
            if method == "GET":
                sequential_post(srv, "/v1/charges", CHARGE_BODY, 1)
            elif path == "/v1/payouts":  # the payouts scenario's round-robin over funded connected accounts
                shape = Shape(srv.url + path, method, body, auth, tuple(payouts.prepare(srv, payouts.SPREAD)))
            run_load(shape, limits(cfg, cfg.warmup))
            out = Path(tmp) / "profile.txt"
            result: list[LoadResult] = []
            during = limits(cfg, cfg.profile_seconds + 2)
            loader = threading.Thread(target=_append_load, args=(result, shape, during), daemon=True)
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


def _append_load(into: list[LoadResult], shape: Shape, during: Limits) -> None:
    into.append(run_load(shape, during))


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
    ap.add_argument("--pg", choices=("durable", "fast"), default="durable",
                    help="PostgreSQL profile (devtools/pg.py): durable (on disk; fsync, synchronous_commit, "
                    "full_page_writes on: the default) or fast (the suite's tmpfs, all off)")  # fmt: skip
    ap.add_argument("--runs", type=int, help="runs per settle, autopayout and history figure (default 3; "
                    "quick 1): the median is shown with the min-max")  # fmt: skip
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


Scenario = Callable[[str, PostgresCluster | None, Config, Results], None]
# Per backend, in this order; then the ceiling; then the profiles (per backend).
PER_BACKEND: tuple[tuple[str, Scenario], ...] = (
    ("throughput", scenario_throughput),
    ("history", scenario_history),
    ("settle", settle.scenario),
    ("payouts", payouts.scenario),
    ("autopayout", autopayout.scenario),
    ("workers", workers.scenario),
)


def config_of(args: argparse.Namespace) -> Config:
    base = QUICK if args.quick else FULL
    overrides = {k: v for k, v in (("duration", args.duration), ("repeat", args.repeat),
                                   ("concurrency", args.concurrency), ("history_large", args.history),
                                   ("tool", args.tool), ("settle_sizes", args.settle),
                                   ("autopayout_sizes", args.autopayout), ("settle_runs", args.runs),
                                   ("autopayout_runs", args.runs), ("history_runs", args.runs))
                 if v is not None}  # fmt: skip
    return Config(**{**asdict(base), **overrides})


def steps_of(scenarios: list[str], backends: list[str], cluster: PostgresCluster | None, cfg: Config,
             res: Results) -> list[tuple[str, Callable[[], None]]]:  # fmt: skip
    steps = [(f"{name} {backend}", _bind(fn, backend, cluster, cfg, res))
             for backend in backends for name, fn in PER_BACKEND if name in scenarios]  # fmt: skip
    if "ceiling" in scenarios:
        steps.append(("ceiling", lambda: scenario_ceiling(cfg, res)))
    if "profile" in scenarios:
        steps += [(f"profile {b}", _bind(scenario_profile, b, cluster, cfg, res)) for b in backends]
    return steps


def run_steps(scenarios: list[str], backends: list[str], res: Results, *, durable: bool = True) -> None:
    """The PostgreSQL cluster (if any backend needs it), every step, and the cluster stopped."""
    cluster: PostgresCluster | None = None
    try:
        if "postgresql" in backends and set(scenarios) - {"ceiling"}:
            cluster = PostgresCluster(durable=durable)
            cluster.start()
            log(f"PostgreSQL cluster started ({'durable' if durable else 'fast'} profile): postmaster pid "
                f"{cluster.pid}, port {cluster.port}, {cluster.basedir}")  # fmt: skip
        res.machine = describe(cluster)
        res.storage = _storage(backends, cluster)
        took: list[str] = []
        for name, step in steps_of(scenarios, backends, cluster, res.config, res):
            log(f"== {name}")
            t0 = time.monotonic()
            step()
            took.append(f"{name} {time.monotonic() - t0:.0f} s")
            log(f"== {name} took {time.monotonic() - t0:.0f} s")
        log("step durations: " + ", ".join(took))
    finally:
        if cluster is not None:
            log(f"stopping PostgreSQL cluster (postmaster pid {cluster.pid})")
            cluster.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = _pick(args.scenarios, SCENARIOS, "scenario")
    backends = _pick(args.backends, BACKENDS, "backend")
    cfg = config_of(args)
    write_docs = (not args.quick) if args.docs is None else args.docs
    res = Results(cfg)
    tool = "wrk" if cfg.tool == "wrk" or (cfg.tool == "auto" and have_wrk()) else "asyncio"
    log(f"load generator: {tool}; scenarios {scenarios}; backends {backends}")
    started = time.monotonic()
    run_steps(scenarios, backends, res, durable=args.pg == "durable")
    log(f"done in {time.monotonic() - started:.0f} s")
    print()
    print(report.text_summary(res))
    if args.json:
        args.json.write_text(json.dumps(report.as_json(res), indent=2))
    if write_docs:
        report.update_docs(args.docs_path, res)
        workers.update_docs(args.docs_path, res)
        log(f"updated {args.docs_path}")
    if res.errors:
        log(f"FAILED: {res.errors} request errors (must be 0)")
        return 1
    return 0


def _bind(fn: Scenario, backend: str,
          cluster: PostgresCluster | None, cfg: Config, res: Results) -> Callable[[], None]:  # fmt: skip
    return lambda: fn(backend, cluster, cfg, res)


def _storage(backends: list[str], cluster: PostgresCluster | None) -> dict[str, str]:
    """Each store's durability as read from it (bench/durability.py), for every figure that uses it."""
    out = {b: durability.describe(b, cluster) for b in backends if b == "sqlite" or cluster is not None}
    if "postgresql" in out:
        out["postgresql"] += "; server pool 16+16 connections"
    return out


if __name__ == "__main__":
    raise SystemExit(main())
