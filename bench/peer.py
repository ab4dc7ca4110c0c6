"""The peer comparison: `python bench/peer.py [--quick] [--no-docs]` (`make bench` runs it).

Three servers, started here on 127.0.0.1 and stopped by their pids, driven side by side in the same run
through the official `stripe` Python SDK (`stripe.StripeClient(key, base_addresses={"api": url})`,
no retries), on the same workload:

- the ceiling: bench/ceiling_app.py on uvicorn, answering the same SDK calls at once with canned JSON
  (the client's own ceiling);
- Payoutkit: `payoutkit serve --simulated-clock` on a fresh SQLite file; the payouts come from the
  platform's own EUR balance (EUR charges `tok_bypassPending`, available at once, and an EUR bank
  account on the platform, default for its currency);
- localstripe (PyPI, `make bench-tools` installs it into .venv only), bound to 127.0.0.1 by
  bench/localstripe_launch.py; it needs nothing for an EUR payout (it keeps no balance: its
  `Balance.retrieve` is a constant).

Workloads: `payout` = `Payout.create` (100 EUR cents) then `Payout.retrieve` of it (two requests);
`balance` = `Balance.retrieve`. At concurrency 1 and 4 (threads, each with its own client), after 0,
2,000 and 20,000 stored payouts (made through the SDK beforehand, 4 threads, bounded in time: the size
reached is reported). Each figure is the median of several short runs (each bounded in count and time)
with its spread (min-max); requests per second counts every SDK call.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stripe

from bench.machine import describe
from bench.results import replace_section
from bench.servers import (
    HOST,
    REPO,
    SECRET_KEY,
    ServerProcess,
    _bin,
    ceiling_server,
    database,
    payoutkit_server,
)
from devtools.pg import free_port

warnings.filterwarnings("ignore", category=DeprecationWarning)

DOCS = REPO / "docs" / "benchmarks.md"
SERVERS = ("ceiling", "payoutkit", "localstripe")
NAMES = {"ceiling": "ceiling", "payoutkit": "Payoutkit", "localstripe": "localstripe"}
WORKLOADS = ("payout", "balance")
CONCURRENCY = (1, 4)
LS_KEY = "sk_test_localstripe_bench"
EUR_BANK = {
    "object": "bank_account", "country": "DE", "currency": "eur",
    "account_number": "000123456789",  # a test number: no IBANs here
}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    runs: int  # measured runs per figure (after one warm-up)
    duration: float  # seconds per run
    max_ops: int  # operations per run, whichever comes first
    seed_seconds: float  # time bound of each seeding step (the largest size gets SEED_LARGEST times it)


FULL = Plan(sizes=(0, 2_000, 20_000), runs=4, duration=0.3, max_ops=2_000, seed_seconds=30.0)
SEED_LARGEST = 2.5  # the whole run stays under 3 minutes
QUICK = Plan(sizes=(0, 200), runs=3, duration=0.3, max_ops=500, seed_seconds=15.0)


# -- the servers -----------------------------------------------------------------------------------


def localstripe_server() -> ServerProcess:
    port = free_port(HOST)
    argv = [_bin("python"), str(REPO / "bench" / "localstripe_launch.py"), str(port)]
    return ServerProcess("localstripe", argv, ready_path="/v1/balance", port=port,
                         headers={"Authorization": f"Bearer {LS_KEY}"})  # fmt: skip


def client(srv: ServerProcess, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": srv.url}, max_network_retries=0)


@dataclass
class Target:
    name: str
    srv: ServerProcess
    key: str
    stored: int = 0  # payouts made through the SDK so far (seeding and measuring)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self) -> stripe.StripeClient:
        return client(self.srv, self.key)

    def count(self, n: int) -> None:
        if self.name == "ceiling":
            return  # it stores nothing
        with self.lock:
            self.stored += n


def prepare_payoutkit(t: Target) -> None:
    """An EUR bank account on the platform and EUR funds for far more payouts than a run makes."""
    c = t.client()
    platform = c.v1.accounts.retrieve_current()
    c.v1.accounts.external_accounts.create(platform.id, params={"external_account": EUR_BANK})  # type: ignore[typeddict-item]
    for _ in range(3):  # ~2.9M payouts of 100
        c.v1.charges.create(params={"amount": 99_999_999, "currency": "eur", "source": "tok_bypassPending"})


# -- the load --------------------------------------------------------------------------------------


def payout_op(c: stripe.StripeClient, lat: list[float]) -> int:
    t0 = time.perf_counter()
    po = c.v1.payouts.create(params={"amount": 100, "currency": "eur"})
    t1 = time.perf_counter()
    c.v1.payouts.retrieve(po.id)
    t2 = time.perf_counter()
    lat += (t1 - t0, t2 - t1)
    return 1


def balance_op(c: stripe.StripeClient, lat: list[float]) -> int:
    t0 = time.perf_counter()
    c.v1.balance.retrieve()
    lat.append(time.perf_counter() - t0)
    return 0


OPS: dict[str, Callable[[stripe.StripeClient, list[float]], int]] = {
    "payout": payout_op,
    "balance": balance_op,
}


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_load(t: Target, op: Callable[[stripe.StripeClient, list[float]], int], conc: int,
             duration: float, max_ops: int) -> Run:  # fmt: skip
    """`conc` threads, each with its own client, until `duration` or `max_ops` operations in all."""
    clients = [t.client() for _ in range(conc)]
    lats: list[list[float]] = [[] for _ in range(conc)]
    errors = [0] * conc
    made = [0] * conc
    left = [max_ops]
    gate = threading.Lock()
    barrier = threading.Barrier(conc + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            with gate:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                made[i] += op(clients[i], lats[i])
            except stripe.StripeError:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(conc)]
    for th in threads:
        th.start()
    deadline[0] = time.perf_counter() + duration
    start = time.perf_counter()
    barrier.wait()
    for th in threads:
        th.join(duration + 30)
    elapsed = time.perf_counter() - start
    t.count(sum(made))
    all_lat = sorted(x for lat in lats for x in lat)
    if not all_lat:
        return Run(0.0, 0.0, 0.0, sum(errors))
    return Run(len(all_lat) / elapsed, _pct(all_lat, 0.50), _pct(all_lat, 0.99), sum(errors))


def _pct(ordered: list[float], p: float) -> float:
    """The p-th quantile of sorted latencies in seconds, in milliseconds (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def seed(t: Target, target: int, seconds: float) -> float:
    """Payouts through the SDK (4 threads) until `target` are stored or `seconds` pass; returns the time."""
    need = target - t.stored
    if need <= 0:
        return 0.0
    start = time.perf_counter()
    deadline = start + seconds
    left = [need]
    gate = threading.Lock()

    def worker() -> None:
        c = t.client()
        while time.perf_counter() < deadline:
            with gate:
                if left[0] <= 0:
                    return
                left[0] -= 1
            c.v1.payouts.create(params={"amount": 100, "currency": "eur"})
            t.count(1)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(seconds + 60)
    return time.perf_counter() - start


def seed_all(targets: list[Target], size: int, seconds: float, log: Callable[[str], None]) -> None:
    """Seed the servers at once (each is bound by its own process, not by the other's), each bounded."""

    def one(t: Target) -> None:
        took = seed(t, size, seconds)
        if took:
            log(f"seeded {t.name} to {t.stored:,} payouts in {took:.1f} s")

    threads = [threading.Thread(target=one, args=(t,), daemon=True) for t in targets]
    for th in threads:
        th.start()
    for th in threads:
        th.join(seconds + 120)


# -- the figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    server: str
    size: int  # the target size
    stored: int  # payouts actually stored when the figure was taken
    workload: str
    conc: int
    runs: tuple[Run, ...]

    def med(self, attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in self.runs))

    def spread(self, attr: str) -> tuple[float, float]:
        vals = [getattr(r, attr) for r in self.runs]
        return min(vals), max(vals)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def measure(t: Target, size: int, plan: Plan, log: Callable[[str], None]) -> list[Figure]:
    out = []
    for workload in WORKLOADS:
        for conc in CONCURRENCY:
            stored = t.stored
            run_load(t, OPS[workload], conc, plan.duration / 2, plan.max_ops)  # warm-up
            runs = tuple(
                run_load(t, OPS[workload], conc, plan.duration, plan.max_ops) for _ in range(plan.runs)
            )
            f = Figure(t.name, size, stored, workload, conc, runs)
            lo, hi = f.spread("rps")
            log(f"  {t.name:<11} {workload:<7} c={conc} stored={stored:>6,}: {f.med('rps'):7,.0f} req/s "
                f"({lo:,.0f}-{hi:,.0f}), p50 {f.med('p50_ms'):.1f} ms, p99 {f.med('p99_ms'):.1f} ms, "
                f"errors {f.errors}")  # fmt: skip
            out.append(f)
    return out


