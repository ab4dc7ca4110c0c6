"""The peer comparison: `python bench/peer.py [--quick] [--no-docs]` (`make bench` runs it).

Three servers, started here on 127.0.0.1 and stopped by their pids, driven side by side in the same run
through the official `stripe` Python SDK (`stripe.StripeClient(key, base_addresses={"api": url})`,
no retries), on the same workload:

- the ceiling: bench/ceiling_app.py on uvicorn, answering the same SDK calls at once with the bytes
  Payoutkit answered them with, captured at the start of the run (the client's own ceiling: the SDK's
  work on an answer, building a `StripeObject` per nested object, is the same on both);
- Payoutkit: `payoutkit serve --simulated-clock` on a fresh SQLite file; the payouts come from the
  platform's own EUR balance (EUR charges `tok_bypassPending`, available at once, and an EUR bank
  account on the platform, default for its currency);
- localstripe (PyPI, `make bench-tools` installs it into .venv only), bound to 127.0.0.1 by
  bench/localstripe_launch.py; it needs nothing for an EUR payout (it keeps no balance: its
  `Balance.retrieve` is a constant).

Workloads: `payout` = `Payout.create` (100 EUR cents) then `Payout.retrieve` of it (two requests);
`balance` = `Balance.retrieve`. At concurrency 1 and 4 (threads, each with its own client), after 0,
2,000 and 20,000 stored payouts. Each figure is the median of several short runs (each bounded in time
and count, with a least count of operations) with its spread (min-max); requests per second counts
every SDK call. The measuring is always through the SDK; the seeding is not, and differs per server:

- Payoutkit is seeded through its own HTTP API, `POST /v1/payouts` (the SDK's request, form and all)
  by bench/load.py's wrk at concurrency 16, in steps, until its store holds the size: one server
  process, the same one measured before and after (its payouts accumulate: the measuring adds its own).
- localstripe is started afresh for each size by bench/localstripe_launch.py, which makes the payouts
  in-process with localstripe's own `Payout._api_create` (what its HTTP handler calls) and saves its
  store once before serving (by HTTP, its store's pickle-on-every-write makes n payouts cost O(n²):
  20,000 would take most of an hour). Verified before measuring: a seeded payout retrieved through
  the SDK, and the store's pickle counted.

What each server held when a figure was taken is counted, not assumed: Payoutkit's payouts by a
read-only `SELECT count(*)` on its SQLite file, localstripe's by loading the pickle it writes after
every request (the store as served).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stripe

from bench.load import Limits, Shape, run_load
from bench.machine import describe, measured
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
    duration: float  # seconds per run, at least…
    min_ops: int  # …and at least this many operations (localstripe at 20,000 takes ~1 s an operation)
    max_ops: int  # operations per run at most
    seed_seconds: float  # time bound of Payoutkit's seeding to one size (it is reported if it comes first)


FULL = Plan(sizes=(0, 2_000, 20_000), runs=7, duration=0.8, min_ops=4, max_ops=2_000, seed_seconds=600.0)
QUICK = Plan(sizes=(0, 200), runs=3, duration=0.3, min_ops=2, max_ops=500, seed_seconds=60.0)
SEED_CONCURRENCY = 16
# localstripe's store, as it saves it after every request (a file of this run's, not the shared default)
PICKLE = Path(tempfile.gettempdir()) / f"bench-localstripe-{os.getpid()}.pickle"


# -- the servers -----------------------------------------------------------------------------------


def localstripe_server(seed: int = 0) -> ServerProcess:
    port = free_port(HOST)
    PICKLE.unlink(missing_ok=True)
    argv = [_bin("python"), str(REPO / "bench" / "localstripe_launch.py"), str(port), "--seed", str(seed),
            "--pickle", str(PICKLE)]  # fmt: skip
    # It seeds before it serves: ~8 s for 20,000 on an idle machine, several times that on a busy one.
    srv = ServerProcess("localstripe", argv, ready_path="/v1/balance", port=port,
                        headers={"Authorization": f"Bearer {LS_KEY}"})  # fmt: skip
    srv.ready_timeout = 60 + seed / 50
    return srv


def client(srv: ServerProcess, key: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": srv.url}, max_network_retries=0)


@dataclass
class Target:
    name: str
    srv: ServerProcess
    key: str
    db: str = ""  # Payoutkit: its SQLite file

    def client(self) -> stripe.StripeClient:
        return client(self.srv, self.key)

    def stored(self) -> int:
        """The payouts this server holds now, counted in its store (the ceiling stores nothing)."""
        if self.name == "payoutkit":
            return payoutkit_payouts(self.db)
        if self.name == "localstripe":
            return int(localstripe_store()["payouts"])
        return 0


def payoutkit_payouts(db: str) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM resources WHERE object = 'payout'").fetchone()[0])
    finally:
        conn.close()


class _StoreReader(pickle.Unpickler):
    """Loads localstripe's pickled store as a plain dict: its `Store.__setitem__` would save the whole
    store to /tmp/localstripe.pickle again for every item it reads back (O(n²), and a shared file)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("localstripe.resources", "Store"):
            return dict
        return super().find_class(module, name)


