"""Crash: killing the server mid-load loses no acknowledged request and leaves the ledger whole.

A real `payoutkit serve` process takes charges from several clients; it is killed with SIGKILL while
they are in flight, started again on the same database, and every charge that was answered 200 must be
there with its balance transaction, and the ledger's invariants must hold. Bounded in requests and
time; everything started is stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY
from tests.support.ledger import assert_ledger_ok

CLIENTS = 8
MAX_REQUESTS = 3_000
LOAD_SECONDS = 1.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(database_url: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYOUTKIT_") and k != "DATABASE_URL"}
    env["PAYOUTKIT_SECRET_KEY"] = SECRET_KEY
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "payoutkit", "serve", "--port", str(port), "--database-url", database_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(url + "/v1/balance", auth=(SECRET_KEY, ""), trust_env=False, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def test_a_killed_server_loses_no_acknowledged_charge(database_url: str, tmp_path: Path) -> None:
    acknowledged: list[str] = []
    sent = 0
    lock = threading.Lock()
    stop = threading.Event()
    log = tmp_path / "server.log"

    with _server(database_url, log) as (url, proc):

        def client(n: int) -> None:
            nonlocal sent
            with httpx.Client(base_url=url, auth=(SECRET_KEY, ""), trust_env=False, timeout=5) as c:
                i = 0
                while not stop.is_set():
                    with lock:
                        if sent >= MAX_REQUESTS:
                            return
                        sent += 1
                    i += 1
                    try:
                        r = c.post(
                            "/v1/charges",
                            data={"amount": 1000, "currency": "usd", "source": "tok_visa"},
                            headers={"Idempotency-Key": f"crash-{n}-{i}"},
                        )
                    except httpx.TransportError:
                        return  # the server is gone
                    if r.status_code == 200:
                        with lock:
                            acknowledged.append(r.json()["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load, no chance to clean up
        proc.wait(timeout=15)
        stop.set()
        for t in threads:
            t.join(timeout=30)

    assert acknowledged, log.read_text()
    with (
        _server(database_url, log) as (url, _),
        httpx.Client(base_url=url, auth=(SECRET_KEY, ""), trust_env=False, timeout=10) as c,
    ):
        for charge_id in acknowledged:
            found = c.get(f"/v1/charges/{charge_id}")
            assert found.status_code == 200, (charge_id, found.text)
            txn = c.get(f"/v1/balance_transactions/{found.json()['balance_transaction']}")
            assert txn.status_code == 200
            assert txn.json()["amount"] == 1000
        pending = c.get("/v1/balance").json()["pending"][0]["amount"]
    # Every charge that committed, answered or not, is whole: 941 pending each, nothing half-written.
    assert pending % 941 == 0
    assert pending // 941 >= len(acknowledged)
    assert_ledger_ok(database_url)
