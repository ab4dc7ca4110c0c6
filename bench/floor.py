"""The database's floor under a request: `python bench/floor.py [--replays N]`.

What a request would still cost the server if none of its own Python ran: the SQLite work its unit
does, alone. It runs the app in this process (bench/statements.py `serve`) on a fresh SQLite file, set
up as bench/peer.py's Payoutkit (the platform's EUR balance, a bank account), warms it up, then
captures the statements of one request of each kind — exactly as the app sent them to the driver, its
BEGIN and its COMMIT included — and replays them `--replays` times on a connection of its own to the
same file, with the server's settings (WAL, synchronous=NORMAL, foreign keys on, the server's
`wal_autocheckpoint`). Each replay gives the ids the request made fresh values of the same length, in
increasing order as real ids are, so every INSERT lands where a real one would. The replay's Python is
a loop of `cursor.execute` calls: a few microseconds per statement, counted in the floor.

It prints, per request, the replay's median time per unit, the medians of its statements and of its
COMMIT, and its mean time per unit. The mean is the larger: it takes in the WAL checkpoints SQLite's
own automatic checkpoint runs inside one commit in so many (every `FALLBACK_PAGES` pages), which the
server runs on a thread of its own instead (store/checkpoint.py). bench/cpu.py gives the app's own
server CPU per request beside it; with its ceiling row (HTTP alone through uvicorn and Starlette),
floor + ceiling is what a server that spent no time in Python of its own would cost.
docs/benchmarks.md uses it against the peer comparison's target.
"""

from __future__ import annotations

import argparse
import http.client
import re
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench.cpu import Call, _send, prepare_platform
from bench.servers import HOST, database
from bench.statements import engines_of, serve
from payoutkit.store import checkpoint

# An id this app makes: a prefix, "_", then at least 16 letters and digits (payoutkit/ids.py).
ID = re.compile(r"^([a-z]+)_([0-9A-Za-z]{16,})$")
# Ids of what a request may name without making it (accounts, their bank accounts and cards).
KEPT = ("acct_", "ba_", "card_")


@dataclass(frozen=True)
class Statement:
    sql: str  # "COMMIT" / "ROLLBACK": the driver's end of the unit
    params: Any
    many: bool


class Capture:
    """The statements the engines run while `on`, with the unit's COMMIT or ROLLBACK."""

    def __init__(self, engines: list[Any]) -> None:
        self.engines = engines
        self.on = False
        self.statements: list[Statement] = []
        self._hooks = {"before_cursor_execute": self._execute, "commit": self._end("COMMIT"),
                       "rollback": self._end("ROLLBACK")}  # fmt: skip

    def _execute(self, _conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if self.on:
            self.statements.append(Statement(sql, params, many))

    def _end(self, how: str) -> Any:
        def hook(_conn: Any) -> None:
            if self.on:
                self.statements.append(Statement(how, None, False))

        return hook

    def __enter__(self) -> Capture:
        for engine in self.engines:
            for name, fn in self._hooks.items():
                event.listen(engine, name, fn)
        return self

    def __exit__(self, *_exc: object) -> None:
        for engine in self.engines:
            for name, fn in self._hooks.items():
                event.remove(engine, name, fn)


def made_ids(statements: list[Statement]) -> set[str]:
    """The ids the request made: those its INSERTs carry, less any it read before writing (what it
    names: the account, the payout it retrieves) and the kinds it never makes."""
    read: set[str] = set()
    inserted: set[str] = set()
    for s in statements:
        values = _values(s)
        if s.sql.lstrip().upper().startswith("INSERT"):
            inserted |= values
        elif not inserted:
            read |= values
    return {v for v in inserted - read if not v.startswith(KEPT)}


def _values(s: Statement) -> set[str]:
    rows = s.params if s.many else [s.params or ()]
    return {v for row in rows for v in row if isinstance(v, str) and ID.match(v)}


class Replay:
    """The captured unit again and again on a connection of its own, each time with fresh ids."""

    def __init__(self, path: str, statements: list[Statement]) -> None:
        self.statements = statements
        self.made = made_ids(statements)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       f"wal_autocheckpoint={checkpoint.FALLBACK_PAGES}"):  # fmt: skip
            self.conn.execute(f"PRAGMA {pragma}")
        self.n = 0

    def _fresh(self) -> dict[str, str]:
        out = {}
        for made in sorted(self.made):
            m = ID.match(made)
            assert m is not None
            prefix, rest = m.groups()
            self.n += 1
            out[made] = f"{prefix}_{'z' * (len(rest) - 10)}{self.n:010d}"  # after every real id
        return out

    def once(self) -> tuple[float, float]:
        """One replay: (seconds in statements, seconds in COMMIT)."""
        fresh = self._fresh()

        def sub(row: Any) -> Any:
            return tuple(fresh.get(v, v) if isinstance(v, str) else v for v in row)

        cur = self.conn.cursor()
        in_sql = in_commit = 0.0
        for s in self.statements:
            t0 = time.perf_counter()
            if s.sql in ("COMMIT", "ROLLBACK"):
                self.conn.execute(s.sql)
                in_commit += time.perf_counter() - t0
                continue
            if s.many:
                cur.executemany(s.sql, [sub(r) for r in s.params])
            else:
                cur.execute(s.sql, sub(s.params or ()))
                cur.fetchall()
            in_sql += time.perf_counter() - t0
        return in_sql, in_commit


