"""What each store promised when a figure was taken: its durability settings, read from the store itself.

Every generated section that shows a store's figure states the line `describe(backend, cluster)` returns
(the machine section lists them too). SQLite: the pragmas of a connection made by the server's own
engine (`payoutkit.store.engines.make_engine`), and what a power loss can lose under them. PostgreSQL: the
running cluster's `SHOW fsync, synchronous_commit, full_page_writes`, where its data directory lives, and
which profile of devtools/pg.py that is (`durable`, the bench's default, or `fast`, the test suite's).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.machine import filesystem
from devtools.pg import PostgresCluster


def sqlite_pragmas() -> dict[str, str]:
    """journal_mode, synchronous and wal_autocheckpoint of a connection the server's engine makes."""

    from payoutkit.store.engines import make_engine

    with tempfile.TemporaryDirectory(prefix="bench-pragmas-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'probe.db'}")
        try:
            with engine.connect() as conn:
                names = ("journal_mode", "synchronous", "wal_autocheckpoint")
                return {n: str(conn.exec_driver_sql(f"PRAGMA {n}").scalar()) for n in names}
        finally:
            engine.dispose()


SYNCHRONOUS = {"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}


def sqlite_line() -> str:
    from payoutkit.store import checkpoint

    p = sqlite_pragmas()
    tmp = tempfile.gettempdir()
    sync = SYNCHRONOUS.get(p["synchronous"], p["synchronous"])
    line = (f"SQLite: a file under {tmp} ({filesystem(tmp)}), journal_mode={p['journal_mode']}, "
            f"synchronous={sync} (read from a connection of the server's engine)")  # fmt: skip
    if p["journal_mode"].lower() == "wal" and sync == "NORMAL":
        line += (
            ": a commit is in the WAL file before it returns, so a crash of the process loses nothing, "
            "but the WAL is fsynced only at checkpoints (SQLite's default: inside a commit, every "
            f"{p['wal_autocheckpoint']} pages; the server: a thread of its own from {checkpoint.PAGES} "
            f"pages, a commit from {checkpoint.FALLBACK_PAGES}), so a power loss or OS crash can lose the "
            "transactions committed since the last checkpoint; the database stays consistent (never corrupt)"
        )
    return line


def postgresql_line(cluster: PostgresCluster) -> str:
    s = cluster.settings_in_force()
    where = s["data_directory"]
    profile = "durable (the bench's default)" if cluster.durable else "fast (the test suite's; `--pg fast`)"
    line = (f"PostgreSQL: profile {profile}, data directory under {Path(where).parent.parent} "
            f"({filesystem(where)}), fsync={s['fsync']}, synchronous_commit={s['synchronous_commit']}, "
            f"full_page_writes={s['full_page_writes']}, wal_sync_method={s['wal_sync_method']} "
            "(SHOW on the running server)")  # fmt: skip
    if (s["fsync"], s["synchronous_commit"], s["full_page_writes"]) == ("on", "on", "on"):
        line += ": a commit returns after its WAL is flushed to the disk, so an acknowledged commit "
        line += "survives a power loss (as far as the virtual disk honours flushes)"
    else:
        line += ": NOT durable: a crash can lose acknowledged commits, and with fsync off an OS crash or "
        line += "power loss can corrupt the cluster"
    return line


def describe(backend: str, cluster: PostgresCluster | None) -> str:
    if backend == "sqlite":
        return sqlite_line()
    if cluster is None or cluster.pid is None:
        return "PostgreSQL: no cluster"
    return postgresql_line(cluster)


def short(line: str) -> str:
    """The settings and, in a few words, what they can lose: for a section's last line."""
    settings = line.split(" (read from", 1)[0].split(" (SHOW on", 1)[0]
    if "synchronous=NORMAL" in settings and "journal_mode=wal" in settings:
        return settings + " (a power loss can lose the commits since the last checkpoint)"
    if "NOT durable" in line:
        return settings + " (NOT durable)"
    if "survives a power loss" in line:
        return settings + " (an acknowledged commit survives a power loss)"
    return settings
