"""What the scenarios measure and what they share: the configuration, the result records, the log.

Every scenario module imports this one; the runner (bench/run.py) and the report (bench/report.py)
import the scenarios. Nothing here imports a scenario, so there are no circles.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.load import LoadResult, SeqResult
from bench.machine import measured
from bench.profile import Profile

T = TypeVar("T")


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
    autopayout_budget: float = 400  # a size gets the runs that fit (>= 1), or is skipped if one does not
    autopayout_profile: int = 2_000  # accounts in the extra, profiled run (0: none)
    autopayout_probe: tuple[int, ...] = (0, 1_000, 10_000)  # swept txns per account, history probe
    autopayout_runs: int = 3  # runs per size (median shown, min-max beside it)
    settle_runs: int = 3  # settlements per size, each on a fresh seed (median shown, min-max beside it)
    history_runs: int = 3  # sequential measurements per history size (median shown, min-max beside it)
    rss_seconds: float = 15  # the mixed load before the server's peak RSS is read


FULL = Config(duration=10, warmup=3, repeat=3, concurrency=32, max_requests=1_000_000, threads=2, tool="auto",
              history_small=1_000, history_large=1_000_000, seq_requests=2_000, seq_seconds=60,
              profile_seconds=12, settle_sizes=(100_000, 1_000_000), settle_per_bucket=100,
              settle_timeout=600)  # fmt: skip
QUICK = Config(duration=2, warmup=1, repeat=1, concurrency=32, max_requests=200_000, threads=2, tool="auto",
               history_small=200, history_large=20_000, seq_requests=300, seq_seconds=15,
               profile_seconds=4, settle_sizes=(100_000,), settle_per_bucket=100,
               settle_timeout=120, autopayout_sizes=(2_000,), autopayout_timeout=300,
               autopayout_profile=1_000, autopayout_probe=(0, 1_000), autopayout_runs=1, settle_runs=1,
               history_runs=1, rss_seconds=3)  # fmt: skip


class Measured:
    """Repeated load runs of one figure: the median run, and every error (warm-up included)."""

    runs: list[LoadResult]
    warmup_errors: int

    @property
    def median(self) -> LoadResult:
        ordered = sorted(self.runs, key=lambda r: r.rps)
        return ordered[len(ordered) // 2]

    @property
    def errors(self) -> int:
        return self.warmup_errors + sum(r.errors for r in self.runs)


@dataclass
class Throughput(Measured):
    backend: str
    endpoint: str
    runs: list[LoadResult]
    warmup_errors: int
    target: int | None = None


@dataclass
class History:
    backend: str
    txns: int
    balance: SeqResult  # the median run (by p50)…
    listing: SeqResult
    balance_runs: list[SeqResult] = field(default_factory=list)  # …of these
    listing_runs: list[SeqResult] = field(default_factory=list)

    @property
    def errors(self) -> int:
        runs = (self.balance_runs + self.listing_runs) or [self.balance, self.listing]
        return sum(r.errors for r in runs)


@dataclass
class Rss:
    backend: str
    txns: int  # balance transactions on the platform's account
    before_kb: int  # the server's VmHWM before the mixed load…
    peak_kb: int  # …and after it
    rss_kb: int  # its VmRSS at the end
    children_kb: int  # the summed VmHWM of its child processes, if any
    children: int
    seconds: float
    loads: dict[str, tuple[float, int, int]]  # label -> req/s, requests, errors


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
    all_seconds: list[float] = field(default_factory=list)  # every run's seconds; this record is the median's

    @property
    def rate(self) -> float:
        return self.txns / self.seconds if self.seconds else 0.0


@dataclass
class PayoutLoad(Measured):
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
    all_seconds: list[float] = field(default_factory=list)  # every run's seconds; this record is the median's

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
    payouts: list[PayoutLoad] = field(default_factory=list)
    autopayout: list[Autopayout] = field(default_factory=list)
    rss: list[Rss] = field(default_factory=list)

    @property
    def errors(self) -> int:
        n = sum(t.errors for t in self.throughput) + (self.ceiling.errors if self.ceiling else 0)
        n += sum(p.errors for p in self.payouts) + sum(v[2] for r in self.rss for v in r.loads.values())
        return n + sum(h.errors for h in self.history)


def median_of(records: list[T], key: Callable[[T], float]) -> T:
    """The median record by `key` (the lower middle one of an even count: a record that was measured)."""
    ordered = sorted(records, key=key)
    return ordered[(len(ordered) - 1) // 2]


def spread(values: list[float], fmt: str = "{:,.2f}") -> str:
    """min-max of several runs, or "1 run" when there is only one."""
    if len(values) < 2:
        return "1 run"
    return f"{fmt.format(min(values))}-{fmt.format(max(values))}"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def loadavg() -> str:
    """The machine's 1, 5 and 15-minute load averages (it may be shared with other jobs)."""
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    return "?"


def machine_line(res: Results, *, load_generator: bool = True) -> str:
    keys = ("CPU", "Cores", "RAM", "Kernel", "Python", "SQLite", "PostgreSQL")
    keys += ("Load generator",) if load_generator else ()
    told = durability_line(res, res.storage)
    return " ".join(x for x in (measured(res.machine, keys=keys) + ".", told) if x)


def short_machine_line(res: Results, backends: Collection[str] | None = None) -> str:
    """For a section under the machine table: when, at which commit, on what CPU, and the stores'
    durability (the rest of the machine is in its own section)."""
    told = durability_line(res, res.storage if backends is None else backends)
    return " ".join(x for x in (measured(res.machine, keys=("CPU",)) + " (see Machine).", told) if x)


def durability_line(res: Results, backends: Collection[str]) -> str:
    """The stores' durability (bench/durability.py) for a section's figures: which settings each used."""
    from bench.durability import short

    told = [short(res.storage[b]) for b in ("sqlite", "postgresql") if b in backends and b in res.storage]
    return ("Durability: " + "; ".join(told) + ".") if told else ""


def replace_section(path: Path, name: str, body: str, heading: str) -> None:
    """Rewrite the generated block of `path` between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
    a page without it gets the block appended under `## heading`. The text around it is kept."""
    text = path.read_text()
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    path.write_text(text)
