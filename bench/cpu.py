"""Server CPU per request: `python bench/cpu.py [--backend sqlite|postgresql] [--requests N] [--only a,b]`.

What a request costs the server process, in CPU milliseconds, measured from the kernel's account of
that process (`utime + stime` in /proc/<pid>/stat) around N sequential requests on one keep-alive
connection. CPU time is what the server spends, so it holds up better than a throughput figure on a
shared machine, but not entirely: on the 2-vCPU VM of docs/benchmarks.md the ceiling app's CPU per
request went from 0.13 to 0.28 ms at load average 9 (caches and cores shared with the load). So
compare a change before and after back to back, with the ceiling's row as the control. The wall-clock
p50 is printed beside it for reference (it depends on the load far more).

It starts `payoutkit serve --simulated-clock` on a fresh SQLite file (or a fresh database of a
throwaway PostgreSQL cluster, the fast profile) and the ceiling app (bench/ceiling_app.py), on
127.0.0.1, and stops both by pid. The payouts are the peer comparison's (bench/peer.py): 100 EUR cents
from the platform's own EUR balance; the connected ones are bench/payouts.py's (a liable connected
account, `Stripe-Account`). The ceiling answers only the peer's calls; its row is the floor of
uvicorn + Starlette + HTTP on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.payouts import prepare
from bench.servers import HOST, SECRET_KEY, ServerProcess, ceiling_server, database, payoutkit_server
from devtools.pg import PostgresCluster

AUTH = {"Authorization": f"Bearer {SECRET_KEY}"}
FORM = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: str | None = None
    account: str | None = None

    def headers(self) -> dict[str, str]:
        h = dict(FORM if self.body is not None else AUTH)
        if self.account:
            h["Stripe-Account"] = self.account
        return h


@dataclass(frozen=True)
class Figure:
    name: str
    cpu_ms: float  # server CPU per request
    p50_ms: float  # wall clock per request, client included


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def measure(srv: ServerProcess, name: str, calls: Callable[[int], Call], n: int) -> Figure:
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=30)
    try:
        for i in range(min(200, n)):  # warm-up: caches, compiled statements
            _send(conn, calls(i))
        lat: list[float] = []
        before = cpu_seconds(srv.pid)
        for i in range(n):
            t0 = time.perf_counter()
            _send(conn, calls(i))
            lat.append(time.perf_counter() - t0)
        spent = cpu_seconds(srv.pid) - before
    finally:
        conn.close()
    lat.sort()
    return Figure(name, spent / n * 1000, lat[len(lat) // 2] * 1000)


def _send(conn: http.client.HTTPConnection, call: Call) -> bytes:
    conn.request(call.method, call.path, body=call.body, headers=call.headers())
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{call.method} {call.path}: {resp.status} {data[:300]!r}")
    return data


def prepare_platform(srv: ServerProcess) -> str:
    """An EUR bank account on the platform and EUR funds (bench/peer.py's setup); a payout id."""
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=30)
    try:
        me = json.loads(_send(conn, Call("GET", "/v1/account")))["id"]
        bank = ("external_account[object]=bank_account&external_account[country]=DE"
                "&external_account[currency]=eur&external_account[account_number]=000123456789")  # fmt: skip
        _send(conn, Call("POST", f"/v1/accounts/{me}/external_accounts", bank))
        for _ in range(3):
            _send(conn, Call("POST", "/v1/charges", "amount=99999999&currency=eur&source=tok_bypassPending"))
        return str(json.loads(_send(conn, Call("POST", "/v1/payouts", "amount=100&currency=eur")))["id"])
    finally:
        conn.close()


def calls_of(payout: str, account: str) -> dict[str, Callable[[int], Call]]:
    return {
        "balance": lambda i: Call("GET", "/v1/balance"),
        "payout.create": lambda i: Call("POST", "/v1/payouts", "amount=100&currency=eur"),
        "payout.retrieve": lambda i: Call("GET", f"/v1/payouts/{payout}"),
        "charge.create": lambda i: Call("POST", "/v1/charges", "amount=1000&currency=usd&source=tok_visa"),
        "connected balance": lambda i: Call("GET", "/v1/balance", account=account),
        "connected payout.create": lambda i: Call("POST", "/v1/payouts", "amount=100&currency=usd", account),
    }


CEILING = {
    "balance": lambda i: Call("GET", "/v1/balance"),
    "payout.create": lambda i: Call("POST", "/v1/payouts", "amount=100&currency=eur"),
    "payout.retrieve": lambda i: Call("GET", "/v1/payouts/po_ceiling"),
}


@contextlib.contextmanager
def _url(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with database("sqlite", None, "cpu") as url:
            yield url
        return
    cluster = PostgresCluster()
    cluster.start()
    try:
        with database("postgresql", cluster, "cpu") as url:
            yield url
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--requests", type=int, default=2000, help="measured requests per call (after a warm-up)")
    ap.add_argument("--only", default="", help="comma-separated call names (default: all)")
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    rows: list[tuple[str, Figure]] = []
    with _url(args.backend) as url, payoutkit_server(url) as pk, ceiling_server() as ceiling:
        payout = prepare_platform(pk)
        account = prepare(pk, 1)[0]
        for name, calls in calls_of(payout, account).items():
            if not only or name in only:
                rows.append(("payoutkit", measure(pk, name, calls, args.requests)))
        for name, calls in CEILING.items():
            if not only or name in only:
                rows.append(("ceiling", measure(ceiling, name, calls, args.requests)))
    print(f"server CPU per request ({args.backend}, {args.requests} sequential requests each)")
    for server, fig in rows:
        print(f"  {server:<10} {fig.name:<24} cpu {fig.cpu_ms:6.3f} ms   wall p50 {fig.p50_ms:6.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
