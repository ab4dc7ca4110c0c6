"""Run an ASGI app on real HTTP on loopback, in a background thread, for the length of a test.

The listening socket is bound first (port 0: the kernel picks a free port, no race), so the app can
be told its port, then handed to uvicorn. On exit uvicorn is asked to stop, the thread is joined and
the socket closed, so nothing leaks into the next test (ResourceWarning is an error in this suite).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from payoutkit.config import Settings
    from payoutkit.runtime import Runtime

STARTUP_TIMEOUT = 15.0
SHUTDOWN_TIMEOUT = 15.0


@dataclass(frozen=True)
class RunningServer:
    """What the `server` fixture yields: where the app listens, the settings it runs with, and the
    app's runtime (its database and engines, for a test that watches what the app sends)."""

    url: str
    settings: Settings
    runtime: Runtime | None = None


@contextlib.contextmanager
def loopback_socket(host: str = "127.0.0.1") -> Iterator[socket.socket]:
    """A socket bound to a free port, so the app can be told its port before it starts serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        yield sock
    finally:
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: Any, sock: socket.socket) -> Iterator[str]:
    """Serve `app` on the bound `sock` until the block ends; yields its base URL, e.g.
    `http://127.0.0.1:53211`."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    exits: list[SystemExit] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except SystemExit as exc:  # uvicorn's answer to a failed lifespan startup
            exits.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, exits)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(f"the server on port {port} did not shut down")


def _wait_started(server: uvicorn.Server, thread: threading.Thread, exits: list[SystemExit]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            code = exits[0].code if exits else None
            raise RuntimeError(
                f"the server failed to start (exit code {code}); the app's error is logged above"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not start within {STARTUP_TIMEOUT}s")
        time.sleep(0.01)
