"""The workers scenario: `payoutkit serve --workers N` on PostgreSQL, for N in 1, 2 and 4.

Each N gets a fresh database of the bench's cluster and one server of N processes (uvicorn's supervisor;
the worker runs in one of them, bench/../payoutkit/store/leader.py). Before measuring, the scenario waits
until all N processes are up (each opens its leadership session, named `payoutkit worker <pid>` in
`pg_stat_activity`). Then, on that server, three loads at the configured concurrency (bench/load.py: wrk
when installed), each a warm-up and `repeat` runs, the median shown with the min-max of the runs:

- `GET /v1/balance` (the platform's balance; the setup below has made history for it);
- `POST /v1/charges` (`amount=1000&currency=usd&source=tok_visa`);
- `POST /v1/payouts` round-robin over 32 connected accounts, set up as bench/payouts.py does
  (`prepare`: custom accounts with a manual schedule, a verified bank account, funds by transfer).

Afterwards, with the server stopped, `check_ledger` must be clean (bench/payouts.py `check`).

The whole scenario is bounded to stay under five minutes: each run lasts at most `MAX_DURATION` seconds
and each warm-up at most `MAX_WARMUP` (9 figures x (2 + 3 x 5) s = 153 s of load, plus three starts and
setups). The figures land in the `bench:workers` section of docs/benchmarks.md (`update_docs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench import payouts
from bench.load import Limits, LoadResult, Shape, run_load
from bench.results import Config, Results, loadavg, log, machine_line, replace_section
from bench.servers import ServerProcess, auth_headers, database, payoutkit_server
from devtools.pg import PostgresCluster

PROCESSES = (1, 2, 4)
SPREAD = payouts.SPREAD  # accounts the payouts are spread over
CHARGE_BODY = "amount=1000&currency=usd&source=tok_visa"
MAX_DURATION = 5.0  # seconds per measured run (the scenario must stay under five minutes)
MAX_WARMUP = 2.0
READY_TIMEOUT = 120.0  # seconds for all N processes to be up (each imports the app afresh)
SECTION = "workers"
HEADING = "Several API processes on PostgreSQL"


@dataclass
class Figure:
    processes: int
    endpoint: str
    runs: list[LoadResult]
    warmup_errors: int

    @property
    def median(self) -> LoadResult:
        return sorted(self.runs, key=lambda r: r.rps)[len(self.runs) // 2]

    @property
    def errors(self) -> int:
        return self.warmup_errors + sum(r.errors for r in self.runs)


@dataclass
class Measured:
    figures: list[Figure] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)  # load average before / after each N
    duration: float = 0.0
    warmup: float = 0.0
    repeat: int = 0
    concurrency: int = 0
    threads: int = 0


# What this run measured (the runner writes it into docs/benchmarks.md: `update_docs`).
MEASURED = Measured()


def limits(cfg: Config, duration: float) -> Limits:
    return Limits(cfg.concurrency, duration, cfg.max_requests, cfg.threads, cfg.tool)


def _wait_for_processes(cluster: PostgresCluster, dbname: str, n: int) -> None:
    """Until the N processes of the server each have their leadership session (every one is up)."""
    deadline = time.monotonic() + READY_TIMEOUT
    with psycopg.connect(cluster.conninfo(dbname), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                "AND application_name LIKE 'payoutkit worker %%'",
                (dbname,),
            ).fetchone()
            if row is not None and int(row[0]) >= n:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} server processes were not all up within {READY_TIMEOUT:.0f} s")
            time.sleep(0.2)


def _measure(shape: Shape, cfg: Config, label: str) -> tuple[list[LoadResult], int]:
    duration, warmup = min(cfg.duration, MAX_DURATION), min(cfg.warmup, MAX_WARMUP)
    warm = run_load(shape, limits(cfg, warmup))
    runs = []
    for i in range(cfg.repeat):
        r = run_load(shape, limits(cfg, duration))
        log(f"  {label} run {i + 1}/{cfg.repeat}: {r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, "
            f"p99 {r.p99_ms:.1f} ms, errors {r.errors}{' (capped)' if r.capped else ''}")  # fmt: skip
        runs.append(r)
    return runs, warm.errors


def _one_server(srv: ServerProcess, n: int, cfg: Config) -> tuple[list[Figure], list[str]]:
    auth = auth_headers()["Authorization"]
    accounts = payouts.prepare(srv, SPREAD)
    loads = [
        ("GET /v1/balance", Shape(srv.url + "/v1/balance", "GET", "", auth)),
        ("POST /v1/charges", Shape(srv.url + "/v1/charges", "POST", CHARGE_BODY, auth)),
        (f"POST /v1/payouts ({SPREAD} accounts)",
         Shape(srv.url + "/v1/payouts", "POST", payouts.PAYOUT_BODY, auth, tuple(accounts))),
    ]  # fmt: skip
    figures = []
    for endpoint, shape in loads:
        runs, warm_errors = _measure(shape, cfg, f"{n} process{'es' if n > 1 else ''} {endpoint}")
        figures.append(Figure(n, endpoint, runs, warm_errors))
    return figures, accounts


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    if backend != "postgresql" or cluster is None:
        log("workers: PostgreSQL only (SQLite is served by one process by design); skipped on " + backend)
        return
    started = time.monotonic()
    MEASURED.duration, MEASURED.warmup = min(cfg.duration, MAX_DURATION), min(cfg.warmup, MAX_WARMUP)
    MEASURED.repeat, MEASURED.concurrency, MEASURED.threads = cfg.repeat, cfg.concurrency, cfg.threads
    for n in PROCESSES:
        name = f"bench_workers_{n}"
        before = loadavg()
        with database(backend, cluster, name) as url:
            srv = payoutkit_server(url)
            srv.argv += ["--workers", str(n)]  # the same server, in N processes
            with srv:
                _wait_for_processes(cluster, name, n)
                log(f"payoutkit --workers {n} on {backend} up: supervisor pid {srv.pid}, {srv.url}")
                figures, accounts = _one_server(srv, n, cfg)
                log(f"stopping payoutkit supervisor pid {srv.pid}")
            made = payouts.check(url, accounts)
            log(f"  check_ledger clean; {made.payouts:,} payouts in the store")
        MEASURED.figures += figures
        MEASURED.loads.append(f"{n}: {before} / {loadavg()}")
    log(f"workers scenario done in {time.monotonic() - started:.0f} s")
    print("\n".join(["", "SEVERAL API PROCESSES (PostgreSQL)", *summary_lines()]), flush=True)
    if errors := sum(f.errors for f in MEASURED.figures):
        log(f"workers: FAILED: {errors} request errors (must be 0)")


def summary_lines() -> list[str]:
    base = {f.endpoint: f.median.rps for f in MEASURED.figures if f.processes == 1}
    out = []
    for f in MEASURED.figures:
        m = f.median
        lo, hi = min(r.rps for r in f.runs), max(r.rps for r in f.runs)
        ratio = m.rps / base[f.endpoint] if base.get(f.endpoint) else 0.0
        out.append(
            f"  {f.processes} x  {f.endpoint:32s} {m.rps:8,.0f} req/s ({lo:,.0f}-{hi:,.0f})  x{ratio:4.2f}  "
            f"p50 {m.p50_ms:7.1f} ms  p99 {m.p99_ms:7.1f} ms  errors {f.errors}"
        )
    return out


def section(res: Results) -> str:
    m = MEASURED
    base = {f.endpoint: f.median.rps for f in m.figures if f.processes == 1}
    rows = [
        "| Processes | Endpoint | req/s (median) | min-max req/s | vs 1 process | p50 ms | p99 ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in m.figures:
        med = f.median
        lo, hi = min(r.rps for r in f.runs), max(r.rps for r in f.runs)
        ratio = f"{med.rps / base[f.endpoint]:.2f}x" if base.get(f.endpoint) else "-"
        rows.append(f"| {f.processes} | {f.endpoint} | **{med.rps:,.0f}** | {lo:,.0f}-{hi:,.0f} | {ratio} | "
                    f"{med.p50_ms:.1f} | {med.p99_ms:.1f} | {f.errors} |")  # fmt: skip
    rows += [
        "",
        f"`payoutkit serve --workers N --simulated-clock` on a fresh PostgreSQL database per N (the bench's "
        "cluster; its durability settings: the line below), the worker running in one of the N processes. "
        "Closed loop at concurrency "
        f"{m.concurrency} ({m.threads} wrk threads), {m.warmup:.0f} s warm-up then {m.repeat} x "
        f"{m.duration:.0f} s per figure (median run shown, min-max of the runs beside it); errors are every "
        "non-2xx answer or socket error, warm-up included. Each server is set up through its API as for "
        f"the payouts figures ({SPREAD} custom accounts, bank account, funds: bench/payouts.py); `GET "
        "/v1/balance` reads the platform's balance, `POST /v1/charges` is `amount=1000&currency=usd&"
        f"source=tok_visa`, `POST /v1/payouts` is `amount=100&currency=usd` round-robin over the {SPREAD} "
        "accounts. Afterwards, with the server stopped, `check_ledger` is clean. Each process has its own "
        "pool (8 connections for units of work). Load average before / after, per N: "
        + "; ".join(m.loads)
        + ".",
        "",
        machine_line(res),
    ]
    return "\n".join(rows)


def update_docs(path: Path, res: Results) -> None:
    """Write the `bench:workers` section (when this run measured it)."""
    if MEASURED.figures:
        replace_section(path, SECTION, section(res), HEADING)
