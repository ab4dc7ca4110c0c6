"""The timed automatic payout run, in a child process of its own (so that py-spy can sample it alone).

`python -m bench.autopayout_run URL NOW [--statements] [--wait] [--shards=N]` runs the due payout runs
exactly as the worker's tick does (`worker.drain`): units of work of `run_automatic(conn,
Moment.job(False, NOW), SimulatedRail())` (at most 200 accounts each) until one returns 0, on
PostgreSQL as `Settings.worker_shards` (or N) such sequences at once, and prints the figures as one
JSON line (`cpu_seconds`: the whole process's CPU time). On PostgreSQL the units run on the event loop,
as in the server (`Database.start_loop_units`).
`--statements` also counts and times statements by kind (SQLAlchemy's cursor events: a few µs each,
so not on the timed runs); `--wait` reads a line from stdin before starting (the parent attaches
py-spy meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import greenlet

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = 1_767_225_600  # the run time: 2026-01-01T00:00:00Z, when every seeded run is due


# -- the timed run (child process) ------------------------------------------------------------------

_VERB = re.compile(r"^\s*(INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(\w+)")
_FROM = re.compile(r"\bFROM\s+(\w+)")


def _label(sql: str) -> str:
    lock = " FOR UPDATE" if "FOR UPDATE" in sql else ""
    write = _VERB.match(sql)
    if write and write.group(2) == "balance_transactions" and "payout IS NULL" in sql:
        return "UPDATE balance_transactions (the sweep)"
    if write:
        return f"{write.group(1).split()[0]} {write.group(2)}"
    read = _FROM.search(sql)
    if read:
        return f"SELECT {read.group(1)}{lock}"
    return " ".join(sql.split())[:30]


class _Statements:
    """Statements by kind: how many, and the wall time from each one's execute to the next's."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        # per greenlet (a thread's own, or a unit's on the event loop: store/aio.py): units run at once
        self._current: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def before(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        now = time.perf_counter()
        self.stop(now)
        self._current[id(greenlet.getcurrent())] = (_label(statement), now)

    def stop(self, now: float | None = None) -> None:
        current = self._current.pop(id(greenlet.getcurrent()), None)
        if current is not None:
            label, started = current
            with self._lock:
                entry = self.stats[label]
                entry[0] += 1
                entry[1] += (now or time.perf_counter()) - started


@contextlib.contextmanager
def _counting(engines: Sequence[Any], on: bool, stmts: _Statements) -> Iterator[_Statements]:
    from sqlalchemy import event

    for engine in engines if on else ():
        event.listen(engine, "before_cursor_execute", stmts.before)
    try:
        yield stmts
    finally:
        for engine in engines if on else ():
            event.remove(engine, "before_cursor_execute", stmts.before)


def timed_run(
    url: str, now: int, *, statements: bool = False, wait: bool = False, shards: int | None = None
) -> dict[str, Any]:
    """Every payout run due at `now`, a unit of work of at most 200 accounts at a time, as the worker."""
    import anyio

    from payoutkit.config import Settings
    from payoutkit.runtime import tune_collector
    from payoutkit.services.actor import Moment
    from payoutkit.services.payout_automatic import run_automatic
    from payoutkit.services.rail import SimulatedRail
    from payoutkit.store.db import Database
    from payoutkit.worker import drain

    db = Database(url)
    moment, rail = Moment.job(False, now), SimulatedRail()
    tune_collector()  # as `payoutkit serve` does, in whose process the worker runs
    units: list[dict[str, float]] = []
    loops = Settings().worker_shards if shards is None else shards

    stmts = _Statements()

    def unit(conn: Any, moment: Moment, rail: SimulatedRail) -> int:
        t0 = time.perf_counter()
        n = run_automatic(conn, moment, rail)
        stmts.stop()
        units.append({"accounts": n, "seconds": time.perf_counter() - t0})
        return n

    async def as_the_server(*args: Any) -> None:
        """`drain` as the server's worker runs it: on PostgreSQL, its units on the event loop."""
        await db.start_loop_units()
        try:
            with _counting(db.engines, statements, stmts):
                await drain(*args)
        finally:
            await db.stop_loop_units()

    try:
        if wait:
            print("READY", flush=True)
            sys.stdin.readline()
        started, cpu0 = time.perf_counter(), time.process_time()
        anyio.run(as_the_server, db, unit, loops, moment, rail)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        db.dispose()
    return {
        "accounts": sum(int(u["accounts"]) for u in units),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "loops": 1 if db.is_sqlite else loops,
        "units": units,
        "statements": {k: {"calls": int(v[0]), "seconds": v[1]} for k, v in stmts.stats.items()},
    }


def run_child(
    url: str, timeout: float, *, statements: bool = False, profile: Path | None = None
) -> dict[str, Any]:
    """`timed_run` in a child process (py-spy, when `profile` is given, samples it from start to end)."""
    from bench.profile import py_spy
    from bench.servers import REPO, VENV_BIN

    python = VENV_BIN / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "bench.autopayout_run", url, str(NOW)]
    argv += ["--statements"] if statements else []
    argv += ["--wait"] if profile else []
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            argv, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
        )
        spy: subprocess.Popen[bytes] | None = None
        try:
            assert child.stdin is not None
            assert child.stdout is not None
            if profile is not None:
                if child.stdout.readline().strip() != "READY":
                    raise RuntimeError("the autopayout child did not start")
                exe = py_spy()
                assert exe is not None
                spy_argv = [exe, "record", "-p", str(child.pid), "-r", "100", "-f", "raw", "-o", str(profile)]
                spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.5)  # py-spy attaches
                child.stdin.write("go\n")
                child.stdin.flush()
            out, _ = child.communicate(timeout=timeout)
        except BaseException:
            child.kill()
            child.wait()
            raise
        finally:
            if spy is not None:
                try:
                    spy.wait(60)  # it stops when the child exits
                except subprocess.TimeoutExpired:
                    spy.kill()
                    spy.wait()
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"the autopayout child failed ({child.returncode}):\n{err.read()[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    flags = {a for a in args if a.startswith("--")}
    url_arg, now_arg = (a for a in args if not a.startswith("--"))
    given = [int(a.split("=", 1)[1]) for a in flags if a.startswith("--shards=")]
    print(json.dumps(timed_run(url_arg, int(now_arg), statements="--statements" in flags,
                               wait="--wait" in flags, shards=given[0] if given else None)))  # fmt: skip
