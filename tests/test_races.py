"""Races: many clients moving money out of one balance at once can never overdraw it.

32 threads on real HTTP each try to transfer from a platform balance that covers only some of them;
exactly as many succeed as the balance covers, the rest get `balance_insufficient`, and the ledger
balances afterwards — on SQLite and on PostgreSQL (where units really run concurrently).
"""

from __future__ import annotations

import threading

import httpx

from tests.conftest import SECRET_KEY
from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

CLIENTS = 32
EACH = 100
FUNDED = 1_061  # a tok_bypassPending charge of 1061 nets exactly 1000 after its fee (31 + 30)


def test_concurrent_transfers_never_overdraw_the_balance(server: RunningServer, http: httpx.Client) -> None:
    destinations = [http.post("/v1/accounts", data={"type": "custom"}).json()["id"] for _ in range(4)]
    funded = http.post(
        "/v1/charges", data={"amount": FUNDED, "currency": "usd", "source": "tok_bypassPending"}
    )
    assert funded.status_code == 200, funded.text
    assert http.get("/v1/balance").json()["available"][0]["amount"] == 1_000

    barrier = threading.Barrier(CLIENTS)
    statuses: list[tuple[int, str | None]] = []

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False, timeout=60) as c:
            barrier.wait()
            r = c.post(
                "/v1/transfers", data={"amount": EACH, "currency": "usd", "destination": destinations[i % 4]}
            )
            statuses.append((r.status_code, r.json().get("error", {}).get("code")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ok = [s for s in statuses if s[0] == 200]
    refused = [s for s in statuses if s[0] != 200]
    assert len(ok) == 1_000 // EACH
    assert refused == [(400, "balance_insufficient")] * (CLIENTS - len(ok))
    assert http.get("/v1/balance").json()["available"][0]["amount"] == 0
    received = sum(
        http.get("/v1/balance", headers={"Stripe-Account": d}).json()["available"][0]["amount"]
        for d in destinations
    )
    assert received == len(ok) * EACH
    assert_ledger_ok(server.settings.database_url)
