"""Races between the two sides of a destination charge: the platform refunding the card (reversing the
transfer) and the connected account refunding its payment (which reverses the same transfer).

Whatever the interleaving, no request fails with anything but a documented refusal, the transfer is
never reversed beyond its amount, and once the platform has refunded the whole charge the transfer is
reversed exactly: the account ends at 0 and the card got the charge back once. On PostgreSQL the
units really run concurrently (and lock charge, transfer, payment, buckets, fee in one order).
"""

from __future__ import annotations

import threading

import httpx

from tests.conftest import SECRET_KEY
from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

AMOUNT = 10_000
EACH = 1_000
CLIENTS = 16  # half the platform's refunds of the charge, half the account's refunds of its payment
REFUSALS = {(400, "amount_too_large"), (400, "charge_already_refunded")}


def test_refunds_from_both_sides_never_reverse_more_than_the_transfer(
    server: RunningServer, http: httpx.Client
) -> None:
    account = http.post("/v1/accounts", data={"type": "express"}).json()["id"]
    ch = http.post(
        "/v1/charges",
        data={
            "amount": AMOUNT,
            "currency": "usd",
            "source": "tok_bypassPending",
            "transfer_data[destination]": account,
            "application_fee_amount": 1_001,
        },
    ).json()
    payment = http.get(f"/v1/transfers/{ch['transfer']}").json()["destination_payment"]

    barrier = threading.Barrier(CLIENTS)
    statuses: list[tuple[int, str | None]] = []

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False, timeout=60) as c:
            barrier.wait()
            if i % 2:
                r = c.post(
                    "/v1/refunds",
                    data={"charge": payment, "amount": EACH, "refund_application_fee": "true"},
                    headers={"Stripe-Account": account},
                )
            else:
                r = c.post(
                    "/v1/refunds",
                    data={
                        "charge": ch["id"],
                        "amount": EACH,
                        "reverse_transfer": "true",
                        "refund_application_fee": "true",
                    },
                )
            statuses.append((r.status_code, r.json().get("error", {}).get("code")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert all(s[0] == 200 or s in REFUSALS for s in statuses), statuses
    transfer = http.get(f"/v1/transfers/{ch['transfer']}").json()
    assert transfer["amount_reversed"] <= AMOUNT
    assert_ledger_ok(server.settings.database_url)

    # The platform refunds the rest of the charge: the transfer and the fee come back whole.
    rest = http.post(
        "/v1/refunds", data={"charge": ch["id"], "reverse_transfer": "true", "refund_application_fee": "true"}
    )
    assert rest.status_code == 200, rest.text
    transfer = http.get(f"/v1/transfers/{ch['transfer']}").json()
    assert (transfer["amount_reversed"], transfer["reversed"]) == (AMOUNT, True)
    fee = http.get(f"/v1/charges/{ch['id']}", params={"expand[]": "application_fee"}).json()[
        "application_fee"
    ]
    assert (fee["amount_refunded"], fee["refunded"]) == (1_001, True)
    account_balance = http.get("/v1/balance", headers={"Stripe-Account": account}).json()
    assert account_balance["available"][0]["amount"] == 0
    refunded_to_card = -sum(
        t["amount"]
        for t in http.get("/v1/balance_transactions", params={"type": "refund", "limit": 100}).json()["data"]
    )
    assert refunded_to_card == AMOUNT
    assert_ledger_ok(server.settings.database_url)
