"""Processes the benchmark starts itself, on 127.0.0.1 only, and stops by process id.

- `ServerProcess`: `payoutkit serve` (or the bare ceiling app) in a subprocess on a free port;
  `start()` waits until it answers HTTP, `stop()` sends SIGTERM to *its* pid, then SIGKILL if needed.
- `postgres_cluster()`: a throwaway PostgreSQL cluster (devtools/pg.py), stopped on exit.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
HOST = "127.0.0.1"
SECRET_KEY = "sk_test_bench" + "0123456789abcdefghijklmn"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from devtools.pg import PostgresCluster, free_port  # noqa: E402


def _bin(name: str) -> str:
    path = VENV_BIN / name
    return str(path) if path.exists() else name


class ServerProcess:
    """One HTTP server subprocess on 127.0.0.1:<free port>; a context manager."""

    def __init__(self, name: str, argv: list[str], *, ready_path: str, env: dict[str, str] | None = None,
                 port: int, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self.name = name
        self.ready_timeout = READY_TIMEOUT  # seconds start() waits for an answer (a caller may raise it)
        self.argv = argv
        self.ready_path = ready_path
        self.env = env
        self.port = port
        self.headers = headers or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self._answers():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready within {self.ready_timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", self.ready_path, headers=self.headers)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        """SIGTERM to this server's pid (uvicorn shuts down gracefully), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log.unlink(missing_ok=True)


def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRET_KEY}"}


def payoutkit_server(database_url: str) -> ServerProcess:
    port = free_port(HOST)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYOUTKIT_", "DATABASE_URL"))}
    env["PAYOUTKIT_SECRET_KEY"] = SECRET_KEY
    argv = [_bin("payoutkit"), "serve", "--host", HOST, "--port", str(port),
            "--database-url", database_url, "--simulated-clock"]  # fmt: skip
    return ServerProcess("payoutkit", argv, ready_path="/v1/balance", env=env, port=port,
                         headers=auth_headers())  # fmt: skip


def ceiling_server(answers: Path | None = None) -> ServerProcess:
    """bench/ceiling_app.py under uvicorn; `answers`: a file of the bytes it answers the SDK's calls with."""
    port = free_port(HOST)
    argv = [_bin("uvicorn"), "bench.ceiling_app:app", "--host", HOST, "--port", str(port),
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    env = {**os.environ, "BENCH_CEILING_ANSWERS": str(answers)} if answers else None
    return ServerProcess("ceiling", argv, ready_path="/", port=port, env=env)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@contextlib.contextmanager
def database(backend: str, cluster: PostgresCluster | None, name: str) -> Iterator[str]:
    """A fresh, empty database URL for one scenario (the server migrates it on start)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'payoutkit.db'}"
    elif backend == "postgresql":
        assert cluster is not None
        cluster.create_database(name)
        try:
            yield cluster.url(name)
        finally:
            cluster.drop_database(name)
    else:
        raise ValueError(backend)