@contextlib.contextmanager
def servers() -> Iterator[list[Target]]:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database("sqlite", None, "peer"))
        ceiling = stack.enter_context(ceiling_server())
        pk = stack.enter_context(payoutkit_server(url))
        ls = stack.enter_context(localstripe_server())
        yield [Target("ceiling", ceiling, SECRET_KEY), Target("payoutkit", pk, SECRET_KEY),
               Target("localstripe", ls, LS_KEY)]  # fmt: skip


def bench(plan: Plan, log: Callable[[str], None]) -> tuple[list[Figure], dict[str, str], list[str]]:
    figures: list[Figure] = []
    notes: list[str] = []
    load_before = os.getloadavg()[0]
    with servers() as targets:
        log("servers: " + ", ".join(f"{t.name} pid {t.srv.pid} at {t.srv.url}" for t in targets))
        prepare_payoutkit(targets[1])
        for size in plan.sizes:
            bound = plan.seed_seconds * (SEED_LARGEST if size == max(plan.sizes) else 1)
            seed_all([t for t in targets if t.name != "ceiling"], size, bound, log)
            for t in targets[1:]:
                if t.stored < size:
                    notes.append(f"{t.name} reached {t.stored:,} stored payouts of the {size:,} asked for "
                                 f"within the {bound:.0f} s seeding bound")  # fmt: skip
            for t in targets:
                figures.extend(measure(t, size, plan, log))
    machine = describe(None)
    machine["Load"] = f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"
    return figures, machine, notes


