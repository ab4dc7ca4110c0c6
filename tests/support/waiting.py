"""Waiting for what a server or its worker does in the background: bounded, never a fixed sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, text

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout: float, *, poll: float = 0.05) -> T:
    """`check()`'s first truthy value, asked every `poll` seconds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(poll)


def wait_for_a_lock_wait(engine: Engine, done: threading.Event, timeout: float = 4.0) -> None:
    """Until a session of `engine`'s PostgreSQL waits for a lock (the unit under test, queued on a row
    the test holds), or `done` is set (it finished: it did not wait), or `timeout` seconds pass: the
    caller asserts which."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    deadline = time.monotonic() + timeout
    with engine.connect() as probe:
        while not done.is_set() and time.monotonic() < deadline:
            if probe.execute(waiting).scalar_one() > 0:
                return
            probe.rollback()  # the next count reads a new snapshot
            time.sleep(0.02)


class InThread:
    """`fn()` run on a thread of its own, started at once: what it returned, or raised, in `got`; `done`
    set when it ends (for `wait_for_a_lock_wait`)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.got: list[Any] = []
        self.done = threading.Event()
        self._fn = fn
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.got.append(self._fn())
        except BaseException as exc:  # reported by the test itself
            self.got.append(exc)
        finally:
            self.done.set()

    def result(self, timeout: float = 30.0) -> Any:
        """What `fn()` returned, once it has ended; what it raised is raised here."""
        self._thread.join(timeout)
        [got] = self.got
        if isinstance(got, BaseException):
            raise got
        return got
