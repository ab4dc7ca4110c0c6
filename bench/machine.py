"""What the figures were measured on: CPU, cores, RAM, kernel, Python, SQLite, PostgreSQL, tools."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from bench.load import have_wrk, wrk_version
from devtools.pg import PostgresCluster, find_bindir


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _cpu_mhz() -> str:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return f"{float(line.split(':', 1)[1]):.0f} MHz"
    return "?"


def _ram() -> str:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def filesystem(path: str) -> str:
    """`ext4`, `tmpfs`…: the type of the mount holding `path`."""
    best, kind = "", "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and path.startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def postgres_version(cluster: PostgresCluster | None) -> str:
    if cluster is not None and cluster.pid is not None:
        with cluster.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0] if row else '?'}"
    with contextlib.suppress(Exception):
        out = subprocess.run([str(find_bindir() / "postgres"), "--version"], capture_output=True, text=True,
                             check=False)  # fmt: skip
        return out.stdout.strip()
    return "not installed"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def commit() -> str:
    """The commit measured: its short sha, plus "+ uncommitted changes" when the work tree differs from
    it (any tracked file changed or an untracked file added; docs/benchmarks.md, which the bench itself
    rewrites, does not count)."""
    repo = Path(__file__).resolve().parent.parent
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                         check=False).stdout.strip() or "unknown"  # fmt: skip
    status = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!docs/benchmarks.md"], cwd=repo,
                            capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    return sha + (" + uncommitted changes" if status else "")


def measured(machine: dict[str, str], *, keys: tuple[str, ...] = ("CPU", "Cores", "RAM")) -> str:
    """The one opening of every generated section's last line: when, at which commit, on what."""
    on = "; ".join(f"{k}: {machine[k]}" for k in keys if k in machine)
    return (f"Measured {machine.get('Date', '?')} at commit {machine.get('Commit') or commit()}"
            + (f" on {on}" if on else ""))  # fmt: skip


def describe(cluster: PostgresCluster | None) -> dict[str, str]:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "Date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Commit": commit(),
        "CPU": f"{_cpu_model()} ({_cpu_mhz()})",
        "Cores": f"{os.cpu_count()} logical, {affinity} usable by this process",
        "RAM": _ram(),
        "Kernel": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "SQLite": f"{sqlite3.sqlite_version} (the Python sqlite3 module's library)",
        "PostgreSQL": postgres_version(cluster),
        "Server stack": ", ".join(f"{d} {_version(d)}" for d in
                                  ("uvicorn", "uvloop", "httptools", "starlette", "SQLAlchemy", "psycopg")),
        "Load generator": wrk_version() if have_wrk() else "bench/load.py (asyncio; wrk not installed)",
    }  # fmt: skip
