"""The payouts scenario: `POST /v1/payouts` under load, on one connected account and spread over many.

`prepare(srv, accounts)` sets a fresh server up through its own API, as an integration would:

- `accounts` connected accounts (`POST /v1/accounts type=custom`, `settings[payouts][schedule]
  [interval]=manual`: standard payouts by API are for manual schedules), each with a
  `btok_us_verified` bank account (`POST /v1/accounts/{id}/external_accounts`, default for usd);
- funds: charges of the largest amount (`MAX_AMOUNT`, `tok_bypassPending`: available at once) on the
  platform, each moved on by a transfer of `TRANSFER` to one account, `TRANSFERS_PER_ACCOUNT` transfers
  per account. Every payout is `amount=100&currency=usd`, so an account holds
  `TRANSFER * transfers / 100` payouts (~3.6M for one account, ~0.9M each for 32): far more than any
  run can make, so the load never meets insufficient funds.

`run_load_accounts(...)` loads `POST /v1/payouts` with wrk at the given concurrency; the Lua script
(WRK_SCRIPT) sends each request with a `Stripe-Account` header taken round-robin from the accounts
(each wrk thread starts at its own offset, so the requests in flight at once are on different
accounts). Without wrk, `python -m bench.payouts` is the asyncio fallback: connection i acts as
account i mod n. Either way every non-2xx answer is an error.

`check(url, accounts)` runs after the server has stopped: `check_ledger` must be clean, and it counts
the payouts made.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench.load import MARK, LoadResult, have_wrk
from bench.servers import HOST, REPO, VENV_BIN, ServerProcess, auth_headers, database, payoutkit_server

if TYPE_CHECKING:
    from bench.run import Config, Results
    from devtools.pg import PostgresCluster

PAYOUT_BODY = "amount=100&currency=usd"
MAX_AMOUNT = 99_999_999  # the most one charge (or transfer) may carry (payoutkit.ledger.money)
TRANSFER = 90_000_000  # per transfer: what a MAX_AMOUNT charge leaves the platform after its fee
SPREAD = 32  # accounts of the second figure


def transfers_per_account(accounts: int) -> int:
    return 4 if accounts == 1 else 1


WRK_SCRIPT = r"""
local max_per_thread = tonumber(os.getenv("BENCH_MAX_PER_THREAD") or "0")
local body = os.getenv("BENCH_BODY") or ""
local auth = os.getenv("BENCH_AUTH") or ""
local accounts = {}
for a in string.gmatch(os.getenv("BENCH_ACCOUNTS") or "", "[^,]+") do
  accounts[#accounts + 1] = a
end
local started = 0
local done_here = 0
local counter = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  counter = math.floor((thread_index or 0) * #accounts / threads)
end

function request()
  counter = counter + 1
  local headers = {}
  headers["Authorization"] = auth
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  headers["Stripe-Account"] = accounts[(counter % #accounts) + 1]
  return wrk.format("POST", wrk.path, headers, body)
end

function response(status, headers, body)
  done_here = done_here + 1
  if max_per_thread > 0 and done_here >= max_per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f}\n',
    "BENCHJSON ", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


# -- setting a server up through its API -----------------------------------------------------------


def _post(
    conn: http.client.HTTPConnection, path: str, params: dict[str, Any], account: str | None = None
) -> dict[str, Any]:
    headers = {**auth_headers(), "Content-Type": "application/x-www-form-urlencoded"}
    if account:
        headers["Stripe-Account"] = account
    conn.request("POST", path, body=urlencode(params), headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"POST {path} answered {resp.status}: {data[:400]!r}")
    out: dict[str, Any] = json.loads(data)
    return out


# How the accounts are made: `type=custom` (the platform is liable for negative balances), or with the
# controller of an account the platform is not liable for (`losses.payments=stripe`).
LIABLE = {"type": "custom"}
NOT_LIABLE = {
    "controller[losses][payments]": "stripe",
    "controller[fees][payer]": "account",
    "controller[stripe_dashboard][type]": "none",
    "controller[requirement_collection]": "application",
}


def prepare(srv: ServerProcess, accounts: int, *, liable: bool = True) -> list[str]:
    """Connected accounts with a bank account and funds for far more payouts than a run makes."""
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=30)
    ids: list[str] = []
    kind = LIABLE if liable else NOT_LIABLE
    try:
        for _ in range(accounts):
            acct = _post(
                conn,
                "/v1/accounts",
                {**kind, "country": "US", "settings[payouts][schedule][interval]": "manual"},
            )["id"]
            _post(conn, f"/v1/accounts/{acct}/external_accounts", {"external_account": "btok_us_verified"})
            for _ in range(transfers_per_account(accounts)):
                _post(
                    conn,
                    "/v1/charges",
                    {"amount": MAX_AMOUNT, "currency": "usd", "source": "tok_bypassPending"},
                )
                _post(conn, "/v1/transfers", {"amount": TRANSFER, "currency": "usd", "destination": acct})
            ids.append(acct)
        # One payout each through the same path as the load, to fail early (and loudly) if it cannot.
        for acct in ids:
            _post(conn, "/v1/payouts", {"amount": 100, "currency": "usd"}, account=acct)
    finally:
        conn.close()
    return ids


# -- load ------------------------------------------------------------------------------------------


def run_load_accounts(
    url: str,
    *,
    accounts: list[str],
    body: str = PAYOUT_BODY,
    auth: str,
    concurrency: int = 32,
    duration: float = 10.0,
    max_requests: int = 1_000_000,
    threads: int = 2,
    tool: str = "auto",
) -> LoadResult:
    """Closed-loop `POST` load on `url`, each request acting as the next of `accounts`."""
    if tool == "auto":
        tool = "wrk" if have_wrk() else "asyncio"
    if tool == "wrk":
        threads = min(threads, concurrency)
        result = _wrk(
            url, body, auth, accounts, concurrency, duration, max(1, max_requests // threads), threads
        )
    else:
        result = _asyncio(
            url, body, auth, accounts, concurrency, duration, max(1, max_requests // concurrency)
        )
    capped = result.requests >= max_requests - concurrency
    return LoadResult(
        result.tool,
        result.requests,
        result.seconds,
        result.errors,
        result.p50_ms,
        result.p99_ms,
        result.mean_ms,
        capped,
    )


def _wrk(
    url: str,
    body: str,
    auth: str,
    accounts: list[str],
    concurrency: int,
    duration: float,
    per_thread: int,
    threads: int,
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-payouts-") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        env = {
            "BENCH_BODY": body,
            "BENCH_AUTH": auth,
            "BENCH_ACCOUNTS": ",".join(accounts),
            "BENCH_THREADS": str(threads),
            "BENCH_MAX_PER_THREAD": str(per_thread),
            "PATH": "/usr/bin:/bin",
        }
        argv = [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ]
        out = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=duration + 60, check=False
        )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    d = json.loads(line[len(MARK) :])
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return LoadResult(
        "wrk",
        d["requests"],
        d["duration_us"] / 1e6,
        errors,
        d["p50_us"] / 1000,
        d["p99_us"] / 1000,
        d["mean_us"] / 1000,
    )


def _asyncio(
    url: str, body: str, auth: str, accounts: list[str], concurrency: int, duration: float, per_conn: int
) -> LoadResult:
    python = VENV_BIN / "python"
    argv = [
        str(python if python.exists() else sys.executable),
        "-m",
        "bench.payouts",
        url,
        body,
        auth,
        ",".join(accounts),
        str(concurrency),
        str(duration),
        str(per_conn),
    ]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=duration + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"bench.payouts load failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    d = json.loads(line[len(MARK) :])
    return LoadResult(
        "asyncio", d["requests"], d["seconds"], d["errors"], d["p50_ms"], d["p99_ms"], d["mean_ms"]
    )


async def _aload(
    url: str, body: str, auth: str, accounts: list[str], concurrency: int, seconds: float, per_conn: int
) -> dict[str, float]:
    from bench.aload import build_request, read_response
    from bench.load import percentile

    parts = urlsplit(url)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker(i: int) -> None:
        nonlocal errors
        head, _, data = build_request(url, "POST", body, auth).partition(b"\r\n\r\n")
        request = head + f"\r\nStripe-Account: {accounts[i % len(accounts)]}\r\n\r\n".encode() + data
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for _ in range(per_conn):
                if time.monotonic() >= deadline:
                    return
                t0 = time.perf_counter()
                writer.write(request)
                status = await asyncio.wait_for(read_response(reader), 10)
                latencies.append(time.perf_counter() - t0)
                errors += status >= 300
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": sum(latencies) / len(latencies) * 1000 if latencies else 0.0,
    }


# -- after the load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    payouts: int  # payout objects in the store (the setup's one per account included)
    violations: int  # check_ledger's findings (must be 0)
    least_available: int  # the smallest available balance left among the accounts (must be > 0)


def check(url: str, accounts: list[str]) -> Made:
    """`check_ledger` over the whole store (fails loudly on a violation); count the payouts."""
    from sqlalchemy import func, select

    from payoutkit.store.db import READONLY, make_engine
    from payoutkit.store.invariants import check_ledger
    from payoutkit.store.schema import balances, resources

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            violations = check_ledger(conn)
            payouts = conn.execute(select(func.count()).where(resources.c.object == "payout")).scalar_one()
            least = conn.execute(
                select(func.min(balances.c.available)).where(
                    balances.c.account_id.in_(accounts),
                    balances.c.balance_type == "payments",
                    balances.c.source_type == "card",
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if violations:
        raise AssertionError(
            f"check_ledger found {len(violations)} violations after the payouts load:\n  "
            + "\n  ".join(violations[:20])
        )
    return Made(int(payouts), len(violations), int(least))


# -- the scenario ----------------------------------------------------------------------------------

# (figure, accounts, liable): one account; spread over SPREAD accounts; and spread over SPREAD accounts
# the platform is not liable for (the contrast that says what a liable account's payout locks).
FIGURES = (
    ("1 account", 1, True),
    (f"{SPREAD} accounts", SPREAD, True),
    (f"{SPREAD} accounts, platform not liable", SPREAD, False),
)


@dataclass
class PayoutLoad:
    backend: str
    figure: str
    accounts: int
    liable: bool
    runs: list[LoadResult]
    warmup_errors: int
    payouts: int = 0  # payout objects in the store afterwards (check_ledger clean)
    least_available: int = 0  # the least any account still held afterwards: funds never ran out
    lock_waits: float | None = None  # PostgreSQL: mean sessions waiting for a lock while measured
    active: float | None = None  # PostgreSQL: mean sessions running a statement while measured
    profile: dict[str, Any] | None = None
    loadavg: str = ""
    setup_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> LoadResult:
        ordered = sorted(self.runs, key=lambda r: r.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        return self.warmup_errors + sum(r.errors for r in self.runs)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def loadavg() -> str:
    """The machine's 1, 5 and 15-minute load averages (it may be shared with other jobs)."""
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    return "?"


class PgSessions:
    """The sessions of one PostgreSQL database, sampled every 50 ms from a thread of this process:
    how many wait for a lock (`wait_event_type = 'Lock'`: a row lock, here) and how many are active."""

    SQL = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FILTER (WHERE state = 'active') "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )

    def __init__(self, conninfo: str, dbname: str) -> None:
        self.conninfo, self.dbname = conninfo, dbname
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.wait(0.05):
                row = conn.execute(self.SQL, (self.dbname,)).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1])))

    def __enter__(self) -> PgSessions:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def means(self) -> tuple[float, float]:
        n = len(self.samples) or 1
        return sum(w for w, _ in self.samples) / n, sum(a for _, a in self.samples) / n


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    auth = auth_headers()["Authorization"]
    for figure, n, liable in FIGURES:
        name = f"bench_po_{n}_{'liable' if liable else 'not_liable'}"
        with database(backend, cluster, name) as url:
            with payoutkit_server(url) as srv:
                log(f"payoutkit on {backend} started: pid {srv.pid}, {srv.url}; {figure}")
                t0 = time.monotonic()
                ids = prepare(srv, n, liable=liable)
                setup = time.monotonic() - t0
                log(f"  {n} account(s) set up through the API in {setup:.1f} s")
                target = srv.url + "/v1/payouts"
                kw: dict[str, Any] = {
                    "accounts": ids,
                    "auth": auth,
                    "concurrency": cfg.concurrency,
                    "threads": cfg.threads,
                    "tool": cfg.tool,
                    "max_requests": cfg.max_requests,
                }
                warm = run_load_accounts(target, duration=cfg.warmup, **kw)
                runs: list[LoadResult] = []
                sessions = (
                    PgSessions(cluster.conninfo(name), name) if cluster and backend == "postgresql" else None
                )
                load_before = loadavg()
                with sessions or contextlib.nullcontext():
                    for i in range(cfg.repeat):
                        r = run_load_accounts(target, duration=cfg.duration, **kw)
                        log(
                            f"  {backend} POST /v1/payouts ({figure}) run {i + 1}/{cfg.repeat}: "
                            f"{r.rps:,.0f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, "
                            f"errors {r.errors}"
                            f"{' (capped)' if r.capped else ''}"
                        )
                        runs.append(r)
                item = PayoutLoad(
                    backend,
                    figure,
                    n,
                    liable,
                    runs,
                    warm.errors,
                    setup_seconds=setup,
                    loadavg=f"{load_before} / {loadavg()}",
                )
                if sessions is not None:
                    item.lock_waits, item.active = sessions.means()
                    log(
                        f"  PostgreSQL sessions while measured: {item.active:.1f} active, "
                        f"{item.lock_waits:.1f} waiting for a lock (means)"
                    )
                if n == SPREAD and liable and cfg.profile_seconds:
                    item.profile = _profile(srv, target, cfg, kw)
                log(f"stopping payoutkit pid {srv.pid}")
            made = check(url, ids)
            item.payouts, item.least_available = made.payouts, made.least_available
            if made.least_available <= 0:
                raise AssertionError(f"an account ran out of funds ({made.least_available}): fund more")
            log(
                f"  check_ledger clean; {made.payouts:,} payouts in the store; every account still holds "
                f">= {made.least_available:,}"
            )
        res.payouts.append(item)


def _profile(srv: ServerProcess, target: str, cfg: Config, kw: dict[str, Any]) -> dict[str, Any] | None:
    """py-spy on the server under the same load (an extra run, not one of the measured ones)."""
    from bench.profile import payoutkit_inclusive, py_spy, record, summarize

    if py_spy() is None:
        log("  profile skipped: py-spy is not installed (.venv/bin/pip install py-spy)")
        return None
    result: list[LoadResult] = []
    seconds = cfg.profile_seconds + 2
    loader = threading.Thread(
        target=lambda: result.append(run_load_accounts(target, duration=seconds, **kw)), daemon=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        loader.start()
        try:
            time.sleep(1)
            log(f"  py-spy record on pid {srv.pid} for {cfg.profile_seconds} s under the same load")
            record(srv.pid, cfg.profile_seconds, out)
        finally:
            loader.join(seconds + 90)
        prof = summarize(out)
    if result and result[0].errors:
        raise AssertionError(f"{result[0].errors} errors while profiling")
    return {
        "samples": prof.samples,
        "rps": result[0].rps if result else 0.0,
        "threads": {k: round(prof.share(v), 1) for k, v in prof.by_thread.most_common()},
        "layers": [(k, round(prof.share(v), 1)) for k, v in prof.by_layer.most_common(8)],
        "self": [(k, round(prof.share(v), 1)) for k, v in prof.self_time.most_common(8)],
        "inclusive": [
            (k, round(prof.share(v), 1)) for k, v in payoutkit_inclusive(prof, 40) if "cli.py" not in k
        ][:14],
    }


# -- the doc section -------------------------------------------------------------------------------


def machine_line(res: Results) -> str:
    m = res.machine
    keys = ("CPU", "Cores", "RAM", "Kernel", "Python", "SQLite", "PostgreSQL", "Load generator")
    return f"Measured {m.get('Date', '?')} on " + "; ".join(f"{k}: {m[k]}" for k in keys if k in m) + "."


def section(res: Results) -> str:
    c = res.config
    rows = [
        "| Backend | Payouts on | req/s (median) | min-max req/s | p50 ms | p99 ms | errors | payouts made "
        "| PostgreSQL sessions active / waiting for a lock |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in res.payouts:
        m = t.median
        lo, hi = min(r.rps for r in t.runs), max(r.rps for r in t.runs)
        waits = (
            f"{t.active:.1f} / {t.lock_waits:.1f}"
            if t.active is not None and t.lock_waits is not None
            else "-"
        )
        rows.append(
            f"| {t.backend} | {t.figure} | **{m.rps:,.0f}** | {lo:,.0f}-{hi:,.0f} | {m.p50_ms:.1f} | "
            f"{m.p99_ms:.1f} | {t.errors} | {t.payouts:,} | {waits} |"
        )
    loads = "; ".join(f"{t.backend} {t.figure}: {t.loadavg}" for t in res.payouts)
    rows += [
        "",
        "`POST /v1/payouts` with `amount=100&currency=usd` and `Stripe-Account: acct_…`, closed "
        f"loop at concurrency {c.concurrency} ({c.threads} wrk threads), {c.warmup:.0f} s warm-up then "
        f"{c.repeat} x {c.duration:.0f} s per figure (median run shown); errors are every non-2xx answer "
        "or socket error, warm-up included. Each figure on a fresh store and server, set up through the API "
        "(bench/payouts.py): connected accounts made with `type=custom` (or, in the last row, with "
        "`controller[losses][payments]=stripe`: the platform is not liable for them) and "
        "`settings[payouts][schedule][interval]=manual`, a `btok_us_verified` bank account each, "
        f"and funds: charges of {MAX_AMOUNT:,} with `tok_bypassPending` on the platform, each moved "
        f"on by a transfer of {TRANSFER:,} ({transfers_per_account(1)} per account for one account, "
        f"{transfers_per_account(SPREAD)} each when spread). With {SPREAD} accounts each request acts as "
        "the next account round-robin (wrk Lua script; the requests in flight are on different accounts). "
        "Afterwards, with the server stopped, `check_ledger` is clean and every account still holds "
        'funds; "payouts made" counts the payout objects in the store (one per account made by the '
        "setup included). PostgreSQL sessions: `pg_stat_activity` of the database sampled every 50 ms "
        "during the measured runs (the server runs units on at most 8 pooled connections). "
        f"Load average before / after each figure: {loads}.",
        "",
        machine_line(res),
    ]
    for t in res.payouts:
        if t.profile:
            p = t.profile
            rows += [
                "",
                f"py-spy on the server, {t.backend}, {t.figure} ({p['samples']:,} samples over "
                f"{c.profile_seconds} s at {p['rps']:,.0f} req/s; by thread: "
                + ", ".join(f"{k} {v:.0f}%" for k, v in p["threads"].items())
                + "):",
                "",
                "| Layer (self time) | share | Payoutkit function (inclusive) | share |",
                "|---|---:|---|---:|",
            ]
            layers, incl = p["layers"], p["inclusive"]
            for i in range(max(len(layers), len(incl))):
                a = f"{layers[i][0]} | {layers[i][1]:.1f}%" if i < len(layers) else " | "
                b = f"`{incl[i][0]}` | {incl[i][1]:.1f}%" if i < len(incl) else " | "
                rows.append(f"| {a} | {b} |")
    return "\n".join(rows)


def summary_lines(res: Results) -> list[str]:
    out = []
    for t in res.payouts:
        m = t.median
        out.append(
            f"  {t.backend:10s} {t.figure:40s} {m.rps:8,.0f} req/s  p50 {m.p50_ms:7.1f} ms  "
            f"p99 {m.p99_ms:7.1f} ms  errors {t.errors}  payouts {t.payouts:,}"
        )
    return out


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    u, b, a, accts, conc, secs, per = sys.argv[1:8]
    result = asyncio.run(_aload(u, b, a, accts.split(","), int(conc), float(secs), int(per)))
    print(MARK + json.dumps(result), flush=True)
