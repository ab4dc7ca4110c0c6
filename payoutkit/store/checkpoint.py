"""SQLite's WAL checkpoints on a thread of their own, off the request path (the server only).

In WAL mode a commit appends its pages to the `-wal` file; a checkpoint copies them back into the
database file. By default SQLite runs one inside whichever commit takes the WAL past
`wal_autocheckpoint` pages (1,000): on the server, where every unit runs on the event loop, that
request then waits for the copy and two fsyncs (the WAL's, then the database file's), and so does
every request queued behind it. A payout writes ~24 pages, so that was one request in ~40.

The server (`Database.start_checkpointer`, called by the app's lifespan) instead:

- looks every `INTERVAL` seconds (backing off to `IDLE_INTERVAL` while nothing is written) at how
  many WAL pages no checkpoint has copied yet (the WAL index's header in the `-shm` file, read without
  a lock: https://www.sqlite.org/walformat.html, "The WAL-Index Header") and, from `PAGES` on, runs
  `PRAGMA wal_checkpoint(PASSIVE)` on a connection of its own. A passive checkpoint takes no lock a
  writer or a reader waits for and copies what no reader still needs; the thread holds the GIL only
  around the call (the copy and the fsyncs run without it). Not checkpointing a small WAL keeps
  SQLite's cadence at low load: a write that starts the WAL over after a checkpoint fsyncs its header,
  so checkpointing after every few commits would put that fsync on the request path more often than
  SQLite's default does;
- raises its connections' `wal_autocheckpoint` to `FALLBACK_PAGES`, the safety net: SQLite restarts
  the WAL from its beginning only when a write begins after a checkpoint copied all of it, which under
  steady writes (commits land while the thread copies) may not happen; and if this thread stalled,
  nothing else would copy. So a commit that finds the WAL at `FALLBACK_PAGES` still runs a passive
  checkpoint itself, as SQLite always did, of what the thread has not copied yet (little, when it
  keeps up); the next write then starts the WAL over. The WAL file never holds more than about
  `FALLBACK_PAGES` pages plus one unit's.

Durability is unchanged (docs/architecture.md, "Durability"): `synchronous=NORMAL` never fsyncs at
commit, only at checkpoints, whoever runs them; a commit is in the WAL file before it is answered, so a
killed process loses nothing it acknowledged; a power loss can lose the commits since the last
checkpoint's fsync of the WAL: while the thread runs, about `PAGES` pages of them plus what is written
during one look's interval and one checkpoint (SQLite's default: up to 1,000 pages).
Other processes (the CLI, scripts, tests without a server) keep SQLite's default automatic checkpoint.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
from typing import Any

log = logging.getLogger("payoutkit.checkpoint")

# Seconds between the thread's looks at the WAL while it grows; up to IDLE_INTERVAL while it does not.
INTERVAL = 0.01
IDLE_INTERVAL = 0.2
# Pages not yet copied from which the thread checkpoints (SQLite's own automatic checkpoint: 1,000).
PAGES = 500
# The server's connections' `wal_autocheckpoint` while the thread runs (pages of the page size, 4 KiB:
# ~16 MiB of WAL).
FALLBACK_PAGES = 4000


class Checkpointer:
    """A daemon thread running `PRAGMA wal_checkpoint(PASSIVE)` every `interval` seconds on the DBAPI
    connection `connect()` returns (closed when the thread stops)."""

    def __init__(self, connect: Any, shm: str, *, interval: float = INTERVAL, pages: int = PAGES) -> None:
        self._connect = connect
        self._shm = shm
        self.interval = interval
        self.pages = pages
        self.checkpoints = 0  # passive checkpoints run (for tests and logs)
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames copied) of the last
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="payoutkit-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        conn = self._connect()  # open while the thread runs: SQLite keeps the `-shm` file meanwhile
        shm = WalIndex(self._shm)
        try:
            cursor = conn.cursor()
            wait, seen = self.interval, -1
            while not self._stop.wait(wait):
                pages = shm.uncopied_pages()
                # Nothing written since the last look: look again later (an idle server wakes ~5 times
                # a second, not 100); a write brings the interval back.
                wait = min(wait * 2, IDLE_INTERVAL) if pages == seen else self.interval
                seen = pages
                if pages < self.pages:
                    continue
                try:
                    row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except Exception:  # a failed checkpoint is retried; the fallback bounds the WAL meanwhile
                    log.exception("WAL checkpoint failed; trying again in %.3f s", self.interval)
                    continue
                self.last = (int(row[0]), int(row[1]), int(row[2]))
                self.checkpoints += 1
        finally:
            shm.close()
            conn.close()


# The WAL index header (walformat.html): mxFrame, the WAL's last valid frame, at byte 16 of the first
# copy of the header; nBackfill, the frames a checkpoint has copied, at byte 96. In the host's order.
_FRAME = struct.Struct("=I")
_HEADER = 100
_UNKNOWN = 1 << 31  # a figure that could not be read: the thread checkpoints


class WalIndex:
    """The `-shm` file of a database in WAL mode, read without a lock (a figure may be a moment old).
    Opened once (one `pread` a look); opened again after a failed read."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def uncopied_pages(self) -> int:
        """The WAL's pages that no checkpoint has copied yet (mxFrame - nBackfill)."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            header = os.pread(self._fd, _HEADER, 0)
        except OSError:
            self.close()
            return _UNKNOWN
        if len(header) < _HEADER:
            return _UNKNOWN
        (frames,) = _FRAME.unpack_from(header, 16)
        (copied,) = _FRAME.unpack_from(header, 96)
        return max(0, int(frames) - int(copied))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
