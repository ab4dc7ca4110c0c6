"""Turn results into text for the terminal and into the generated sections of docs/benchmarks.md.

The doc is part generated, part written by hand: each generated section sits between
`<!-- bench:NAME -->` and `<!-- /bench:NAME -->` and is replaced on every run that measured it;
everything else (method, analysis, suggestions) is left as it is. A missing doc is created from
TEMPLATE.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import autopayout_report, payouts, rss
from bench.profile import payoutkit_inclusive
from bench.results import Results, Settle, Throughput, machine_line, short_machine_line, spread
from bench.settle import LABELS

TEMPLATE = """# Benchmarks

Produced by `make bench` (`.venv/bin/python bench/run.py`; `--help` lists the scenarios). The sections
between `bench:` markers are rewritten by every full run; the rest is written by hand.

## Machine

<!-- bench:machine -->
_not measured yet_
<!-- /bench:machine -->

## Throughput at concurrency 32

<!-- bench:throughput -->
_not measured yet_
<!-- /bench:throughput -->

## Ceiling: a bare Starlette app

<!-- bench:ceiling -->
_not measured yet_
<!-- /bench:ceiling -->

## `GET /v1/balance` latency does not grow with history

<!-- bench:history -->
_not measured yet_
<!-- /bench:history -->

## Where the time goes

<!-- bench:profile -->
_not measured yet_
<!-- /bench:profile -->

## Settling 1,000,000 due pending balance transactions

<!-- bench:settle -->
_not measured yet_
<!-- /bench:settle -->

## `POST /v1/payouts` at concurrency 32

<!-- bench:payouts -->
_not measured yet_
<!-- /bench:payouts -->

## Automatic payouts: one run over 100,000 accounts

<!-- bench:autopayout -->
_not measured yet_
<!-- /bench:autopayout -->

## Peak server RSS with 1,000,000 transactions

