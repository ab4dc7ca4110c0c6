"""The autopayout scenario's section of docs/benchmarks.md and its lines in the terminal summary."""

from __future__ import annotations

from bench.autopayout import PROBE_ACCOUNTS
from bench.results import Results, machine_line, spread


def section(res: Results) -> str:
    rows = [
        "| Backend | accounts due | seconds (median) | runs: min-max s | accounts/s "
        "| ms per account (first / last tenth of the units) | units of work | payouts made | seeding s "
        "| checks s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in res.autopayout:
        for r in a.runs:
            rows.append(
                f"| {a.backend} | {r.accounts:,} | **{r.seconds:,.1f}** | {_runs(r.all_seconds)} "
                f"| {r.rate:,.0f} | "
                f"{r.first_ms:.2f} / {r.last_ms:.2f} | {r.units:,} | {r.payouts:,} | "
                f"{r.seed_seconds:.1f} | {r.check_seconds:.1f} |"
            )
        for n, predicted in a.skipped:
            rows.append(f"| {a.backend} | {n:,} | not run: ~{predicted:,.0f} s predicted | | | | | | | |")
    loads = "; ".join(f"{a.backend} {r.accounts:,}: {r.loadavg}" for a in res.autopayout for r in a.runs)
    rows += [
        "",
        "Seeded set-based through `payoutkit.store.seeding` (bench/autopayout.py): N copies of a "
        "connected account made through the API with `POST /v1/accounts type=custom` "
        "(daily schedule, the platform liable), each with a default `btok_us_verified` bank account, "
        "one usd card bucket holding one available transaction of 1,000..99,999 (booked against the "
        "16 `sys_world_NN` buckets) and a `payout_runs` row due now. Timed, in a process of its own: "
        "`run_automatic(conn, Moment.job(False, now), SimulatedRail(), limit=200)` in units of work "
        "until one returns 0, as the worker's tick does (`worker.drain`: on PostgreSQL "
        "`Settings.worker_shards`, 2, such sequences at once, each unit claiming its accounts with "
        "`SKIP LOCKED`; on SQLite one); "
        f"{res.config.autopayout_runs} runs of each size, each on a fresh seed (fewer when the budget below "
        "holds fewer: the runs column says how many), the median run shown (its row) with every run's "
        "min-max. Checked "
        "before (`check_ledger`, every account holds its funds and is due) and after: one automatic "
        "payout and tracking row per account, every account's available is 0, every one of their "
        "transactions is swept by its payout, no run is still due, and `check_ledger` is clean. A size is "
        "not run when the previous one predicts (at its accounts/s: the cost per account is flat, see the "
        f"tenths) that one run would take over {res.config.autopayout_budget:,.0f} s, and gets as many runs "
        "as fit in that budget. The statements, the py-spy profile and the history probe below are single "
        "runs of their own (diagnostics, not figures). "
        f"Load average before / after each run: {loads}.",
        "",
        machine_line(res),
    ]
    return "\n".join(rows + _statements(res) + _spied(res) + _probes(res))


def _runs(seconds: list[float]) -> str:
    return f"{len(seconds)}: {spread(seconds, '{:,.1f}')}" if len(seconds) > 1 else "1"


def _statements(res: Results) -> list[str]:
    profiled = [a for a in res.autopayout if a.profile]
    rows: list[str] = []
    if profiled:
        rows += [
            "",
            "Statements per account in a run of "
            + ", ".join(f"{a.profile['accounts']:,} accounts ({a.backend})" for a in profiled if a.profile)
            + " (counted through SQLAlchemy's cursor events, in a run of its own; time is from a statement's "
            "execute to the next one's, so the Python between them is included):",
            "",
            "| Statement | "
            + " | ".join(f"{a.backend} per account | {a.backend} share" for a in profiled)
            + " |",
            "|---|" + "---:|---:|" * len(profiled),
        ]
        labels = sorted(
            {k for a in profiled if a.profile for k in a.profile["statements"]},
            key=lambda k: (
                -max(a.profile["statements"].get(k, {}).get("seconds", 0.0) for a in profiled if a.profile)
            ),
        )
        for label in labels:
            cells = []
            for a in profiled:
                assert a.profile is not None
                st, total = (
                    a.profile["statements"],
                    sum(v["seconds"] for v in a.profile["statements"].values()),
                )
                v = st.get(label)
                cells.append(
                    f"{v['calls'] / a.profile['accounts']:.2f} | {100 * v['seconds'] / total:.0f}%"
                    if v
                    else "- | -"
                )
            rows.append(f"| `{label}` | {' | '.join(cells)} |")
        totals = [
            sum(v["calls"] for v in a.profile["statements"].values()) / a.profile["accounts"]
            for a in profiled
            if a.profile
        ]
        rows.append("| all | " + " | ".join(f"**{t:.1f}** | 100%" for t in totals) + " |")
    return rows


def _spied(res: Results) -> list[str]:
    rows: list[str] = []
    for a in res.autopayout:
        p = a.profile
        if p is not None and "samples" in p:
            rows += [
                "",
                f"py-spy on the {a.backend} run ({p['samples']:,} samples):",
                "",
                "| Layer (self time) | share | Payoutkit function (inclusive) | share |",
                "|---|---:|---|---:|",
            ]
            layers, incl = p["layers"], p["inclusive"]
            for i in range(max(len(layers), len(incl))):
                x = f"{layers[i][0]} | {layers[i][1]:.1f}%" if i < len(layers) else " | "
                y = f"`{incl[i][0]}` | {incl[i][1]:.1f}%" if i < len(incl) else " | "
                rows.append(f"| {x} | {y} |")
    return rows


def _probes(res: Results) -> list[str]:
    rows: list[str] = []
    probes = [(a.backend, p) for a in res.autopayout for p in a.probes]
    if probes:
        rows += [
            "",
            f"Cost of a run against the history an account has already been paid out ({PROBE_ACCOUNTS} "
            "accounts, each with N older available transactions that an earlier automatic payout swept; "
            "one unit of work):",
            "",
            "| Backend | swept txns per account | ms per account | of which the sweep statement "
            "| plan of the sweep |",
            "|---|---:|---:|---:|---|",
        ]
        for backend, probe in probes:
            rows.append(
                f"| {backend} | {probe.history:,} | **{probe.ms_per_account:.2f}** | {probe.sweep_ms:.2f} "
                f"| {probe.plan} |"
            )
    return rows


def summary_lines(res: Results) -> list[str]:
    out = []
    for a in res.autopayout:
        for r in a.runs:
            out.append(
                f"  {a.backend:10s} {r.accounts:>9,} accounts {r.seconds:9,.1f} s {r.rate:7,.0f}/s  "
                f"ms/account {r.first_ms:.2f} -> {r.last_ms:.2f}  payouts {r.payouts:,}"
            )
        for p in a.probes:
            out.append(
                f"  {a.backend:10s} swept history {p.history:>7,}: {p.ms_per_account:.2f} ms/account "
                f"(sweep {p.sweep_ms:.2f})"
            )
    return out
