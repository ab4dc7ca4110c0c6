"""Where the time goes: sample a loaded server with py-spy and summarize the collapsed stacks.

`record(pid, seconds, out)` runs `py-spy record -f raw` on the server's pid (idle threads are not
sampled, so the samples are where the CPU, or the GIL, is). `summarize(path)` reads the collapsed
stacks and returns: samples per thread kind (event loop vs DB worker threads), self time per layer
(by the file of the innermost Python frame: a C call such as sqlite3's execute counts for the
Python frame that made it), and the functions with the most self and inclusive time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import VENV_BIN

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# First matching rule names the layer of a frame's file.
LAYERS: tuple[tuple[str, str], ...] = (
    ("payoutkit/store/", "payoutkit store (SQL building, ledger writes)"),
    ("payoutkit/services/", "payoutkit services"),
    ("payoutkit/ledger/", "payoutkit ledger (pure)"),
    ("payoutkit/api/", "payoutkit api (wire, auth, forms, JSON)"),
    ("payoutkit/", "payoutkit other"),
    ("sqlalchemy/", "SQLAlchemy (incl. driver calls it makes)"),
    ("psycopg", "psycopg"),
    ("sqlite3/", "sqlite3 module"),
    ("pydantic", "pydantic"),
    ("starlette/", "Starlette"),
    ("uvicorn/", "uvicorn / httptools"),
    ("anyio/", "anyio (thread hand-off)"),
    ("asyncio/", "asyncio event loop"),
    ("json/", "json"),
    ("threading.py", "threading (locks, waits)"),
    ("secrets.py", "secrets / ids"),
    ("random.py", "secrets / ids"),
)


# Leaf functions that are waiting rather than computing (py-spy's idle detection misses them).
WAITS = {
    "Connection.wait": "waiting: PostgreSQL round-trips and row locks (psycopg Connection.wait)",
    "Condition.wait": "waiting: threads parked (anyio hand-off, connection pool)",
    "Runner.run": "event loop in uvloop's C code (I/O, selector)",
}


def py_spy() -> str | None:
    path = VENV_BIN / "py-spy"
    return str(path) if path.exists() else shutil.which("py-spy")


def record(pid: int, seconds: int, out: Path, *, rate: int = 100) -> None:
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    argv = [exe, "record", "-p", str(pid), "-d", str(seconds), "-r", str(rate), "-f", "raw", "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({done.returncode}): {done.stderr[-2000:]}")


def layer_of(file: str) -> str:
    for needle, name in LAYERS:
        if needle in file:
            return name
    return "other"


def _parse(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip(), ""
    return m["func"], m["file"]


@dataclass
class Profile:
    samples: int = 0
    by_thread: Counter[str] = field(default_factory=Counter)
    by_layer: Counter[str] = field(default_factory=Counter)
    self_time: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)

    def share(self, n: int) -> float:
        return 100.0 * n / self.samples if self.samples else 0.0


def summarize(path: Path) -> Profile:
    prof = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_parse(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        prof.samples += count
        files = " ".join(file for _, file in frames)
        prof.by_thread["DB worker threads (anyio)" if "WorkerThread.run" in stack or ("anyio/" in files
                       and "threading.py" in frames[0][1]) else "event loop thread"] += count  # fmt: skip
        func, file = frames[-1]
        prof.by_layer[WAITS.get(func) or layer_of(file)] += count
        prof.self_time[f"{func} ({_short(file)})"] += count
        for name in {f"{fn} ({_short(fl)})" for fn, fl in frames}:
            prof.inclusive[name] += count
    return prof


def _short(file: str) -> str:
    for marker in ("site-packages/", "lib/python3."):
        if marker in file:
            file = file.split(marker, 1)[1]
    return file.split("/", 1)[1] if file.startswith("11/") else file


def payoutkit_inclusive(prof: Profile, top: int = 15) -> list[tuple[str, int]]:
    """Functions of payoutkit itself by inclusive time: the call tree of the hot path."""
    return [(n, c) for n, c in prof.inclusive.most_common() if "payoutkit/" in n][:top]
