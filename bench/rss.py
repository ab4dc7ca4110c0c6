"""Peak server RSS with 1,000,000 balance transactions (issue 11's table: target < 200 MB).

Run by the history scenario (bench/run.py) on its own server, once the store holds the large history
and that server has answered the history's sequential reads: `measure(srv, backend, txns, cfg)` gives
the platform a usd bank account through the API, then runs a mixed load against it, all four at once
for `cfg.rss_seconds` (wrk, concurrency 8 each): `GET /v1/balance`, `GET /v1/balance_transactions?
limit=10`, `POST /v1/charges` and `POST /v1/payouts` (usd, out of the platform's seeded balance). Then it
reads the server process's `VmHWM` (its peak resident set since it started: the restart after seeding,
so the seeding's own memory is not in it) and `VmRSS` from /proc, and those of any child process it has.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from pathlib import Path

from bench.load import Limits, LoadResult, Shape, is_error, run_load
from bench.results import Config, Results, Rss, log, short_machine_line
from bench.servers import HOST, ServerProcess, auth_headers

TARGET_MB = 200
MIXED = (  # (label, method, path, body)
    ("GET /v1/balance", "GET", "/v1/balance", ""),
    ("GET /v1/balance_transactions?limit=10", "GET", "/v1/balance_transactions?limit=10", ""),
    ("POST /v1/charges", "POST", "/v1/charges", "amount=1000&currency=usd&source=tok_visa"),
    ("POST /v1/payouts", "POST", "/v1/payouts", "amount=100&currency=usd"),
)


def status_kb(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in KiB (as /proc reports them)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in {"VmHWM", "VmRSS"}:
                out[key] = int(line.split()[1])
    return out


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _platform_bank(srv: ServerProcess) -> None:
    """A usd bank account on the platform (default for usd), so that its own payouts have a destination."""
    headers = {**auth_headers(), "Content-Type": "application/x-www-form-urlencoded"}
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=30)
    try:
        conn.request("GET", "/v1/account", headers=headers)
        resp = conn.getresponse()
        platform = json.loads(resp.read())["id"]
        conn.request("POST", f"/v1/accounts/{platform}/external_accounts",
                     body="external_account=btok_us_verified", headers=headers)  # fmt: skip
        resp = conn.getresponse()
        data = resp.read()
        if is_error(resp.status):
            raise RuntimeError(f"the platform's bank account: {resp.status} {data[:300]!r}")
    finally:
        conn.close()


def measure(srv: ServerProcess, backend: str, txns: int, cfg: Config) -> Rss:
    _platform_bank(srv)
    auth = auth_headers()["Authorization"]
    before = status_kb(srv.pid)
    results: dict[str, LoadResult] = {}

    def one(label: str, method: str, path: str, body: str) -> None:
        results[label] = run_load(Shape(srv.url + path, method, body, auth),
                                  Limits(8, cfg.rss_seconds, cfg.max_requests, 1, cfg.tool))  # fmt: skip

    threads = [threading.Thread(target=one, args=m, daemon=True) for m in MIXED]
    for th in threads:
        th.start()
    for th in threads:
        th.join(cfg.rss_seconds + 120)
    after = status_kb(srv.pid)
    kids = {pid: status_kb(pid) for pid in children(srv.pid)}
    loads = {label: (r.rps, r.requests, r.errors) for label, r in results.items()}
    rss = Rss(backend, txns, before.get("VmHWM", 0), after.get("VmHWM", 0), after.get("VmRSS", 0),
              sum(k.get("VmHWM", 0) for k in kids.values()), len(kids), cfg.rss_seconds, loads)  # fmt: skip
    if any(v[2] for v in loads.values()):  # wrk counts timeouts (10 s) and non-2xx alike
        log(f"  errors in the mixed load; the server's log ends with:\n{srv.log_tail(2000)}")
    log(f"  {backend} server pid {srv.pid} with {txns:,} txns: VmHWM {rss.peak_kb / 1024:,.0f} MiB after the "
        f"mixed load ({rss.before_kb / 1024:,.0f} MiB before it; VmRSS {rss.rss_kb / 1024:,.0f} MiB); "
        + ", ".join(f"{k} {v[0]:,.0f}/s ({v[2]} errors)" for k, v in loads.items()))  # fmt: skip
    return rss


def _mb(kb: int) -> str:
    return f"{kb * 1024 / 1e6:,.0f} MB ({kb / 1024:,.0f} MiB)"


def section(res: Results) -> str:
    rows = [
        "| Backend | balance txns on the platform | peak RSS (VmHWM) after the mixed load | before it | "
        "RSS at the end | target |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in res.rss:
        rows.append(f"| {r.backend} | {r.txns:,} | **{_mb(r.peak_kb)}** | {_mb(r.before_kb)} "
                    f"| {_mb(r.rss_kb)} | under {TARGET_MB} MB |")  # fmt: skip
    loads = "; ".join(
        f"{r.backend}: "
        + ", ".join(f"`{k}` {v[0]:,.0f}/s ({v[1]:,} requests, {v[2]} errors)" for k, v in r.loads.items())
        for r in res.rss
    )
    kids = [r for r in res.rss if r.children]
    children = (" Child processes' VmHWM (summed): "
                + "; ".join(f"{r.backend} {r.children} children, {_mb(r.children_kb)}" for r in kids) + "."
                if kids else " The server had no child processes.")  # fmt: skip
    rows += [
        "",
        "The Payoutkit server process (`payoutkit serve`, one process) on the history scenario's store "
        "(the platform's account holds the transactions counted here; `sys_world`'s shards as many again), "
        "restarted after the set-based seeding, so its peak is its own serving: first the history's "
        "sequential `GET /v1/balance` and `GET /v1/balance_transactions` reads, then a mixed load, four "
        f"wrk loads at once for {res.config.rss_seconds:g} s at concurrency 8 each: "
        + ", ".join(f"`{label}`" for label, *_ in MIXED)
        + " (usd, out of the platform's seeded balance, to a `btok_us_verified` bank account). Peak RSS is "
        "the process's `VmHWM` from /proc (the most it held resident at once since it started), read right "
        "after the load. One run per store (a peak, not a rate: it moves little between runs). "
        f"Requests served: {loads}." + children,
        "",
        short_machine_line(res, {r.backend for r in res.rss}),
    ]
    return "\n".join(rows)


def summary_lines(res: Results) -> list[str]:
    return [f"  {r.backend:10s} {r.txns:>9,} txns: peak RSS {_mb(r.peak_kb)} (target < {TARGET_MB} MB)"
            for r in res.rss]  # fmt: skip