def localstripe_store() -> dict[str, int]:
    """localstripe's store as it last saved it (after every request): payouts, objects, bytes."""
    with PICKLE.open("rb") as f:
        store = _StoreReader(f).load()
    payouts = sum(1 for k in store if k.startswith("payout:"))
    return {"payouts": payouts, "objects": len(store), "bytes": PICKLE.stat().st_size}


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


def sdk_load(t: Target, op: Callable[[stripe.StripeClient, list[float]], int], conc: int,
             duration: float, ops: tuple[int, int]) -> Run:  # fmt: skip
    """`conc` threads, each with its own client, for `duration` and at least `ops[0]` operations in all,
    at most `ops[1]`."""
    least, most = ops
    clients = [t.client() for _ in range(conc)]
    lats: list[list[float]] = [[] for _ in range(conc)]
    errors = [0] * conc
    started = [0]
    gate = threading.Lock()
    barrier = threading.Barrier(conc + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        barrier.wait()
        while True:
            with gate:
                if started[0] >= most or (started[0] >= least and time.perf_counter() >= deadline[0]):
                    return
                started[0] += 1
            try:
                op(clients[i], lats[i])
            except stripe.StripeError:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(conc)]
    for th in threads:
        th.start()
    deadline[0] = time.perf_counter() + duration
    start = time.perf_counter()
    barrier.wait()
    for th in threads:
        th.join(duration + 300)
    elapsed = time.perf_counter() - start
    all_lat = sorted(x for lat in lats for x in lat)
    if not all_lat:
        return Run(0.0, 0.0, 0.0, sum(errors))
    return Run(len(all_lat) / elapsed, _pct(all_lat, 0.50), _pct(all_lat, 0.99), sum(errors))


