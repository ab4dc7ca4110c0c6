"""`payoutkit serve` as a real process on loopback, as a newcomer or an operator runs it.

`serve_process` starts it on a free port, waits until it answers, yields its URL and the process, and
stops it by its pid on exit (SIGTERM, or SIGKILL if it was already killed by the test, which is fine).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PAYOUTKIT = [sys.executable, "-m", "payoutkit"]
STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any Payoutkit settings of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYOUTKIT_") and k != "DATABASE_URL"}
    env.update(COLUMNS="200", **extra)
    return env


@contextmanager
def serve_process(
    database_url: str,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    args: tuple[str, ...] = (),
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*PAYOUTKIT, "serve", "--port", str(port), "--database-url", database_url, *args],
            stdin=subprocess.DEVNULL,  # a server never reads the terminal (nor stops on SIGTTIN for it)
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env if env is not None else clean_env(),
            cwd=cwd,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(url + "/v1/balance", trust_env=False, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
