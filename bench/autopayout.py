"""The autopayout scenario: seed N accounts due for an automatic payout, then time the worker paying them.

`seed(url, accounts)` makes, through the API in this process (bench/template.py), on a clock 30 days
before the run time, the platform (first start) and ONE connected account as `POST /v1/accounts
type=custom country=US` makes it (the platform is liable for its negative balances, so each payout also
locks the platform's buckets and re-syncs the account's reserve; default schedule: daily, delay 2
days) with a `btok_us_verified` bank account (default for usd; its payouts succeed). Then, set-based
through `payoutkit.store.seeding` (no rows pass through Python):

- `accounts` copies of that account (`acct_bench0000000000`…): its row, its bank account and its payout
  run, due at NOW (the template's own run is moved a year past NOW: it is not one of them);
- one (test mode, usd, payments, card) bucket each, holding one available balance transaction of
  1,000..99,999 (a charge that settled three days ago), booked against one of the 16 `sys_world_NN`
  buckets (-amount); every bucket is then set from its transactions: conservation holds by construction.

`check(url, accounts, paid=...)` runs `payoutkit.store.invariants.check_ledger` and checks the
scenario's state: before, every account holds its funds and is due; after, there is one payout per
account (and its tracking row), every account's available is 0, every transaction of theirs is swept
by its payout, and no run of theirs is due. The timed run is bench/autopayout_run.py's child process.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import seed as seeds
from bench.autopayout_run import NOW, run_child
from bench.results import Autopayout, Config, Probe, Results, Run, loadavg, log, median_of
from bench.servers import database
from bench.template import account, through_api
from devtools.pg import PostgresCluster
from payoutkit.store import seeding
from payoutkit.store.engines import make_engine
from payoutkit.store.payouts import put_next_run

DAY = 86_400
CREATED = NOW - 30 * DAY  # when the accounts and bank accounts were made
FUNDED = NOW - 3 * DAY  # when their funds were charged (available since)
PREFIX = "acct_bench"
PROBE_ACCOUNTS = 100


def seed(url: str, accounts: int) -> None:
    """Seed an empty database at `url` with `accounts` accounts due for a payout."""
    template = through_api(url, CREATED, lambda client: account(client, liable=True, bank=True))
    seeds.load(url, lambda conn: _fill(conn, template, accounts))


def _fill(conn: Any, template: str, n: int) -> None:
    seeding.copy_account(conn, seeding.Copies(template, n, PREFIX, next_run_at=NOW))
    put_next_run(conn, template, False, NOW + 365 * DAY)  # the template itself is not one of the N
    seeding.add_buckets(conn, PREFIX, n, seeds.KEY)
    seeds.world_buckets(conn)
    seeding.book_pairs(conn, seeding.Pairs(seeds.KEY, n, PREFIX, n, least=1000, spread=99_000, first=FUNDED,
                                           source="ch_bench"))  # fmt: skip
    seeding.resync_buckets(conn)


def seed_swept_history(url: str, accounts: int, per_account: int) -> None:
    """Give each seeded account `per_account` older available transactions (+1 each, against the world's
    shards) already swept by an earlier payout, as a long-lived automatic account has; the buckets are
    set from their transactions again, so the ledger stays whole."""
    if per_account <= 0:
        return
    pairs = seeding.Pairs(seeds.KEY, accounts * per_account, PREFIX, accounts, least=1, first=FUNDED - DAY,
                          ids="txn_old", payout="po_benchearlier")  # fmt: skip
    seeds.load(url, lambda conn: (seeding.book_pairs(conn, pairs), seeding.resync_buckets(conn)))


def check(url: str, *, accounts: int, paid: bool) -> dict[str, int]:
    """`check_ledger` must find nothing, and the accounts must be as the scenario expects (see module
    docstring). Returns the counts it checked."""
    from sqlalchemy import func, select

    from payoutkit.store.engines import READONLY
    from payoutkit.store.invariants import check_ledger
    from payoutkit.store.schema import balance_transactions as t
    from payoutkit.store.schema import balances as b
    from payoutkit.store.schema import payout_runs, payout_tracking, resources

    mine = b.c.account_id.like(f"{PREFIX}%")
    ours = payout_runs.c.account_id.like(f"{PREFIX}%")
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
                    select(func.count()).where(t.c.account_id.like(f"{PREFIX}%"), t.c.payout.is_(None))
                ),
                "due": conn.execute(select(func.count()).where(payout_runs.c.next_run_at <= NOW, ours)),
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


def sweep_plan(url: str, accounts: int) -> str:
    """How the database runs the store's own sweep statement as a unit of these accounts sends it: on
    SQLite one row at a time (the first account's bucket), on PostgreSQL one statement over arrays of
    every account's bucket (`Write.over_arrays`)."""
    from payoutkit.store import payouts as store_payouts

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                lines = seeding.explain(conn, store_payouts._SWEEP.stmt, {"b_seq": 1, "b_payout": "po_x"})
                return "; ".join(lines)
            seqs = seeding.bucket_seqs_of(conn, PREFIX, accounts)
            sweep = store_payouts._SWEEP.over_arrays()  # the statement itself: its plan, not a copy's
            lines = seeding.explain(conn, sweep, {"b_seq": seqs, "b_payout": ["po_x"] * len(seqs)})
    finally:
        engine.dispose()
    plan = "; ".join(ln.strip().split("  (cost")[0] for ln in lines if "Scan" in ln or "Cond" in ln)
    return re.sub(r"'\{[^}]*\}'", "'{…}'", plan)  # the arrays' values: one row id per account


# -- the scenario ----------------------------------------------------------------------------------


def _per_account_ms(units: list[dict[str, float]]) -> tuple[float, float]:
    busy = [u for u in units if u["accounts"]]
    tenth = max(1, len(busy) // 10)

    def ms(part: list[dict[str, float]]) -> float:
        n = sum(u["accounts"] for u in part)
        return 1000 * sum(u["seconds"] for u in part) / n if n else 0.0

    return ms(busy[:tenth]), ms(busy[-tenth:])


def scenario(backend: str, cluster: PostgresCluster | None, cfg: Config, res: Results) -> None:
    out = Autopayout(backend)
    res.autopayout.append(out)
    for n in cfg.autopayout_sizes:
        # Every size gets the runs: a figure is a median with its spread (the smaller one is cheap).
        repeat = cfg.autopayout_runs
        if out.runs and cfg.autopayout_budget:  # the per-account cost is flat: the last size predicts
            predicted = n * out.runs[-1].seconds / out.runs[-1].accounts
            if predicted > cfg.autopayout_budget:
                out.skipped.append((n, predicted))
                log(f"{backend}: {n:,} accounts skipped: the {out.runs[-1].accounts:,} run predicts "
                    f"~{predicted:,.0f} s, over the {cfg.autopayout_budget:,.0f} s budget")  # fmt: skip
                continue
            # As many runs as the budget holds (at least one): the figure says how many it is.
            repeat = max(1, min(repeat, int(cfg.autopayout_budget // max(predicted, 1e-9))))
        runs = [_measure(backend, cluster, n, cfg) for _ in range(repeat)]
        run = median_of(runs, lambda r: r.seconds)
        run.all_seconds = [r.seconds for r in runs]
        out.runs.append(run)
    if cfg.autopayout_profile:
        out.profile = _profile(backend, cluster, cfg.autopayout_profile, cfg.autopayout_timeout)
    for history in cfg.autopayout_probe:
        out.probes.append(_probe(backend, cluster, history, cfg))


def _measure(backend: str, cluster: PostgresCluster | None, n: int, cfg: Config) -> Run:
    with database(backend, cluster, f"bench_autopayout_{n}") as url:
        t0 = time.monotonic()
        seed(url, n)
        seeded = time.monotonic() - t0
        t0 = time.monotonic()
        check(url, accounts=n, paid=False)
        checked = time.monotonic() - t0
        log(f"{backend}: {n:,} accounts due seeded in {seeded:.1f} s; check_ledger clean ({checked:.1f} s)")
        before = loadavg()
        got = run_child(url, cfg.autopayout_timeout)
        after = loadavg()
        t0 = time.monotonic()
        counts = check(url, accounts=n, paid=True)
        checked += time.monotonic() - t0
    first, last = _per_account_ms(got["units"])
    run = Run(n, got["seconds"], len(got["units"]), counts["payouts"], first, last, seeded, checked,
              f"{before} / {after}")  # fmt: skip
    log(f"  {backend}: {run.accounts:,} accounts paid out in {run.seconds:,.1f} s ({run.rate:,.0f}/s, "
        f"{run.units} units, {got['loops']} at once; ms per account {first:.2f} first tenth, {last:.2f} "
        f"last tenth; CPU {got['cpu_seconds']:.1f} s in the worker's process); "
        f"{run.payouts:,} payouts, every account at 0 available, check_ledger clean")  # fmt: skip
    return run


def _probe(backend: str, cluster: PostgresCluster | None, history: int, cfg: Config) -> Probe:
    n = PROBE_ACCOUNTS
    with database(backend, cluster, f"bench_autopayout_probe_{history}") as url:
        seed(url, n)
        seed_swept_history(url, n, history)
        check(url, accounts=n, paid=False)
        plan = sweep_plan(url, n)
        got = run_child(url, cfg.autopayout_timeout, statements=True)
        check(url, accounts=n, paid=True)
    sweep = got["statements"].get("UPDATE balance_transactions (the sweep)", {}).get("seconds", 0.0)
    probe = Probe(n, history, 1000 * got["seconds"] / n, 1000 * sweep / n, plan)
    log(f"  {backend}: {n} accounts with {history:,} swept txns each: {probe.ms_per_account:.2f} ms per "
        f"account, of which the sweep {probe.sweep_ms:.2f} ms ({plan})")  # fmt: skip
    return probe


def _profile(backend: str, cluster: PostgresCluster | None, n: int, timeout: float) -> dict[str, Any]:
    """One more run, sampled by py-spy from start to end, statements counted: where the time goes."""
    from bench.profile import payoutkit_inclusive, py_spy, summarize

    with database(backend, cluster, f"bench_autopayout_profile_{n}") as url:
        seed(url, n)
        with tempfile.TemporaryDirectory() as tmp:
            spy = Path(tmp) / "profile.txt" if py_spy() else None
            log(f"{backend}: profiling a run of {n:,} accounts (statements counted"
                f"{', py-spy on the child' if spy else '; py-spy is not installed'})")  # fmt: skip
            got = run_child(url, timeout, statements=True, profile=spy)
            prof = summarize(spy) if spy is not None and spy.exists() else None
        check(url, accounts=n, paid=True)
    out: dict[str, Any] = {"accounts": n, "seconds": got["seconds"], "statements": got["statements"]}
    if prof is not None:
        share = prof.share
        out |= {
            "samples": prof.samples,
            "layers": [(k, round(share(v), 1)) for k, v in prof.by_layer.most_common(8)],
            "self": [(k, round(share(v), 1)) for k, v in prof.self_time.most_common(10)],
            "inclusive": [(k, round(share(v), 1)) for k, v in payoutkit_inclusive(prof, 16)],
        }
    return out
