"""`payoutkit serve --workers N`: several API processes on one PostgreSQL database, one worker.

The server runs as real processes on loopback (uvicorn's supervisor and its N processes), driven by the
official `stripe` SDK over many connections. Which process leads the worker is read where it is decided:
the advisory lock in `pg_locks`, whose session names its process (`payoutkit worker <pid>`). The leader
is killed by its pid with SIGKILL; another process must take the lock, and the worker's effects (webhook
deliveries to a receiver on 127.0.0.1) must go on, each event delivered once; a leader whose session is
ended from outside must stop leading. A rotated key is refused by every process within seconds, and
`--no-worker` runs no worker anywhere; SQLite refuses several processes. Everything started is stopped
by its pid; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import stripe

from devtools.pg import PostgresCluster
from payoutkit.store.leader import WorkerLock, application_name
from tests.conftest import LIVE_SECRET_KEY, SECRET_KEY
from tests.contract.helpers import as_dict, card_fee
from tests.support import databases, waiting
from tests.support.process import PAYOUTKIT, clean_env, serve_process

T = TypeVar("T")
PROCESSES = 3
WAIT = 40.0  # the longest any step waits (the machine is shared; the worker ticks every second)
LEADERS = """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = %s)
"""
SESSIONS = "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND application_name LIKE %s"


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT) -> T:
    return waiting.wait_for(what, check, timeout, poll=0.1)


def _pid_of(name: str) -> int:
    return int(name.rsplit(" ", 1)[1])


@dataclass
class Deployment:
    url: str
    cluster: PostgresCluster
    dbname: str
    supervisor: subprocess.Popen[bytes]
    log: Path

    def query(self, sql: str, *params: object) -> list[str]:
        with self.cluster.connect(self.dbname) as conn:
            return [str(row[0]) for row in conn.execute(sql, params).fetchall()]

    def leaders(self) -> list[int]:
        """The processes holding the worker's advisory lock."""
        return [_pid_of(name) for name in self.query(LEADERS, self.dbname)]

    def processes(self) -> list[int]:
        """The processes with a leadership session: every serving process with a worker."""
        return [_pid_of(n) for n in self.query(SESSIONS, self.dbname, application_name(0)[:-1] + "%")]

    def one_leader(self) -> int | None:
        found = self.leaders()
        assert len(found) <= 1, f"several processes hold the worker lock: {found}"
        return found[0] if found else None


@pytest.fixture
def pg_database(pg_cluster: PostgresCluster, pg_template: str) -> Iterator[str]:
    name = databases.create_pg_database(pg_cluster, pg_template)
    yield name
    pg_cluster.drop_database(name)


@contextlib.contextmanager
def deployment(cluster: PostgresCluster, dbname: str, log: Path, *args: str) -> Iterator[Deployment]:
    env = clean_env(PAYOUTKIT_SECRET_KEY=SECRET_KEY, PAYOUTKIT_LIVE_SECRET_KEY=LIVE_SECRET_KEY)
    seen: set[int] = set()
    # Each process imports the app afresh (uvicorn spawns them): generous on a loaded 2-core machine.
    with serve_process(cluster.url(dbname), log, env=env, args=args, startup_timeout=WAIT * 2) as (
        url,
        proc,
    ):
        found = Deployment(url, cluster, dbname, proc, log)
        try:
            yield found
        finally:
            seen |= set(found.processes())
    # The supervisor has stopped (SIGTERM to its pid, waited for): its processes must be gone too. Any
    # left is a bug; it is stopped by its pid and the test fails.
    left = [pid for pid in seen if _alive(pid)]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived their supervisor: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not alive.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    return False


# -- a webhook receiver on loopback ----------------------------------------------------------------


class _Listener(ThreadingHTTPServer):
    # The worker posts a batch of deliveries at once: with the default backlog (5) a loaded machine
    # drops connection attempts, which then fail as timeouts and wait a minute for their retry.
    request_queue_size = 128