def _pct(ordered: list[float], p: float) -> float:
    """The p-th quantile of sorted latencies in seconds, in milliseconds (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def seed_payoutkit(t: Target, size: int, seconds: float, log: Callable[[str], None]) -> str | None:
    """`POST /v1/payouts` through Payoutkit's HTTP API (wrk, concurrency 16) until its store holds `size`
    payouts (counted) or `seconds` pass; returns a note when the bound came first or requests failed."""
    shape = Shape(t.srv.url + "/v1/payouts", "POST", "amount=100&currency=eur", f"Bearer {t.key}")
    start = time.perf_counter()
    have = t.stored()
    errors = 0
    while have < size and time.perf_counter() - start < seconds:
        need = size - have
        step = min(30.0, max(1.0, need / 300), seconds - (time.perf_counter() - start))
        got = run_load(shape, Limits(SEED_CONCURRENCY, step, need, 2, "auto"))
        errors += got.errors
        have = t.stored()
    took = time.perf_counter() - start
    if took > 0.5:
        log(f"seeded payoutkit to {have:,} payouts (counted) in {took:.1f} s through POST /v1/payouts "
            f"({errors} errors)")  # fmt: skip
    notes = []
    if errors:  # wrk counts a 10 s timeout as an error too; the store's count is what was made
        notes.append(f"seeding Payoutkit to {size:,}, {errors} requests failed or timed out")
    if have < size:
        notes.append(f"Payoutkit reached {have:,} stored payouts of {size:,} in the {seconds:.0f} s bound")
    return "; ".join(notes) or None


def verify_localstripe(t: Target, seeded: dict[str, Any], size: int) -> dict[str, int]:
    """A seeded payout retrieved through the SDK as it was made, and the saved store counted."""
    if size:
        po = t.client().v1.payouts.retrieve(str(seeded["first"]))
        if (po.id, po.amount, po.currency, po.status) != (seeded["first"], 100, "eur", "pending"):
            raise AssertionError(f"localstripe's seeded payout is not what was made: {po}")
    store = localstripe_store()
    # Each payout stores itself and its `payout.created` event; the readiness probe's first
    # `GET /v1/balance` stored the balance and its `balance.available` event.
    if store["payouts"] != size or store["objects"] != 2 * size + 2:
        raise AssertionError(f"localstripe's store holds {store}, not {size:,} payouts and their events")
    return store


def _seeded_line(srv: ServerProcess) -> dict[str, Any]:
    for line in srv.log_tail(100_000).splitlines():
        if line.startswith("SEEDED "):
            out: dict[str, Any] = json.loads(line.removeprefix("SEEDED "))
            return out
    return {"payouts": 0, "seconds": 0.0, "first": ""}


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


def measure(targets: tuple[Target, ...], size: int, plan: Plan, log: Callable[[str], None]) -> list[Figure]:
    """Each workload at each concurrency on every server, their runs interleaved (ceiling, Payoutkit,
    localstripe, ceiling, …): a drift of the machine during the figure weighs on all of them alike."""
    out = []
    ops = (plan.min_ops, plan.max_ops)
    for workload in WORKLOADS:
        for conc in CONCURRENCY:
            stored, runs = {}, {}
            for t in targets:
                sdk_load(t, OPS[workload], conc, plan.duration / 2, (1, plan.max_ops))  # warm-up
                stored[t.name] = t.stored()
                runs[t.name] = []
            for _ in range(plan.runs):
                for t in targets:
                    runs[t.name].append(sdk_load(t, OPS[workload], conc, plan.duration, ops))
            for t in targets:
                f = Figure(t.name, size, stored[t.name], workload, conc, tuple(runs[t.name]))
                lo, hi = f.spread("rps")
                log(f"  {t.name:<11} {workload:<7} c={conc} stored={f.stored:>6,}: "
                    f"{f.med('rps'):7,.0f} req/s ({lo:,.0f}-{hi:,.0f}), p50 {f.med('p50_ms'):.1f} ms, "
                    f"p99 {f.med('p99_ms'):.1f} ms, errors {f.errors}")  # fmt: skip
                out.append(f)
    return out


# Headers the ceiling does not copy from Payoutkit's answers: its own server sets them per response.
OWN_HEADERS = {"date", "server", "content-length", "content-type", "connection", "transfer-encoding"}


def capture_answers(t: Target, path: Path) -> None:
    """Payoutkit's own answers to the workload's three calls (body and headers), for the ceiling to give:
    the client's cost of a call includes converting its answer, so the ceiling answers the same bytes."""
    conn = http.client.HTTPConnection(HOST, t.srv.port, timeout=30)
    auth = {"Authorization": f"Bearer {t.key}"}
    answers: dict[str, dict[str, Any]] = {}

    def call(name: str, method: str, url: str, body: str | None = None) -> dict[str, Any]:
        headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"} if body else auth
        conn.request(method, url, body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        if resp.status != 200:
            raise RuntimeError(f"capturing {name}: {resp.status} {text[:300]}")
        kept = {k: v for k, v in resp.getheaders() if k.lower() not in OWN_HEADERS}
        answers[name] = {"body": text, "headers": kept}
        return dict(json.loads(text))

    try:
        made = call("payout.create", "POST", "/v1/payouts", "amount=100&currency=eur")
        call("payout.retrieve", "GET", f"/v1/payouts/{made['id']}")
        call("balance", "GET", "/v1/balance")
    finally:
        conn.close()
    path.write_text(json.dumps(answers))


@contextlib.contextmanager
def servers() -> Iterator[list[Target]]:
    """Payoutkit and the ceiling, for the whole run (localstripe is started per size). Payoutkit first:
    the ceiling answers with the bytes Payoutkit answered (`capture_answers`)."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(database("sqlite", None, "peer"))
        pk = Target("payoutkit", stack.enter_context(payoutkit_server(url)), SECRET_KEY,
                    db=url.removeprefix("sqlite:///"))  # fmt: skip
        prepare_payoutkit(pk)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-peer-"))
        answers = Path(tmp) / "answers.json"
        capture_answers(pk, answers)
        ceiling = stack.enter_context(ceiling_server(answers))
        yield [Target("ceiling", ceiling, SECRET_KEY), pk]


def bench(plan: Plan, log: Callable[[str], None]) -> tuple[list[Figure], dict[str, str], list[str]]:
    figures: list[Figure] = []
    notes: list[str] = []
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with servers() as (ceiling, pk):
        log(f"servers: ceiling pid {ceiling.srv.pid} at {ceiling.srv.url}, payoutkit pid {pk.srv.pid} at "
            f"{pk.srv.url}")  # fmt: skip
        for size in plan.sizes:
            note = seed_payoutkit(pk, size, plan.seed_seconds, log)
            notes += [note] if note else []
            t0 = time.perf_counter()
            with localstripe_server(seed=size) as srv:
                ls = Target("localstripe", srv, LS_KEY)
                seeded = _seeded_line(srv)
                store = verify_localstripe(ls, seeded, size)
                log(f"localstripe pid {srv.pid} at {srv.url}: {store['payouts']:,} payouts seeded in-process "
                    f"in {seeded['seconds']:.1f} s ({store['objects']:,} objects, a {store['bytes']:,}-byte "
                    f"pickle; started and verified in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
                figures.extend(measure((ceiling, pk, ls), size, plan, log))
            log(f"size {size:,} done at {time.perf_counter() - started:.0f} s")
    machine = describe(None)
    machine["Load"] = f"{load_before:.1f} → {os.getloadavg()[0]:.1f}"
    machine["Took"] = f"{time.perf_counter() - started:.0f} s"
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


def _paired(a: Figure | None, b: Figure | None) -> str:
    """`a`'s rate over `b`'s, run by run (their runs alternate, so each pair shares the machine's state
    of that moment): the median and the spread of those ratios."""
    if a is None or b is None or len(a.runs) != len(b.runs) or not all(r.rps for r in b.runs):
        return "—"
    ratios = sorted(x.rps / y.rps for x, y in zip(a.runs, b.runs, strict=True))
    return f"{statistics.median(ratios):.0%} ({ratios[0]:.0%}-{ratios[-1]:.0%})"


def table(figures: list[Figure]) -> list[str]:
    by = {(f.server, f.size, f.workload, f.conc): f for f in figures}
    lines = [
        "| stored | held (counted): Payoutkit / localstripe | workload | c "
        "| ceiling req/s (spread); p50 / p99 | Payoutkit | localstripe | Payoutkit / ceiling "
        "| Payoutkit / ceiling, run by run | Payoutkit / localstripe |",
        "|---:|---:|---|---:|---|---|---|---:|---:|---:|",
    ]
    sizes = sorted({f.size for f in figures})
    for size in sizes:
        for workload in WORKLOADS:
            for conc in CONCURRENCY:
                ce, pk, ls = (by.get((s, size, workload, conc)) for s in SERVERS)
                held = " / ".join(f"{f.stored:,}" if f is not None else "—" for f in (pk, ls))
                ratios = f"{_ratio(pk, ce)} | {_paired(pk, ce)} | {_ratio(pk, ls)}"
                lines.append(f"| {size:,} | {held} | {workload} | {conc} | {_cell(ce)} | {_cell(pk)} "
                             f"| {_cell(ls)} | {ratios} |")  # fmt: skip
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
        f"{plan.runs} runs of at least {plan.duration:g} s and {plan.min_ops} operations (at most "
        f"{plan.max_ops:,}) after a warm-up, the spread min-max in brackets, then the median p50 / p99 "
        "latency per request. `held` is the number of payouts each server's store held when the figure's "
        "runs began, counted in the store (Payoutkit: `SELECT count(*)` on its SQLite file; localstripe: the "
        "pickle it saves after every request), the measuring runs adding their own. Seeding, not measured: "
        f"Payoutkit through its HTTP API (`POST /v1/payouts` by wrk at concurrency {SEED_CONCURRENCY}, "
        "the same server process throughout, so its payouts accumulate); localstripe "
        f"{ls_version} (PyPI) started afresh for each size by bench/localstripe_launch.py on 127.0.0.1, "
        "its payouts made in-process by its own `Payout._api_create` (what its `POST /v1/payouts` handler "
        "calls; each stores the payout and its `payout.created` event) and its store saved once before it "
        "serves, then checked: a seeded payout retrieved through the SDK, and the store counted. Served, "
        "localstripe pickles its whole store to a file on every write (about three times "
        "per `Payout.create`), which is what its payout rate pays at 20,000; its balance is a constant. "
        "Payoutkit: `payoutkit serve --simulated-clock` on SQLite (WAL, synchronous=NORMAL), paying out of "
        "the platform's own EUR balance. The ceiling: bench/ceiling_app.py answering the same calls with "
        "the same bytes Payoutkit answered them with (body and headers, captured at the start of "
        "the run), so that the client's own work on an answer counts the same on both. The three servers' "
        "runs of a figure are interleaved (ceiling, Payoutkit, localstripe, ceiling, …). `Payoutkit / "
        "ceiling` is the ratio of the two medians; `run by run` divides each Payoutkit run by the ceiling "
        "run just before it, which shares the machine's state of that moment, and gives the median and "
        "the spread of those ratios: how far the machine's drift moves the ratio.",
        "",
        *([("Not reached: " + "; ".join(notes) + ".")] if notes else []),
        *([""] if notes else []),
        measured(machine, keys=("CPU",)) + f" ({machine.get('Cores', '?')}; {machine.get('RAM', '?')} RAM; "
        f"load average {machine.get('Load', '?')} while measuring); Python {machine.get('Python', '?')}. "
        "The three servers and the client share the machine's cores. The whole run took "
        f"{machine.get('Took', '?')}, seeding included. Produced by `bench/peer.py` (`make bench`).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="sizes 0 and 200, shorter runs; docs untouched")
    ap.add_argument("--docs", action="store_true", help="update docs/benchmarks.md even with --quick")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    ap.add_argument("--seed-seconds", type=float, help="the time bound of Payoutkit's seeding to one size")
    ap.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 0,2000,20000")
    args = ap.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = dataclasses.replace(plan, sizes=args.sizes)
    if args.seed_seconds:
        plan = dataclasses.replace(plan, seed_seconds=args.seed_seconds)

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
