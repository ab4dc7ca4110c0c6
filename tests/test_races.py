"""Races: many clients moving money out of one balance at once can never overdraw it.

32 threads on real HTTP each try to transfer from a platform balance that covers only some of them;
exactly as many succeed as the balance covers, the rest get `balance_insufficient`, and the ledger
balances afterwards — on SQLite and on PostgreSQL (where units really run concurrently).

64 threads race payouts (half standard, half instant with the platform's fee) out of one connected
account's balance: exactly as many are accepted as the balance covers, the daily instant limit holds,
every refusal is a documented one, and every accepted payout is paid in full once the clock passes its
arrival.

Payouts raced from two source types of one currency, each of which alone could pay the account's whole
total, never take the total below zero together.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.conftest import CLOCK_START, SECRET_KEY
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


# ---- payouts ---------------------------------------------------------------------------------------

PAYOUT_CLIENTS = 64
# Every payout costs the account 150: a standard one of 150, or an instant one of 100 plus the
# platform's application fee of 50 (1.5 % with a minimum of 50; the platform pays the processing fee
# of a custom account, 1 % with a minimum of 50). So the balance covers exactly FUNDS // COST of them,
# whatever the mix the race lets through.
STANDARD_AMOUNT = 150
INSTANT_AMOUNT = 100
INSTANT_FEE = 50
PROCESSING_FEE = 50
COST = 150
PAYOUT_FUNDS = 3_000
# The daily instant limit lets at most 5 of the 32 instant payouts through (and is checked under the
# balance's lock, so concurrent instant payouts cannot pass it together).
INSTANT_LIMIT = 500
INSTANT_REFUSALS = {"balance_insufficient", "instant_payouts_limit_exceeded"}
REQUEST_TIMEOUT = 30.0
MIDNIGHT_JAN_1 = CLOCK_START - 10 * 3600
DAY = 86_400


@pytest.mark.parametrize("server_settings", [{"instant_daily_limits": {"*": INSTANT_LIMIT}}], indirect=True)
def test_concurrent_payouts_never_overdraw_the_balance(server: RunningServer, http: httpx.Client) -> None:
    pricing = http.post(
        "/v1/payoutkit/instant_payout_pricing",
        data={
            "currencies[usd][percent]": "1.5",
            "currencies[usd][minimum]": 50,
            "currencies[usd][maximum]": 1500,
        },
    )
    assert pricing.status_code == 200, pricing.text
    created = http.post(
        "/v1/accounts", data={"type": "custom", "settings[payouts][schedule][interval]": "manual"}
    )
    assert created.status_code == 200, created.text
    account = created.json()["id"]
    as_account = {"Stripe-Account": account}
    bank = http.post(
        f"/v1/accounts/{account}/external_accounts", data={"external_account": "btok_us_verified"}
    )
    assert bank.status_code == 200, bank.text
    assert "instant" in bank.json()["available_payout_methods"]
    funded = http.post(
        "/v1/charges", data={"amount": 10_000, "currency": "usd", "source": "tok_bypassPending"}
    )
    assert funded.status_code == 200, funded.text
    moved = http.post(
        "/v1/transfers", data={"amount": PAYOUT_FUNDS, "currency": "usd", "destination": account}
    )
    assert moved.status_code == 200, moved.text
    assert http.get("/v1/balance", headers=as_account).json()["available"][0]["amount"] == PAYOUT_FUNDS
    platform_before = http.get("/v1/balance").json()["available"][0]["amount"]

    barrier = threading.Barrier(PAYOUT_CLIENTS)
    results: list[tuple[str, int, dict[str, Any], float]] = []
    crashes: list[BaseException] = []

    def client(i: int) -> None:
        method = "standard" if i % 2 == 0 else "instant"
        amount = STANDARD_AMOUNT if method == "standard" else INSTANT_AMOUNT
        try:
            with httpx.Client(
                base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False, timeout=REQUEST_TIMEOUT
            ) as c:
                barrier.wait(timeout=REQUEST_TIMEOUT)
                started = time.monotonic()
                r = c.post(
                    "/v1/payouts",
                    data={"amount": amount, "currency": "usd", "method": method},
                    headers=as_account,
                )
                results.append((method, r.status_code, r.json(), time.monotonic() - started))
        except BaseException as exc:  # a timeout or a broken barrier: reported below
            crashes.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(PAYOUT_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(2 * REQUEST_TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "a client is still waiting for its answer"
    assert not crashes, crashes
    assert len(results) == PAYOUT_CLIENTS
    assert max(elapsed for *_, elapsed in results) < REQUEST_TIMEOUT

    accepted = [body for _, status, body, _ in results if status == 200]
    refused = [
        (method, status, body["error"].get("code")) for method, status, body, _ in results if status != 200
    ]
    for method, status, code in refused:
        assert status == 400, refused
        assert code in (INSTANT_REFUSALS if method == "instant" else {"balance_insufficient"}), refused
    # All-or-nothing per request, and exactly what the balance covers.
    assert len(accepted) == PAYOUT_FUNDS // COST
    instant = [p for p in accepted if p["method"] == "instant"]
    assert all(p["application_fee_amount"] == INSTANT_FEE for p in instant)
    assert all(p["amount"] == STANDARD_AMOUNT for p in accepted if p["method"] == "standard")
    # The daily instant limit holds under the race too.
    assert sum(p["amount"] for p in instant) <= INSTANT_LIMIT
    charged = sum(p["amount"] + (p["application_fee_amount"] or 0) for p in accepted)
    balance = http.get("/v1/balance", headers=as_account).json()
    left = balance["available"][0]["amount"]
    assert left >= 0
    assert charged == PAYOUT_FUNDS - left
    assert left == 0
    # Each payout's own balance transaction took exactly its amount and fees.
    nets = [
        http.get(f"/v1/balance_transactions/{p['balance_transaction']}", headers=as_account).json()["net"]
        for p in accepted
    ]
    assert sum(nets) == -charged
    # The platform earned the application fees and paid the processing fees of the instant ones.
    platform_after = http.get("/v1/balance").json()["available"][0]["amount"]
    assert platform_after == platform_before + len(instant) * (INSTANT_FEE - PROCESSING_FEE)

    # Every accepted payout arrives (standard ones on Monday 2026-01-05, instant ones 15 minutes after
    # they were made) and is paid for exactly its amount.
    advance = http.post("/v1/test_helpers/clock/advance", data={"to": MIDNIGHT_JAN_1 + 5 * DAY})
    assert advance.status_code == 200, advance.text
    listed = http.get("/v1/payouts", params={"limit": 100}, headers=as_account).json()
    assert not listed["has_more"]
    assert {p["id"] for p in listed["data"]} == {p["id"] for p in accepted}
    paid = [p for p in listed["data"] if p["status"] == "paid"]
    assert sum(p["amount"] for p in paid) == sum(p["amount"] for p in accepted)
    assert len(paid) == len(accepted)
    assert http.get("/v1/balance", headers=as_account).json()["available"][0]["amount"] == 0
    assert_ledger_ok(server.settings.database_url)


# ---- payouts from different source types of one currency -------------------------------------------


@pytest.mark.parametrize("liable", [True, False], ids=["liable", "not_liable"])
def test_concurrent_payouts_from_different_source_types_never_take_the_total_below_zero(
    server: RunningServer, http: httpx.Client, liable: bool
) -> None:
    """A Malaysian account holds MYR bank_account +8000 and fpx +8000 against card -11500: 4500 in all.
    Each source type alone could pay 4500; raced, only what the total covers goes out, whether or not
    the platform is liable for the account (when it is not, the payout still locks every source type)."""
    for source in ("tok_fpx", "tok_bypassPending"):
        r = http.post("/v1/charges", data={"amount": 80_000, "currency": "myr", "source": source})
        assert r.status_code == 200, r.text
    assert http.post("/v1/topups", data={"amount": 80_000, "currency": "myr"}).status_code == 200
    advance = http.post("/v1/test_helpers/clock/advance", data={"seconds": 7 * 86_400})
    assert advance.status_code == 200, advance.text
    kind = (
        {"type": "custom"}
        if liable
        else {
            "controller[fees][payer]": "account",
            "controller[losses][payments]": "stripe",
            "controller[stripe_dashboard][type]": "full",
        }
    )
    account = http.post(
        "/v1/accounts",
        data={**kind, "country": "MY", "settings[payouts][schedule][interval]": "manual"},
    ).json()["id"]
    as_account = {"Stripe-Account": account}
    bank = {
        "external_account[object]": "bank_account",
        "external_account[country]": "MY",
        "external_account[currency]": "myr",
        "external_account[account_number]": "000123456789",
    }
    assert http.post(f"/v1/accounts/{account}/external_accounts", data=bank).status_code == 200
    for source_type in ("bank_account", "fpx"):
        r = http.post(
            "/v1/transfers",
            data={"amount": 8000, "currency": "myr", "destination": account, "source_type": source_type},
        )
        assert r.status_code == 200, r.text
    disputed = {"amount": 10_000, "currency": "myr", "source": "tok_createDispute"}
    assert http.post("/v1/charges", data=disputed, headers=as_account).status_code == 200
    [myr] = http.get("/v1/balance", headers=as_account).json()["available"]
    expected = {"bank_account": 8000, "card": -11_500, "fpx": 8000}
    assert (myr["amount"], myr["source_types"]) == (4500, expected)

    clients = 8
    barrier = threading.Barrier(clients)
    statuses: list[tuple[int, str | None]] = []

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False, timeout=60) as c:
            barrier.wait()
            source_type = ("bank_account", "fpx")[i % 2]
            r = c.post(
                "/v1/payouts",
                data={"amount": 4500, "currency": "myr", "source_type": source_type},
                headers=as_account,
            )
            statuses.append((r.status_code, r.json().get("error", {}).get("code")))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [(200, None)] + [(400, "balance_insufficient")] * (clients - 1)
    [myr] = http.get("/v1/balance", headers=as_account).json()["available"]
    assert myr["amount"] == 0
    assert_ledger_ok(server.settings.database_url)