# -- the report ------------------------------------------------------------------------------------


def _cell(f: Figure | None) -> str:
    if f is None:
        return "—"
    lo, hi = f.spread("rps")
    err = f", **{f.errors} errors**" if f.errors else ""
    return f"{f.med('rps'):,.0f} ({lo:,.0f}-{hi:,.0f}); {f.med('p50_ms'):.1f} / {f.med('p99_ms'):.1f} ms{err}"


def _ratio(a: Figure | None, b: Figure | None) -> str:
    if a is None or b is None or not b.med("rps"):
        return "—"
    r = a.med("rps") / b.med("rps")
    return f"{r:.0%}" if r < 1.995 else f"{r:.1f}x"


def _commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "payoutkit"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return out.stdout.strip() + (" (payoutkit/ modified)" if dirty else "")


def table(figures: list[Figure]) -> list[str]:
    by = {(f.server, f.size, f.workload, f.conc): f for f in figures}
    lines = [
        "| stored | workload | c | ceiling req/s (spread); p50 / p99 | Payoutkit | localstripe "
        "| Payoutkit / ceiling | Payoutkit / localstripe |",
        "|---:|---|---:|---|---|---|---:|---:|",
    ]
    sizes = sorted({f.size for f in figures})
    for size in sizes:
        for workload in WORKLOADS:
            for conc in CONCURRENCY:
                ce, pk, ls = (by.get((s, size, workload, conc)) for s in SERVERS)
                stored = f"{size:,}"
                short = [f for f in (pk, ls) if f is not None and f.stored < size]
                if short:  # the seeding bound came first: say what each server held
                    stored += " asked; held: " + ", ".join(f"{NAMES[f.server]} {f.stored:,}" for f in short)
                lines.append(f"| {stored} | {workload} | {conc} | {_cell(ce)} | {_cell(pk)} | {_cell(ls)} "
                             f"| {_ratio(pk, ce)} | {_ratio(pk, ls)} |")  # fmt: skip
    return lines