class Receiver:
    """Answers 200 to every POST and keeps the event ids it received, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []  # (event id, object id)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with receiver._lock:
                    receiver.events.append((event["id"], event["data"]["object"]["id"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Listener(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)

    def objects(self) -> set[str]:
        with self._lock:
            return {obj for _, obj in self.events}

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(event for event, _ in self.events)


# -- SDK clients, one connection pool each ---------------------------------------------------------


@contextlib.contextmanager
def sdk(url: str, key: str = SECRET_KEY) -> Iterator[stripe.StripeClient]:
    session = requests.Session()
    session.trust_env = False
    try:
        yield stripe.StripeClient(
            api_key=key,
            base_addresses={"api": url, "connect": url, "files": url},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session),
        )
    finally:
        session.close()


def in_parallel(url: str, calls: list[Callable[[stripe.StripeClient], T]], threads: int = 8) -> list[T]:
    """Each call on one of `threads` clients (each its own connections), all at once."""
    local = threading.local()
    stack = contextlib.ExitStack()
    lock = threading.Lock()

    def client() -> stripe.StripeClient:
        if not hasattr(local, "client"):
            with lock:
                local.client = stack.enter_context(sdk(url))
        found: stripe.StripeClient = local.client
        return found

    with stack, ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(client()), calls))


def usd_available(balance: Any) -> int:
    return sum(int(b["amount"]) for b in as_dict(balance)["available"] if b["currency"] == "usd")


CHARGE = 1000
TRANSFER = 5000
PAYOUT = 100


def charge(client: stripe.StripeClient) -> str:
    made = client.v1.charges.create({"amount": CHARGE, "currency": "usd", "source": "tok_bypassPending"})
    assert made.status == "succeeded", made
    return str(made.id)


def payout(account: str) -> Callable[[stripe.StripeClient], str]:
    def make(client: stripe.StripeClient) -> str:
        made = client.v1.payouts.create({"amount": PAYOUT, "currency": "usd"}, {"stripe_account": account})
        assert made.amount == PAYOUT, made
        return str(made.id)

    return make


# -- the tests -------------------------------------------------------------------------------------


def test_several_processes_serve_one_database_and_one_of_them_runs_the_worker(
    pg_cluster: PostgresCluster, pg_database: str, tmp_path: Path
) -> None:
    with (
        deployment(pg_cluster, pg_database, tmp_path / "serve.log", "--workers", str(PROCESSES)) as dep,
        Receiver() as receiver,
        sdk(dep.url) as client,
    ):
        # Every process is up (each has its leadership session), and exactly one holds the lock.
        wait_for(f"{PROCESSES} processes", lambda: len(dep.processes()) == PROCESSES)
        leader = wait_for("a leader", dep.one_leader)
        assert leader in dep.processes()
        assert f"worker: process {leader} leads" in dep.log.read_text()
        client.v1.webhook_endpoints.create({"url": receiver.url, "enabled_events": ["charge.succeeded"]})

        # Money through every process: charges, a transfer, payouts, on many connections at once.
        start = usd_available(client.v1.balance.retrieve())
        account = client.v1.accounts.create(
            {"type": "custom", "country": "US", "settings": {"payouts": {"schedule": {"interval": "manual"}}}}
        ).id
        client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
        charges = in_parallel(dep.url, [charge] * 40)
        client.v1.transfers.create({"amount": TRANSFER, "currency": "usd", "destination": account})
        payouts = in_parallel(dep.url, [payout(account)] * 24)
        assert len(set(charges)) == 40
        assert len(set(payouts)) == 24
        # Every process reads the same balances.
        platform = in_parallel(dep.url, [lambda c: usd_available(c.v1.balance.retrieve())] * 16)
        assert set(platform) == {start + 40 * (CHARGE - card_fee(CHARGE)) - TRANSFER}
        balances = in_parallel(
            dep.url, [lambda c: usd_available(c.v1.balance.retrieve({}, {"stripe_account": account}))] * 16
        )
        assert set(balances) == {TRANSFER - 24 * PAYOUT}

        # The worker ran: each charge's event reached the receiver, once.
        wait_for("the charges' webhooks", lambda: set(charges) <= receiver.objects())
        time.sleep(2.5)  # two more worker intervals: nothing is delivered twice
        assert set(receiver.counts().values()) == {1}
        assert dep.one_leader() == leader

        # The leader dies without a word; another process takes the lock, and the worker goes on.
        os.kill(leader, signal.SIGKILL)
        successor = wait_for("another leader", lambda: (pid := dep.one_leader()) != leader and pid)
        assert successor != leader
        more = in_parallel(dep.url, [charge] * 10)
        wait_for("the webhooks after the takeover", lambda: set(more) <= receiver.objects())
        time.sleep(2.5)
        counts = receiver.counts()
        assert len(counts) == 50
        assert set(counts.values()) == {1}
        assert dep.one_leader() == successor
        # uvicorn replaced the killed process: the deployment is back to its size, and answers.
        wait_for(f"{PROCESSES} processes again", lambda: len(dep.processes()) == PROCESSES)
        assert set(in_parallel(dep.url, [lambda c: usd_available(c.v1.balance.retrieve())] * 8)) == {
            start + 50 * (CHARGE - card_fee(CHARGE)) - TRANSFER
        }

        # The leader's session is ended from outside (an administrator, a database restart): the leader
        # notices within an interval and stops, and a process (it, or another) leads again.
        with pg_cluster.connect(pg_database) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
                (pg_database,),
            ).fetchall()
        assert ended == [(True,)]
        wait_for(
            "the leader to notice", lambda: f"process {successor} lost the leader lock" in dep.log.read_text()
        )
        wait_for("a leader again", dep.one_leader)


def test_a_rotated_key_is_refused_by_every_process(
    pg_cluster: PostgresCluster, pg_database: str, tmp_path: Path
) -> None:
    """api/auth.py's promise (refused everywhere within KEY_CACHE_SECONDS), with no worker at all."""
    with deployment(pg_cluster, pg_database, tmp_path / "serve.log", "--workers", "2", "--no-worker") as dep:
        # Many connections, so every process reads (and caches) the key.
        in_parallel(dep.url, [lambda c: c.v1.balance.retrieve()] * 32)
        # --no-worker: no process tries to lead.
        assert dep.leaders() == []
        assert dep.processes() == []
        rotated = subprocess.run(
            [*PAYOUTKIT, "keys", "--rotate", "--database-url", pg_cluster.url(pg_database)],
            capture_output=True, text=True, env=clean_env(), timeout=60, check=True,
        )  # fmt: skip
        new = next(w for w in rotated.stdout.split() if w.startswith("sk_test_"))
        time.sleep(3.0)  # KEY_CACHE_SECONDS (2) and a margin
        statuses: Counter[str] = Counter()
        for _ in range(24):  # each on a connection of its own: the kernel spreads them over the processes
            with sdk(dep.url, SECRET_KEY) as old_client:
                try:
                    old_client.v1.balance.retrieve()
                    statuses["accepted"] += 1
                except stripe.AuthenticationError:
                    statuses["refused"] += 1
        assert statuses == Counter(refused=24)
        with sdk(dep.url, new) as new_client:
            assert new_client.v1.balance.retrieve() is not None


def test_sqlite_refuses_several_processes(tmp_path: Path) -> None:
    db = tmp_path / "payoutkit.db"
    result = subprocess.run(
        [*PAYOUTKIT, "serve", "--workers", "2", "--database-url", f"sqlite:///{db}", "--port", "9"],
        capture_output=True, text=True, env=clean_env(), timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SQLite serializes writers" in result.stderr
    assert "PostgreSQL" in result.stderr
    assert not db.exists()  # refused before anything was made


def test_the_worker_lock_is_held_by_one_session_at_a_time(
    pg_cluster: PostgresCluster, pg_database: str
) -> None:
    first, second = WorkerLock(pg_cluster.url(pg_database)), WorkerLock(pg_cluster.url(pg_database))
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # again, by its holder: still held (session locks nest)
        assert not second.try_acquire()
        assert first.still_held()
        assert not second.still_held()
        # The holder's session ends (an administrator, a restart): it no longer leads, the other may.
        with pg_cluster.connect(pg_database) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = %s)",
                (pg_database,),
            ).fetchall()
        assert ended == [(True,)]
        assert wait_for("the lock free", second.try_acquire)
        assert not first.still_held()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
