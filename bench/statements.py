"""SQL statements per request: `python bench/statements.py [--backends sqlite,postgresql] [--json PATH]`.

Runs the app in this process (`create_app`, the worker off so only requests touch the database) under
`uvicorn.Server` in a thread on 127.0.0.1, on a fresh SQLite file or a fresh database of a throwaway
PostgreSQL cluster (as bench/run.py), and talks real HTTP to it over one keep-alive connection. It sets
up one connected account as bench/payouts.py does (manual schedule, default `btok_us_verified` bank
account, available funds), then counts, with SQLAlchemy engine events on the app's engine, what each
request makes the database do, averaged over `--requests` requests after `--warmup` ones:

- `sql`: statements sent through a cursor (`before_cursor_execute`; an executemany counts once), by
  first keyword. On SQLite that includes the `BEGIN` / `BEGIN IMMEDIATE` store/db.py issues itself.
  On PostgreSQL it counts each kept write a unit made (store/pipeline.py), which listeners see with no
  cursor, whether or not it went merged into one statement with others (store/merged.py).
- `tx` / `commit` / `rollback`: transactions begun, committed, rolled back (engine events). SQLite's
  COMMIT is sent by the driver, not through a cursor: `total` adds it. On PostgreSQL a unit's BEGIN and
  COMMIT are store/pipeline.py's, sent only when a statement needs the transaction (counted by
  wrapping its `_send` functions while attached), and the driver's COMMIT counts only when it has a
  transaction to end: `total` adds those.
- `round trips` (PostgreSQL): what waits for the server's answer: each statement sent through a
  cursor, each `_send` of store/pipeline.py (a unit's kept BEGIN and writes, its COMMIT, in one
  pipeline when several), each COMMIT or ROLLBACK the driver sends.
- The means include the API key's re-read every 2 s (api/auth.py KEY_CACHE_SECONDS): the mode is the
  steady state. Warm-up fills the per-engine caches (bucket row ids of the 16 system account shards).
- write lock (SQLite): whether the request's units begin with `BEGIN IMMEDIATE` (the write lock);
  PostgreSQL: `SELECT ... FOR UPDATE/SHARE` statements per request (row locks).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import inspect
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from sqlalchemy import Engine, event
from starlette.applications import Starlette

from bench.payouts import PAYOUT_BODY, prepare
from bench.run import CHARGE_BODY
from bench.servers import HOST, SECRET_KEY, ServerProcess, auth_headers, database
from devtools.pg import PostgresCluster, free_port
from payoutkit.api.app import create_app
from payoutkit.config import Settings
from payoutkit.store import pipeline

KINDS = ("BEGIN", "SELECT", "INSERT", "UPDATE", "DELETE", "other")
KEYS = ("sql", *KINDS, "tx", "commit", "rollback", "begin_immediate", "for_update", "pipelined", "sends",
        "sent_begin", "sent_commit", "driver_commit", "driver_rollback")  # fmt: skip


def engines_of(app: Starlette) -> list[Engine]:
    """The app's SQLAlchemy engine(s): the one place that knows where the app keeps them."""
    return list(cast(tuple[Engine, ...], app.state.payoutkit.db.engines))


