"""`expand[]`: what may be expanded is declared per object type, as Stripe's schemas declare it, and
an expansion never reaches an object of the other mode or one the acting account may not see."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from payoutkit.api import expand
from payoutkit.services.actor import Actor as Ctx
from payoutkit.store.db import Database
from tests.conftest import CLOCK_START, LIVE_SECRET_KEY
from tests.contract.helpers import charge, error_of, fund_platform, new_account_id
from tests.contract.test_every_object import scenario
from tests.contract.test_modes import relabel_live
from tests.support.openapi import load_spec
from tests.support.server import RunningServer

SCHEMAS = load_spec()["components"]["schemas"]


def test_the_declaration_is_stripes_x_expandable_fields() -> None:
    compared = 0
    for kind, fields in expand.EXPANDABLE.items():
        declared = SCHEMAS.get(kind, {}).get("x-expandableFields")
        if declared is None:  # `card` is pruned from the subset; `list` is no schema
            assert kind in {"card", "list"}, kind
            continue
        assert set(fields) == set(declared), kind
        for nested in filter(None, fields.values()):
            assert set(expand.EXPANDABLE[nested]) == set(SCHEMAS[nested]["x-expandableFields"]), nested
        compared += 1
    assert compared >= 15
    for (kind, field), types in expand.EXPANDS_TO.items():
        assert field in expand.EXPANDABLE[kind]
        resources = SCHEMAS[kind]["properties"][field]["x-expansionResources"]["oneOf"]
        assert types <= {ref["$ref"].rsplit("/", 1)[1] for ref in resources}


def _live(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False, timeout=30)


def _live_charge(http: httpx.Client, database_url: str, source: str) -> dict[str, Any]:
    """A live charge: live mode takes no test token, so a test charge is relabelled live."""
    made = http.post("/v1/charges", data={"amount": 5000, "currency": "usd", "source": source}).json()
    relabel_live(database_url)
    return {**made, "livemode": True}


def test_metadata_is_not_expandable_even_when_it_holds_an_id_of_the_other_mode(
    server: RunningServer, http: httpx.Client, database_url: str
) -> None:
    live_charge = _live_charge(http, database_url, "tok_visa")
    with _live(server) as live:
        assert live.get(f"/v1/charges/{live_charge['id']}").json()["livemode"] is True
    assert http.get(f"/v1/charges/{live_charge['id']}").status_code == 404
    own = http.post(
        "/v1/charges",
        data={"amount": 1000, "currency": "usd", "source": "tok_visa", "metadata[x]": live_charge["id"]},
    ).json()
    for path, key in (
        (f"/v1/charges/{own['id']}", "metadata.x"),
        (f"/v1/charges/{own['id']}", "metadata"),
        ("/v1/charges", "data.metadata.x"),
    ):
        response = http.get(path, params={"expand[]": key})
        error = error_of(response, 400)
        assert error["param"] == "expand"
        assert error["message"].startswith(f"This property cannot be expanded ({key.split('.x')[0]}")
        assert live_charge["id"] not in response.text.replace(f"({key})", "")


def test_an_expansion_loads_only_objects_of_the_requests_mode(
    server: RunningServer, http: httpx.Client, database_url: str
) -> None:
    """The lookup itself: a live object is out of reach of a test-mode request, and the other way."""
    live_charge = _live_charge(http, database_url, "tok_bypassPending")
    test_charge = http.post(
        "/v1/charges", data={"amount": 5000, "currency": "usd", "source": "tok_bypassPending"}
    ).json()
    platform = http.get("/v1/account").json()["id"]
    db = Database(database_url)
    try:
        for livemode, mine, other in (
            (False, test_charge, live_charge),
            (True, live_charge, test_charge),
        ):
            ctx = Ctx(
                account_id=platform,
                platform_id=platform,
                livemode=livemode,
                now=CLOCK_START,
                request_id="req_test",
            )
            for obj in (mine, other):
                for object_id in (obj["id"], obj["balance_transaction"]):
                    loaded = db.transaction(expand.load, ctx, object_id)
                    assert (loaded is not None) == (obj is mine), (livemode, object_id)
    finally:
        db.dispose()


def _one_of_each(client: stripe.StripeClient, http: httpx.Client) -> dict[str, tuple[str, dict[str, str]]]:
    """Routes that each return one object, with the headers to read it."""
    fund_platform(client, 20_000)
    account = new_account_id(client)
    ch = charge(client, 2000, "tok_bypassPending", transfer_data={"destination": account})
    refund = http.post("/v1/refunds", data={"charge": ch["id"], "amount": 500}).json()
    topup = http.post(
        "/v1/topups", data={"amount": 500, "currency": "usd", "source": "btok_us_verified"}
    ).json()
    event = http.get("/v1/events", params={"limit": 1}).json()["data"][0]
    as_account = {"Stripe-Account": account}
    payment = http.get(f"/v1/transfers/{ch['transfer']}").json()["destination_payment"]
    return {
        "destination payment": (f"/v1/charges/{payment}", as_account),
        "balance": ("/v1/balance", {}),
        "balance_transaction": (f"/v1/balance_transactions/{ch['balance_transaction']}", {}),
        "charge": (f"/v1/charges/{ch['id']}", {}),
        "refund": (f"/v1/refunds/{refund['id']}", {}),
        "transfer": (f"/v1/transfers/{ch['transfer']}", {}),
        "topup": (f"/v1/topups/{topup['id']}", {}),
        "account": (f"/v1/accounts/{account}", {}),
        "event": (f"/v1/events/{event['id']}", {}),
        "connected balance": ("/v1/balance", as_account),
    }


def test_every_field_that_is_not_declared_is_refused_and_every_declared_one_accepted(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    routes = _one_of_each(stripe_client, http)
    tried = 0
    for path, headers in routes.values():
        body: dict[str, Any] = http.get(path, headers=headers).json()
        declared = expand.EXPANDABLE[body["object"]]
        for field in body:
            response = http.get(path, params={"expand[]": field}, headers=headers)
            if field in declared:
                assert response.status_code == 200, (path, field, response.text)
            else:
                error = error_of(response, 400)
                assert error["param"] == "expand", (path, field)
                assert error["message"] == f"This property cannot be expanded ({field}).", error
            tried += 1
    assert tried > 150


def test_id_and_balance_fields(http: httpx.Client) -> None:
    """The reported cases: `id` is refused; a Balance's `available` is one of the hashes Stripe
    declares expandable, so naming it is accepted and changes nothing."""
    assert error_of(http.get("/v1/balance", params={"expand[]": "id"}), 400)["param"] == "expand"
    assert error_of(http.get("/v1/balance", params={"expand[]": "livemode"}), 400)["param"] == "expand"
    plain = http.get("/v1/balance").json()
    assert http.get("/v1/balance", params={"expand[]": "available"}).json() == plain
    error = error_of(http.get("/v1/balance", params={"expand[]": "available.amount"}), 400)
    assert error["message"] == "This property cannot be expanded (available.amount)."


def test_inside_an_events_data_nothing_is_expandable(
    http: httpx.Client, stripe_client: stripe.StripeClient
) -> None:
    """An event's `data` holds the object under `object`: a hash, not a type name. Found by the
    hostile-input class test as a 500."""
    charge(stripe_client, 1000)
    event = http.get("/v1/events", params={"limit": 1}).json()["data"][0]
    assert http.get(f"/v1/events/{event['id']}", params={"expand[]": "data"}).status_code == 200
    for path in ("data.source", "data.object", "data.object.balance_transaction"):
        error = error_of(http.get(f"/v1/events/{event['id']}", params={"expand[]": path}), 400)
        assert error["param"] == "expand"
        assert error["message"].startswith("This property cannot be expanded (data."), error


def test_a_list_names_the_data_prefix(http: httpx.Client, stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 1000)
    error = error_of(http.get("/v1/charges", params={"expand[]": "balance_transaction"}), 400)
    assert "data.balance_transaction" in error["message"]


@pytest.mark.parametrize("who", ["platform", "connected account"])
def test_every_source_of_a_balance_transaction_expands(http: httpx.Client, who: str) -> None:
    account = scenario(http)
    headers = {"Stripe-Account": account} if who == "connected account" else {}
    plain = http.get("/v1/balance_transactions", params={"limit": 100}, headers=headers).json()["data"]
    response = http.get(
        "/v1/balance_transactions", params={"limit": 100, "expand[]": "data.source"}, headers=headers
    )
    assert response.status_code == 200, response.text
    expanded = response.json()["data"]
    types = set()
    for before, after in zip(plain, expanded, strict=True):
        if before["source"] is None:  # a reserve transaction has no source object in Payoutkit
            assert before["type"] == "reserve_transaction"
            continue
        assert isinstance(after["source"], dict), (before["type"], before["source"])
        assert after["source"]["id"] == before["source"]
        types.add(before["type"])
    if who == "connected account":
        assert {
            "payment",
            "payment_refund",
            "application_fee_refund",
            "charge",
            "refund",
            "payout",
            "payout_cancel",
            "payout_failure",
        } <= types
    else:
        assert {"charge", "transfer", "transfer_refund", "application_fee", "refund", "topup"} <= types