def section(figures: list[Figure], machine: dict[str, str], notes: list[str], plan: Plan) -> str:
    ls_version = subprocess.run([_bin("pip"), "show", "localstripe"], capture_output=True, text=True).stdout
    ls_version = next(
        (x.split(":", 1)[1].strip() for x in ls_version.splitlines() if x.startswith("Version")), "?"
    )
    lines = [
        *table(figures),
        "",
        f"Workloads through the official `stripe` Python SDK {stripe.VERSION} (one `StripeClient` per "
        "thread, no retries): `payout` = `Payout.create` (100 EUR cents) then `Payout.retrieve` of it, both "
        "counted as requests; `balance` = `Balance.retrieve`. Each cell is the median of "
        f"{plan.runs} runs of {plan.duration:g} s (or {plan.max_ops:,} operations) after a warm-up, the "
        "spread min-max in brackets, then the median p50 / p99 latency per request. `stored` is the "
        "number of payouts made through the SDK before the figure (seeded with 4 threads, at most "
        f"{plan.seed_seconds:.0f} s per size, {plan.seed_seconds * SEED_LARGEST:.0f} s for the largest, both "
        "servers at once; the measuring runs add their own). Payoutkit: "
        "`payoutkit serve --simulated-clock` on SQLite (WAL), paying out of the platform's own EUR balance. "
        f"localstripe {ls_version} (PyPI) on 127.0.0.1 via bench/localstripe_launch.py, from an empty store: "
        "it pickles its whole store to /tmp/localstripe.pickle on every write, and its balance is a "
        "constant. "
        "The ceiling: bench/ceiling_app.py answering the same calls with canned JSON.",
        "",
        *([("Not reached: " + "; ".join(notes) + ".")] if notes else []),
        *([""] if notes else []),
        f"Measured {machine.get('Date', '?')} at commit {_commit()} on {machine.get('CPU', '?')} "
        f"({machine.get('Cores', '?')}; {machine.get('RAM', '?')} RAM; "
        f"load average {machine.get('Load', '?')} "
        "while measuring, the machine being shared with other work, so the figures are indicative); "
        f"Python {machine.get('Python', '?')}. The three servers and the client share the machine's cores. "
        "Produced by `bench/peer.py` (`make bench`).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="sizes 0 and 200, shorter runs; docs untouched")
    ap.add_argument("--docs", action="store_true", help="update docs/benchmarks.md even with --quick")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    ap.add_argument("--seed-seconds", type=float, help="the time bound of each server's seeding step")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 0,2000,20000")
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = Plan(args.sizes, plan.runs, plan.duration, plan.max_ops, plan.seed_seconds)
    if args.seed_seconds:
        plan = Plan(plan.sizes, plan.runs, plan.duration, plan.max_ops, args.seed_seconds)

    def log(msg: str) -> None:
        print(msg, flush=True)

    # A SIGTERM (timeout, Ctrl-C's cousin) unwinds the servers' context managers: each is stopped by pid.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    figures, machine, notes = bench(plan, log)
    body = section(figures, machine, notes, plan)
    print(body)
    if (args.docs or not args.quick) and not args.no_docs:
        replace_section(DOCS, "peer", body, "Side by side: Payoutkit, localstripe and the client's ceiling")
        print(f"updated {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