@dataclass(frozen=True)
class Floor:
    name: str
    statements: int
    median_us: float
    mean_us: float
    sql_us: float  # medians of each part
    commit_us: float


def measure(
    name: str, call: Call, conn: http.client.HTTPConnection, capture: Capture, path: str, replays: int
) -> Floor:
    for _ in range(200):  # warm-up: the app's caches, as in a steady state
        _send(conn, call)
    time.sleep(0.2)
    capture.statements = []
    capture.on = True
    _send(conn, call)
    time.sleep(0.2)  # the unit's COMMIT (a group commits after its request is answered)
    capture.on = False
    captured = list(capture.statements)
    replay = Replay(path, captured)
    try:
        for _ in range(20):
            replay.once()
        times = [replay.once() for _ in range(replays)]
    finally:
        replay.conn.close()
    totals = [a + b for a, b in times]
    sql, commit = (statistics.median(part) * 1e6 for part in zip(*times, strict=True))
    count = sum(s.sql not in ("COMMIT", "ROLLBACK") for s in captured)
    return Floor(name, count, statistics.median(totals) * 1e6, statistics.fmean(totals) * 1e6, sql, commit)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replays", type=int, default=2000, help="replays of each captured unit")
    args = ap.parse_args(argv)
    rows: list[Floor] = []
    with database("sqlite", None, "floor") as url, serve(url) as (app, port):
        path = str(make_url(url).database)
        srv: Any = type("Srv", (), {"port": port})()  # prepare_platform only reads .port
        payout = prepare_platform(srv)
        calls = (("POST /v1/payouts", Call("POST", "/v1/payouts", "amount=100&currency=eur")),
                 ("GET /v1/payouts/{id}", Call("GET", f"/v1/payouts/{payout}")),
                 ("GET /v1/balance", Call("GET", "/v1/balance")))  # fmt: skip
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            with Capture(engines_of(app)) as capture:
                for name, call in calls:
                    rows.append(measure(name, call, conn, capture, path, args.replays))
        finally:
            conn.close()
    print(f"SQLite alone per request (replays of the captured unit, {args.replays} each)")
    for r in rows:
        print(
            f"  {r.name:<22} {r.statements:2d} statements  floor median {r.median_us:6.1f} us "
            f"(statements {r.sql_us:6.1f}, COMMIT {r.commit_us:6.1f}; mean {r.mean_us:6.1f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
