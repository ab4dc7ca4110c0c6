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

The load is bench/load.py's, with the accounts in its `Shape`: each request carries the next
account as `Stripe-Account`, round-robin (wrk or the asyncio client, one error rule).

`check(url, accounts)` runs after the server has stopped: `check_ledger` must be clean, and it counts
the payouts made.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

from bench.load import Limits, LoadResult, Shape, is_error, run_load
from bench.results import Config, PayoutLoad, Results, loadavg, log, machine_line
from bench.servers import HOST, ServerProcess, auth_headers, database, payoutkit_server
from bench.template import LIABLE, NOT_LIABLE
from devtools.pg import PostgresCluster

PAYOUT_BODY = "amount=100&currency=usd"
MAX_AMOUNT = 99_999_999  # the most one charge (or transfer) may carry (payoutkit.ledger.money)
TRANSFER = 90_000_000  # per transfer: what a MAX_AMOUNT charge leaves the platform after its fee
SPREAD = 32  # accounts of the second figure


def transfers_per_account(accounts: int) -> int:
    return 4 if accounts == 1 else 1


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
    if is_error(resp.status):
        raise RuntimeError(f"POST {path} answered {resp.status}: {data[:400]!r}")
    out: dict[str, Any] = json.loads(data)
    return out


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


# -- after the load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    payouts: int  # payout objects in the store (the setup's one per account included)
    violations: int  # check_ledger's findings (must be 0)
    least_available: int  # the smallest available balance left among the accounts (must be > 0)


def check(url: str, accounts: list[str]) -> Made:
    """`check_ledger` over the whole store (fails loudly on a violation); count the payouts."""
    from sqlalchemy import func, select

    from payoutkit.store.engines import READONLY, make_engine
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


def limits(cfg: Config, duration: float) -> Limits:
    return Limits(cfg.concurrency, duration, cfg.max_requests, cfg.threads, cfg.tool)


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    for figure, n, liable in FIGURES:
        name = f"bench_po_{n}_{'liable' if liable else 'not_liable'}"
        with database(backend, cluster, name) as url:
            with payoutkit_server(url) as srv:
                log(f"payoutkit on {backend} started: pid {srv.pid}, {srv.url}; {figure}")
                item = _figure(srv, backend, (figure, n, liable), cfg,
                               PgSessions(cluster.conninfo(name), name) if cluster and backend == "postgresql"
                               else None)  # fmt: skip
                log(f"stopping payoutkit pid {srv.pid}")
            made = check(url, item.extra.pop("ids"))
        item.payouts, item.least_available = made.payouts, made.least_available
        if made.least_available <= 0:
            raise AssertionError(f"an account ran out of funds ({made.least_available}): fund more")
        log(f"  check_ledger clean; {made.payouts:,} payouts in the store; every account still holds "
            f">= {made.least_available:,}")  # fmt: skip
        res.payouts.append(item)


def _figure(srv: ServerProcess, backend: str, fig: tuple[str, int, bool], cfg: Config,
            sessions: PgSessions | None) -> PayoutLoad:  # fmt: skip
    """Set the accounts up, warm up, and measure `cfg.repeat` runs (and profile the spread figure)."""
    figure, n, liable = fig
    t0 = time.monotonic()
    ids = prepare(srv, n, liable=liable)
    setup = time.monotonic() - t0
    log(f"  {n} account(s) set up through the API in {setup:.1f} s")
    shape = Shape(srv.url + "/v1/payouts", "POST", PAYOUT_BODY, auth_headers()["Authorization"], tuple(ids))
    warm = run_load(shape, limits(cfg, cfg.warmup))
    runs: list[LoadResult] = []
    load_before = loadavg()
    with sessions or contextlib.nullcontext():
        for i in range(cfg.repeat):
            r = run_load(shape, limits(cfg, cfg.duration))
            log(f"  {backend} POST /v1/payouts ({figure}) run {i + 1}/{cfg.repeat}: {r.rps:,.0f} req/s, "
                f"p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, errors {r.errors}"
                f"{' (capped)' if r.capped else ''}")  # fmt: skip
            runs.append(r)
    item = PayoutLoad(backend, figure, n, liable, runs, warm.errors, setup_seconds=setup,
                      loadavg=f"{load_before} / {loadavg()}", extra={"ids": ids})  # fmt: skip
    if sessions is not None:
        item.lock_waits, item.active = sessions.means()
        log(f"  PostgreSQL sessions while measured: {item.active:.1f} active, "
            f"{item.lock_waits:.1f} waiting for a lock (means)")  # fmt: skip
    if n == SPREAD and liable and cfg.profile_seconds:
        item.profile = _profile(srv, shape, cfg)
    return item


def _profile(srv: ServerProcess, shape: Shape, cfg: Config) -> dict[str, Any] | None:
    """py-spy on the server under the same load (an extra run, not one of the measured ones)."""
    from bench.profile import payoutkit_inclusive, py_spy, record, summarize

    if py_spy() is None:
        log("  profile skipped: py-spy is not installed (.venv/bin/pip install py-spy)")
        return None
    result: list[LoadResult] = []
    seconds = cfg.profile_seconds + 2
    loader = threading.Thread(target=lambda: result.append(run_load(shape, limits(cfg, seconds))),
                              daemon=True)  # fmt: skip
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
    share = prof.share
    return {
        "samples": prof.samples,
        "rps": result[0].rps if result else 0.0,
        "threads": {k: round(share(v), 1) for k, v in prof.by_thread.most_common()},
        "layers": [(k, round(share(v), 1)) for k, v in prof.by_layer.most_common(8)],
        "self": [(k, round(share(v), 1)) for k, v in prof.self_time.most_common(8)],
        "inclusive": [(k, round(share(v), 1)) for k, v in payoutkit_inclusive(prof, 40) if "cli.py" not in k][
            :14
        ],
    }


# -- the doc section -------------------------------------------------------------------------------


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
