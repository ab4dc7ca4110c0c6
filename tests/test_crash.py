"""Crash: killing the server mid-load loses no acknowledged request and leaves the ledger whole.

A real `payoutkit serve` process takes charges from several clients; it is killed with SIGKILL while
they are in flight, started again on the same database, and every charge that was answered 200 must be
there with its balance transaction, and the ledger's invariants must hold. Bounded in requests and
time; everything started is stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from tests.conftest import SECRET_KEY
from tests.support.ledger import assert_ledger_ok
from tests.support.process import clean_env, serve_process

CLIENTS = 8
MAX_REQUESTS = 3_000
LOAD_SECONDS = 1.5  # at least this long under load before the kill
MIN_ACKNOWLEDGED = 20  # and at least this many charges answered (a loaded machine starts slowly)
ACK_WAIT_SECONDS = 60


def _server(database_url: str, log: Path) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
    return serve_process(database_url, log, env=clean_env(PAYOUTKIT_SECRET_KEY=SECRET_KEY))


def test_a_killed_server_loses_no_acknowledged_charge(database_url: str, tmp_path: Path) -> None:
    acknowledged: list[str] = []
    sent = 0
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()
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
                            if len(acknowledged) >= MIN_ACKNOWLEDGED:
                                enough.set()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        enough.wait(timeout=ACK_WAIT_SECONDS)
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
