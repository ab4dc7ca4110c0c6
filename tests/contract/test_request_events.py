"""Events a request causes carry it: `request.id` is the request's `Request-Id` and
`request.idempotency_key` the `Idempotency-Key` it sent (POST; DELETE and GET take none), whichever
service emitted the event. Events no request caused (`balance.available`, and what the worker or the
test clock's catch-up does) carry neither.

One scenario sends every kind of request that emits events, each with its own key, and checks every
event that appeared during each request; it also checks that the scenario reached every event type
a request can cause, so a new emitter cannot hide from the test.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.contract.helpers import DAY, advance

# Event types the worker or settlement emits, never a request (the clock's advance replays the worker).
NOT_FROM_REQUESTS = {
    "balance.available",
    "payout.paid",
    "payout.failed",
    "payout.reconciliation_completed",
    "topup.failed",
}


class Requests:
    """Sends requests, each POST with a fresh Idempotency-Key, and checks the events each caused."""

    def __init__(self, http: httpx.Client, accounts: list[str]) -> None:
        self.http = http
        self.accounts = accounts
        self.keys = (f"key-{n}" for n in itertools.count())
        self.seen_types: set[str] = set()
        self.seen = self._event_ids()

    def _events(self, account: str | None) -> list[dict[str, Any]]:
        headers = {"Stripe-Account": account} if account else {}
        response = self.http.get("/v1/events", params={"limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def _event_ids(self) -> set[str]:
        return {e["id"] for a in [None, *self.accounts] for e in self._events(a)}

    def send(self, method: str, path: str, *, account: str | None = None, **data: Any) -> dict[str, Any]:
        headers = {"Stripe-Account": account} if account else {}
        key = next(self.keys) if method == "POST" else None
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.http.request(method, path, data=data or None, headers=headers)
        assert response.status_code in (200, 402), response.text
        request = {"id": response.headers["Request-Id"], "idempotency_key": key}
        new = [e for a in [None, *self.accounts] for e in self._events(a) if e["id"] not in self.seen]
        for event in new:
            self.seen.add(event["id"])
            if event["type"] in NOT_FROM_REQUESTS:
                assert event["request"] == {"id": None, "idempotency_key": None}, event
                continue
            assert event["request"] == request, (method, path, event["type"], event["request"])
            self.seen_types.add(event["type"])
        body: dict[str, Any] = response.json()
        return body

    def advance(self, seconds: int) -> None:
        """The test clock's advance: what it replays is the worker's doing, not the request's."""
        advance(self.http, seconds=seconds)
        for event in [e for a in [None, *self.accounts] for e in self._events(a) if e["id"] not in self.seen]:
            self.seen.add(event["id"])
            assert event["request"] == {"id": None, "idempotency_key": None}, event


def test_every_event_a_request_causes_carries_its_id_and_idempotency_key(http: httpx.Client) -> None:
    from payoutkit.services.event_types import EMITTED

    r = Requests(http, [])
    account = r.send(
        "POST", "/v1/accounts", type="custom", **{"settings[payouts][schedule][interval]": "manual"}
    )
    acct = account["id"]
    r.accounts.append(acct)
    r.send("POST", "/v1/charges", amount=50_000, currency="usd", source="tok_bypassPending")
    r.send("POST", "/v1/topups", amount=20_000, currency="usd")
    ea_path = f"/v1/accounts/{acct}/external_accounts"
    bank = r.send("POST", ea_path, external_account="btok_us_verified")
    r.send("POST", f"{ea_path}/{bank['id']}", **{"metadata[a]": "1"})
    spare = r.send("POST", ea_path, external_account="tok_visa_debit")
    r.send("DELETE", f"{ea_path}/{spare['id']}")
    r.send("POST", f"/v1/accounts/{acct}", **{"metadata[a]": "1"})
    tr = r.send("POST", "/v1/transfers", amount=20_000, currency="usd", destination=acct)
    r.send("POST", f"/v1/transfers/{tr['id']}", description="changed")
    r.send("POST", f"/v1/transfers/{tr['id']}/reversals", amount=1000)
    ch = r.send(
        "POST",
        "/v1/charges",
        amount=3000,
        currency="usd",
        source="tok_visa",
        **{"transfer_data[destination]": acct},
    )
    r.send("POST", f"/v1/charges/{ch['id']}", description="changed")
    refund = r.send("POST", "/v1/refunds", charge=ch["id"], amount=1000)
    r.send("POST", f"/v1/refunds/{refund['id']}", **{"metadata[a]": "1"})
    r.send("POST", "/v1/charges", amount=2000, currency="usd", source="tok_createDispute")
    r.send("POST", "/v1/charges", amount=2000, currency="usd", source="tok_chargeDeclined")
    # Payouts: created and canceled; paid, then reversed.
    first = r.send("POST", "/v1/payouts", account=acct, amount=1000, currency="usd")
    r.send("POST", f"/v1/payouts/{first['id']}/cancel", account=acct)
    second = r.send("POST", "/v1/payouts", account=acct, amount=1000, currency="usd")
    r.advance(5 * DAY)
    r.send("POST", f"/v1/payouts/{second['id']}/reverse", account=acct)
    missing = set(EMITTED) - NOT_FROM_REQUESTS - r.seen_types
    assert not missing, f"the scenario caused no event of these types: {sorted(missing)}"