class StatementCounter:
    """Counts what runs on the engines (from any thread) while attached."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._saved: tuple[Any, Any] = (pipeline._send, pipeline._send_async)
        self._hooks = {"before_cursor_execute": self._on_execute, "begin": self._on("tx"),
                       "commit": self._ending("commit"), "rollback": self._ending("rollback")}  # fmt: skip

    def _on(self, key: str) -> Any:
        def hook(*_args: Any) -> None:
            with self._lock:
                self.counts[key] += 1

        return hook

    def _ending(self, key: str) -> Any:
        def hook(conn: Any) -> None:
            # PostgreSQL: whether the driver's COMMIT or ROLLBACK, which follows, has a transaction to
            # end (else it sends nothing: the unit's COMMIT went with its writes, or it began nothing)
            driver = conn.connection.driver_connection
            status = getattr(getattr(driver, "info", None), "transaction_status", 0)
            with self._lock:
                self.counts[key] += 1
                self.counts[f"driver_{key}"] += bool(status)

        return hook

    def _on_execute(self, _conn: Any, cursor: Any, statement: str, *_rest: Any) -> None:
        text = statement.lstrip().upper()
        first = text.split(None, 1)[0] if text else ""
        if first == "WITH":  # by what it does (a kept UPDATE that locks its rows first: store/fast.py)
            flat = " ".join(text.split())
            first = next((k for k in ("INSERT", "UPDATE", "DELETE") if f") {k} " in flat), "SELECT")
        with self._lock:
            self.counts["sql"] += 1
            if cursor is None:
                self.counts["pipelined"] += 1
            self.counts[first if first in KINDS else "other"] += 1
            if text.startswith("BEGIN IMMEDIATE"):
                self.counts["begin_immediate"] += 1
            if first == "SELECT" and (" FOR UPDATE" in text or " FOR SHARE" in text or " FOR NO KEY" in text):
                self.counts["for_update"] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return self.counts.copy()

    def _hooks_of(self, _engine: Engine) -> dict[str, Any]:
        return self._hooks

    def _counted(self, fn: Any) -> Any:
        def sync(driver: Any, begin: bool, statements: Any, commit: bool) -> Any:
            self._sent(begin, commit)
            return fn(driver, begin, statements, commit)

        async def in_loop(driver: Any, begin: bool, statements: Any, commit: bool) -> Any:
            self._sent(begin, commit)
            return await fn(driver, begin, statements, commit)

        return in_loop if inspect.iscoroutinefunction(fn) else sync

    def _sent(self, begin: bool, commit: bool) -> None:
        with self._lock:
            self.counts["sends"] += 1
            self.counts["sent_begin"] += begin
            self.counts["sent_commit"] += commit

    def __enter__(self) -> StatementCounter:
        for engine in self.engines:
            for name, fn in self._hooks_of(engine).items():
                event.listen(engine, name, fn)
        pipeline._send, pipeline._send_async = map(self._counted, self._saved)
        return self

    def __exit__(self, *_exc: object) -> None:
        pipeline._send, pipeline._send_async = self._saved
        for engine in self.engines:
            for name, fn in self._hooks_of(engine).items():
                event.remove(engine, name, fn)


@contextlib.contextmanager
def serve(url: str) -> Iterator[tuple[Starlette, int]]:
    """The app on 127.0.0.1:<free port> in a thread of this process; stopped (and joined) on exit."""
    port = free_port(HOST)
    settings = Settings(database_url=url, host=HOST, port=port, secret_key=SECRET_KEY, simulated_clock=True,
                        worker=False)  # fmt: skip
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.05)
        yield app, port
    finally:
        server.should_exit = True
        thread.join(30)


def call(conn: http.client.HTTPConnection, method: str, path: str, body: str, account: str | None) -> None:
    headers = auth_headers()
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if account:
        headers["Stripe-Account"] = account
    conn.request(method, path, body=body or None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{method} {path} answered {resp.status}: {data[:300]!r}")


def measure(
    backend: str, cluster: PostgresCluster | None, requests: int, warmup: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with database(backend, cluster, "bench_statements") as url, serve(url) as (app, port):
        acct = prepare(cast(ServerProcess, SimpleNamespace(port=port)), 1)[0]  # it only reads .port
        cases = (("POST /v1/payouts", "POST", "/v1/payouts", PAYOUT_BODY, acct),
                 ("POST /v1/charges (platform)", "POST", "/v1/charges", CHARGE_BODY, None),
                 ("GET /v1/balance (connected account)", "GET", "/v1/balance", "", acct),
                 ("GET /v1/balance (platform)", "GET", "/v1/balance", "", None))  # fmt: skip
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            with StatementCounter(engines_of(app)) as counter:
                for name, method, path, body, account in cases:
                    for _ in range(warmup):
                        call(conn, method, path, body, account)
                    time.sleep(0.2)  # anything a warm-up request left running
                    per: list[int] = []
                    start = counter.snapshot()
                    for _ in range(requests):
                        before = counter.snapshot()["sql"]
                        call(conn, method, path, body, account)
                        per.append(counter.snapshot()["sql"] - before)
                    time.sleep(0.2)
                    delta = counter.snapshot() - start
                    rows.append(row(backend, name, delta, requests, per))
        finally:
            conn.close()
    return rows


def row(backend: str, name: str, delta: Counter[str], n: int, per: list[int]) -> dict[str, Any]:
    avg = {k: delta[k] / n for k in KEYS}
    if backend == "postgresql":  # BEGIN and COMMIT where they were sent (see the module)
        ends = avg["driver_commit"] + avg["driver_rollback"]
        total = avg["sql"] + avg["sent_begin"] + avg["sent_commit"] + ends
        trips = avg["sql"] - avg["pipelined"] + avg["sends"] + ends  # a `_send` is one for all it carries
    else:
        total = trips = avg["sql"] + avg["commit"] + avg["rollback"]
    lock = ("yes" if avg["begin_immediate"] else "no") if backend == "sqlite" else "n/a"
    return {"endpoint": name, "backend": backend, "requests": n, "per_request": avg, "total": total,
            "round_trips": trips if backend == "postgresql" else None,
            "sql_min": min(per), "sql_max": max(per),
            "sql_mode": Counter(per).most_common(1)[0][0], "write_lock": lock}  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = ("endpoint", "backend", "total", "round trips", "sql", "BEGIN", "SELECT", "INSERT", "UPDATE",
            "DELETE", "other", "tx", "COMMIT", "ROLLBACK", "write lock", "FOR UPDATE")  # fmt: skip
    lines = [head]
    for r in rows:
        a = r["per_request"]
        sql = f"{a['sql']:.2f} ({r['sql_min']}-{r['sql_max']}, mode {r['sql_mode']})"
        trips = "n/a" if r["round_trips"] is None else f"{r['round_trips']:.2f}"
        lines.append((r["endpoint"], r["backend"], f"{r['total']:.2f}", trips, sql,
                      *(f"{a[k]:.2f}" for k in KINDS), f"{a['tx']:.2f}", f"{a['commit']:.2f}",
                      f"{a['rollback']:.2f}", r["write_lock"], f"{a['for_update']:.2f}"))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]

    def fmt(ln: tuple[str, ...]) -> str:
        cells = zip(ln, widths, strict=True)
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(cells))

    out = [fmt(ln) for ln in lines]
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma list of sqlite, postgresql")
    ap.add_argument("--requests", type=int, default=50, help="measured requests per endpoint (default 50)")
    # Enough for every shard of the system accounts (picked at random) to have had its bucket row ids
    # cached (store/ledger.py bucket_seqs): a cold shard costs a payout 2 more statements.
    ap.add_argument("--warmup", type=int, default=200, help="warm-up requests per endpoint (default 200)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    rows: list[dict[str, Any]] = []
    cluster = PostgresCluster() if "postgresql" in backends else None
    try:
        if cluster is not None:
            cluster.start()
        for backend in backends:
            rows += measure(backend, cluster, args.requests, args.warmup)
    finally:
        if cluster is not None:
            cluster.stop()
    print(table(rows))
    print(f"\nper request, mean of {args.requests} after {args.warmup} warm-up; sql: cursor statements "
          "(min-max and most common per request; auth re-reads the API key every 2 s); total adds the "
          "COMMIT/ROLLBACK (and on PostgreSQL the BEGIN and COMMIT that were sent); round trips "
          "(PostgreSQL): with each send of kept writes (the BEGIN and COMMIT it carries) counted once; "
          "tx: transactions begun; write lock: a unit began with BEGIN IMMEDIATE (SQLite).")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"requests": args.requests, "warmup": args.warmup, "rows": rows},
                                        indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