<!-- bench:rss -->
_not measured yet_
<!-- /bench:rss -->
"""


def _f(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _throughput_rows(items: list[Throughput]) -> list[str]:
    rows = [
        "| Backend | Endpoint | req/s (median) | min-max req/s | p50 ms | p99 ms | errors | target req/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in items:
        m = t.median
        lo, hi = min(r.rps for r in t.runs), max(r.rps for r in t.runs)
        target = f"{t.target:,}" if t.target else "-"
        rows.append(f"| {t.backend} | `{t.endpoint}` | **{_f(m.rps, 0)}** | {_f(lo, 0)}-{_f(hi, 0)} | "
                    f"{_f(m.p50_ms)} | {_f(m.p99_ms)} | {t.errors} | {target} |")  # fmt: skip
    return rows


def section_machine(res: Results) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in res.machine.items()]
    lines += [f"| Storage ({k}) | {v} |" for k, v in res.storage.items()]
    c = res.config
    lines += [
        "",
        f"Load: closed loop, {c.concurrency} keep-alive connections, {c.threads} wrk threads, "
        f"{_f(c.warmup, 0)} s warm-up then {c.repeat} x {_f(c.duration, 0)} s per figure (median run shown); "
        "load generator and server share the machine's cores.",
    ]
    return "\n".join(lines)


def section_throughput(res: Results) -> str:
    rows = _throughput_rows(res.throughput)
    rows += ["", "Targets are what later issues design toward; they are reported here, not asserted. "
             "`POST /v1/charges` body: `amount=1000&currency=usd&source=tok_visa` (a new charge each time); "
             "`GET /v1/balance` reads the platform's balance; `GET /v1/balance, 32 accounts` reads 32 "
             "connected accounts' balances in turn (`Stripe-Account`, each request the next account's). "
             "On PostgreSQL the reads by one key that wait beside each other are answered together, by one "
             "statement for all their accounts' balances (store/aio.py `read_shared`).", "",
             short_machine_line(res, {t.backend for t in res.throughput})]  # fmt: skip
    return "\n".join(rows)


def section_ceiling(res: Results) -> str:
    if res.ceiling is None:
        return "_not measured_"
    rows = _throughput_rows([res.ceiling])
    rows += ["", "`bench/ceiling_app.py`, started as its own process with `uvicorn` (uvloop, httptools): the "
             f"most any Starlette app on one uvicorn worker can answer here. The issue quotes "
             f"~{res.ceiling.target:,} req/s for this machine (the target column).", "",
             short_machine_line(res, [])]  # fmt: skip
    return "\n".join(rows)


def section_history(res: Results) -> str:
    rows = [
        "| Backend | txns on the account | `GET /v1/balance` p50 ms | min-max p50 | p99 ms | mean ms "
        "| requests | errors | `GET /v1/balance_transactions?limit=10` p50 ms | min-max p50 | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h in res.history:
        b, lst = h.balance, h.listing
        bal_p50s = [r.p50_ms for r in h.balance_runs] or [b.p50_ms]
        lst_p50s = [r.p50_ms for r in h.listing_runs] or [lst.p50_ms]
        rows.append(f"| {h.backend} | {h.txns:,} | **{b.p50_ms:.2f}** | {spread(bal_p50s)} | {b.p99_ms:.2f} "
                    f"| {b.mean_ms:.2f} | {b.requests:,} | {h.errors} | {lst.p50_ms:.2f} "
                    f"| {spread(lst_p50s)} | {lst.p99_ms:.2f} |")  # fmt: skip
    c = res.config
    rows += ["", f"Sequential requests on one keep-alive connection (after 200 warm-up requests), "
             f"{c.history_runs} runs per figure: the run with the median p50 is shown, the p50s' min-max "
             "beside it; errors are every run's. The first "
             f"{c.history_small:,} transactions are charges made through the API; the rest are "
             "inserted set-based (bench/seed.py through `payoutkit.store.seeding`: +1000 on the "
             "platform's usd card bucket, -1000 on one of the 16 `sys_world_NN` buckets, interleaved, then "
             "every bucket set from its transactions; `check_ledger` passes). The list endpoint is shown for "
             "contrast: its first page should not grow with history either.", "",
             short_machine_line(res, {h.backend for h in res.history})]  # fmt: skip
    return "\n".join(rows)


def section_profile(res: Results, top: int = 12) -> str:
    if not res.profiles:
        return "_not measured_"
    out: list[str] = []
    for backend, endpoint, prof in res.profiles:
        out.append(f"#### {backend}: `{endpoint}` under load ({prof.samples:,} py-spy samples)")
        out.append("")
        threads = ", ".join(f"{k} {prof.share(v):.0f}%" for k, v in prof.by_thread.most_common())
        out.append(f"Samples by thread: {threads}.")
        out.append("")
        out.append("| Layer (self time, innermost Python frame) | share |")
        out.append("|---|---:|")
        out += [f"| {k} | {prof.share(v):.1f}% |" for k, v in prof.by_layer.most_common(10)]
        out.append("")
        out.append("| Top functions by self time | share |")
        out.append("|---|---:|")
        out += [f"| `{k}` | {prof.share(v):.1f}% |" for k, v in prof.self_time.most_common(top)]
        out.append("")
        out.append("| Payoutkit functions by inclusive time | share |")
        out.append("|---|---:|")
        out += [f"| `{k}` | {prof.share(v):.1f}% |" for k, v in payoutkit_inclusive(prof, top)]
        out.append("")
    out.append(f"Each profile is one sample of {res.config.profile_seconds} s under load (a profile, not a "
               "figure: its shares move by a few points from run to run). "
               + short_machine_line(res, {b for b, _, _ in res.profiles}))  # fmt: skip
    return "\n".join(out).rstrip()


def _mib(kb: int | None) -> str:
    return f"{kb / 1024:,.0f}" if kb else "-"


def section_settle(res: Results) -> str:
    rows = [
        "| Backend | due pending txns | buckets | seconds (median) | min-max s | txns/s | `settle()` calls "
        "| first call moved "
        "| of which commit s | peak RSS MiB (settling process) | PostgreSQL backend peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in res.settle:
        grew = f" (+{(s.rss_peak_kb - s.rss_base_kb) / 1024:,.0f})" if s.rss_peak_kb and s.rss_base_kb else ""
        rows.append(f"| {s.backend} | {s.txns:,} | {s.buckets:,} | **{s.seconds:,.2f}** "
                    f"| {spread(s.all_seconds)} | {s.rate:,.0f} | "
                    f"{len(s.calls)} | {s.calls[0]['moved']:,.0f} | {s.commit_seconds:.2f} | "
                    f"{_mib(s.rss_peak_kb)}{grew} | {_mib(s.backend_hwm_kb)} |")  # fmt: skip
    largest = max(s.txns for s in res.settle)
    runs = [s for s in res.settle if s.txns == largest]
    order = [label for _, label in LABELS]
    labels = sorted({k for s in runs for k in s.statements}, key=lambda k: (order.index(k) if k in order
                                                                            else len(order), k))  # fmt: skip
    head = " | ".join(f"{s.backend} statements | {s.backend} s | share" for s in runs)
    rows += ["", f"Where the time goes at {largest:,} txns, in the median run (wall time from each "
             "statement's execute to the next one's: fetching its rows and the Python in between "
             "included):", "",
             f"| Step | {head} |", "|---|" + "---:|---:|---:|" * len(runs)]  # fmt: skip

    def cell(s: Settle, calls: float, secs: float) -> str:
        return f"{calls:,.0f} | {secs:,.2f} | {100 * secs / s.seconds:.0f}%" if calls else "- | - | -"

    for label in labels:
        cells = [cell(s, s.statements.get(label, {}).get("calls", 0), s.statements.get(label, {})
                      .get("seconds", 0.0)) for s in runs]  # fmt: skip
        rows.append(f"| {label} | {' | '.join(cells)} |")
    rows.append(f"| commit | {' | '.join(cell(s, 1, s.commit_seconds) for s in runs)} |")
    per_bucket = res.settle[0].txns // res.settle[0].buckets
    stores = "; ".join(f"{s.backend}: {s.db_cache}"
                       for s in {s.backend: s for s in res.settle}.values())  # fmt: skip
    rows += ["", "Seeded set-based through `payoutkit.store.seeding` (bench/settle.py): connected accounts "
             "copied from one made through the API (the platform not liable for it), with one usd card "
             f"payments bucket each, {per_bucket} charges per bucket, "
             "interleaved in time order, each booked as +amount `pending` on the account and -amount "
             "`available` on one of 16 `sys_world_NN` buckets, made 8 to 3 days before the settle time so "
             "that all are due; every bucket is then set from its transactions. `check_ledger` passes "
             "before and after the settlement, and nothing is left pending. Timed as the worker's tick "
             "settles (`worker.run_sharded`), in a process of its own: on PostgreSQL one unit of work per "
             "shard of the accounts (`Settings.worker_shards`, 2), at once on as many connections, on "
             "SQLite one unit through `Database.transaction`: "
             "`settlement.settle(conn, now, livemode=False, shard=…)`, called again while any of its "
             "buckets is still due (one call should do: the calls column), then the commit; the "
             "statement rows sum over the shards' threads (they can add up to more than the wall time); "
             f"{res.config.settle_runs} runs of "
             "each size, each on its own copy of "
             "one checked seed (the SQLite file copied; PostgreSQL `CREATE "
             "DATABASE … TEMPLATE … STRATEGY FILE_COPY`), each checked after, the median run shown (its "
             "row and breakdown) with every run's min-max. Peak RSS is the settling process's "
             "VmHWM (Python and, on SQLite, the SQLite library and its page cache; in brackets: the growth "
             "during the settlement); the PostgreSQL backend's VmHWM includes the shared buffers it "
             f"touched. Caches: {stores} (each store's durability: the line below).", "",
             machine_line(res, load_generator=False)]  # fmt: skip
    return "\n".join(rows)


# The machine section describes the load scenarios' setup: only their runs rewrite it (a run of the
# settle scenario alone carries its own machine line).
_MACHINE_SCENARIOS = ("throughput", "ceiling", "history", "profiles")


HEADINGS = {"rss": "Peak server RSS with 1,000,000 transactions"}


def update_docs(path: Path, res: Results) -> None:
    text = path.read_text() if path.exists() else TEMPLATE
    sections = {}
    if any(getattr(res, name) for name in _MACHINE_SCENARIOS):
        sections["machine"] = section_machine(res)
    if res.throughput:
        sections["throughput"] = section_throughput(res)
    if res.ceiling is not None:
        sections["ceiling"] = section_ceiling(res)
    if res.history:
        sections["history"] = section_history(res)
    if res.profiles:
        sections["profile"] = section_profile(res)
    if res.settle:
        sections["settle"] = section_settle(res)
    if res.payouts:
        sections["payouts"] = payouts.section(res)
    if res.autopayout:
        sections["autopayout"] = autopayout_report.section(res)
    if res.rss:
        sections["rss"] = rss.section(res)
    for name, body in sections.items():
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        block = f"{begin}\n{body}\n{end}"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _m, b=block: b, text)  # type: ignore[misc]
        else:
            text = text.rstrip() + f"\n\n## {HEADINGS.get(name, name)}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def text_summary(res: Results) -> str:
    parts = ["MACHINE", *(f"  {k}: {v}" for k, v in res.machine.items())]
    if res.throughput or res.ceiling:
        parts += ["", f"THROUGHPUT (concurrency {res.config.concurrency})",
                  *_throughput_rows(res.throughput + ([res.ceiling] if res.ceiling else []))]  # fmt: skip
    if res.history:
        parts += ["", "HISTORY", *section_history(res).split("\n\n")[0].splitlines()]
    for backend, endpoint, prof in res.profiles:
        parts += ["", f"PROFILE {backend} {endpoint} ({prof.samples} samples)"]
        parts += [f"  {prof.share(v):5.1f}%  {k}" for k, v in prof.self_time.most_common(10)]
    if res.settle:
        parts += ["", "SETTLE", *section_settle(res).split("\n\nSeeded")[0].splitlines()]
    if res.payouts:
        parts += ["", "PAYOUTS (POST /v1/payouts)", *payouts.summary_lines(res)]
    if res.autopayout:
        parts += ["", "AUTOPAYOUT", *autopayout_report.summary_lines(res)]
    if res.rss:
        parts += ["", "PEAK SERVER RSS", *rss.summary_lines(res)]
    return "\n".join(parts)


def as_json(res: Results) -> dict[str, Any]:
    def tp(t: Throughput) -> dict[str, Any]:
        return {"backend": t.backend, "endpoint": t.endpoint, "target": t.target, "errors": t.errors,
                "runs": [{**asdict(r), "rps": r.rps} for r in t.runs]}  # fmt: skip

    return {
        "config": asdict(res.config),
        "machine": res.machine,
        "storage": res.storage,
        "throughput": [tp(t) for t in res.throughput],
        "ceiling": tp(res.ceiling) if res.ceiling else None,
        "history": [
            {"backend": h.backend, "txns": h.txns, "balance": asdict(h.balance), "list": asdict(h.listing)}
            for h in res.history
        ],
        "profiles": [
            {
                "backend": b,
                "endpoint": e,
                "samples": p.samples,
                "by_layer": dict(p.by_layer),
                "self": dict(p.self_time.most_common(30)),
            }
            for b, e, p in res.profiles
        ],
        "settle": [{**asdict(s), "rate": s.rate} for s in res.settle],
        "payouts": [{**asdict(p), "errors": p.errors} for p in res.payouts],
        "autopayout": [asdict(a) for a in res.autopayout],
        "rss": [asdict(r) for r in res.rss],
    }
