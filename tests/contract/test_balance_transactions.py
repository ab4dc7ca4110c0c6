"""Balance transactions through the official SDK: the immutable history behind every balance."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.contract.helpers import (
    CARD_AVAILABLE_ON,
    advance,
    as_dict,
    charge,
    error_of,
    new_account_id,
    txn,
    txn_list,
)
from tests.support.openapi import assert_matches_response, assert_matches_schema


def test_a_charge_writes_one_transaction_with_its_fee(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 1000, "tok_visa", description="order 42")

    t = txn(stripe_client, ch["balance_transaction"])

    assert t["id"].startswith("txn_")
    assert t["type"] == "charge"
    assert t["reporting_category"] == "charge"
    assert t["source"] == ch["id"]
    assert t["balance_type"] == "payments"
    assert (t["amount"], t["fee"], t["net"]) == (1000, 59, 941)
    assert t["net"] == t["amount"] - t["fee"]
    assert t["fee"] == sum(f["amount"] for f in t["fee_details"])
    assert [(f["type"], f["amount"], f["currency"]) for f in t["fee_details"]] == [("stripe_fee", 59, "usd")]
    assert t["status"] == "pending"
    assert t["created"] == ch["created"]
    assert t["available_on"] == CARD_AVAILABLE_ON
    assert t["currency"] == "usd"
    assert t["description"] == "order 42"


def test_a_transaction_becomes_available_on_its_date(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000, "tok_visa")
    advance(http, to=CARD_AVAILABLE_ON)

    assert txn(stripe_client, ch["balance_transaction"])["status"] == "available"
    listed = txn_list(stripe_client)["data"]
    assert [t["status"] for t in listed] == ["available"]


def test_bypass_pending_is_available_at_creation(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 1000, "tok_bypassPending")
    t = txn(stripe_client, ch["balance_transaction"])
    assert t["status"] == "available"
    assert t["available_on"] == t["created"]


def test_the_list_is_newest_first(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    ids = []
    for amount in (1000, 2000, 3000):
        ids.append(charge(stripe_client, amount)["balance_transaction"])
        advance(http, seconds=1)

    page = txn_list(stripe_client)

    assert page["object"] == "list"
    assert page["url"] == "/v1/balance_transactions"
    assert page["has_more"] is False
    assert [t["id"] for t in page["data"]] == ids[::-1]
    assert [t["amount"] for t in page["data"]] == [3000, 2000, 1000]
    for t in page["data"]:
        assert_matches_schema(t, "balance_transaction")


def test_filters_by_type_source_and_currency(stripe_client: stripe.StripeClient) -> None:
    card = charge(stripe_client, 1000)
    charge(stripe_client, 1000, "tok_fpx", currency="myr")
    stripe_client.v1.topups.create({"amount": 500, "currency": "usd", "source": "btok_us_verified"})

    topups = txn_list(stripe_client, type="topup")["data"]
    assert [(t["type"], t["amount"]) for t in topups] == [("topup", 500)]

    by_source = txn_list(stripe_client, source=card["id"])["data"]
    assert [t["id"] for t in by_source] == [card["balance_transaction"]]

    myr = txn_list(stripe_client, currency="myr")["data"]
    assert [(t["currency"], t["amount"]) for t in myr] == [("myr", 1000)]
    assert {t["currency"] for t in txn_list(stripe_client, currency="usd")["data"]} == {"usd"}
    assert len(txn_list(stripe_client, currency="usd")["data"]) == 2


def test_filters_by_created_range(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    first = charge(stripe_client, 1000)
    later = advance(http, seconds=3600)
    second = charge(stripe_client, 2000)

    assert [t["id"] for t in txn_list(stripe_client, created={"gte": later})["data"]] == [
        second["balance_transaction"]
    ]
    assert [t["id"] for t in txn_list(stripe_client, created={"lt": later})["data"]] == [
        first["balance_transaction"]
    ]
    assert [t["id"] for t in txn_list(stripe_client, created=first["created"])["data"]] == [
        first["balance_transaction"]
    ]
    assert txn_list(stripe_client, created={"gt": later})["data"] == []


def test_pagination_walks_every_transaction_once(stripe_client: stripe.StripeClient) -> None:
    for amount in range(1000, 6000, 1000):
        charge(stripe_client, amount)
    everything = [t["id"] for t in txn_list(stripe_client, limit=100)["data"]]
    assert len(everything) == 5

    first = txn_list(stripe_client, limit=2)
    assert first["has_more"] is True
    second = txn_list(stripe_client, limit=2, starting_after=first["data"][-1]["id"])
    assert second["has_more"] is True
    third = txn_list(stripe_client, limit=2, starting_after=second["data"][-1]["id"])
    assert third["has_more"] is False
    walked = [t["id"] for p in (first, second, third) for t in p["data"]]
    assert walked == everything

    back = txn_list(stripe_client, limit=2, ending_before=third["data"][0]["id"])
    assert [t["id"] for t in back["data"]] == [t["id"] for t in second["data"]]
    assert back["has_more"] is True


def test_the_sdk_auto_pager_sees_everything(stripe_client: stripe.StripeClient) -> None:
    for amount in (1000, 2000, 3000):
        charge(stripe_client, amount)
    pages = stripe_client.v1.balance_transactions.list({"limit": 1})
    assert [t.amount for t in pages.auto_paging_iter()] == [3000, 2000, 1000]


def test_balance_history_is_an_alias(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    ch = charge(stripe_client, 1000)
    canonical = http.get("/v1/balance_transactions").json()
    alias = http.get("/v1/balance/history")
    assert alias.status_code == 200
    assert_matches_response(alias.json(), "GET", "/v1/balance_transactions")
    assert alias.json()["data"] == canonical["data"]

    one = http.get(f"/v1/balance/history/{ch['balance_transaction']}")
    assert one.status_code == 200
    assert one.json() == txn(stripe_client, ch["balance_transaction"])


def test_expand_source_on_retrieve_and_on_list(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 1000)

    one = as_dict(
        stripe_client.v1.balance_transactions.retrieve(ch["balance_transaction"], {"expand": ["source"]})
    )
    assert_matches_schema(one, "balance_transaction")
    assert one["source"]["object"] == "charge"
    assert one["source"]["id"] == ch["id"]
    assert one["source"]["amount"] == 1000

    page = txn_list(stripe_client, expand=["data.source"])
    assert [(t["source"]["object"], t["source"]["id"]) for t in page["data"]] == [("charge", ch["id"])]


def test_an_unknown_transaction_is_404(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    missing = "txn_" + "0" * 24
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.balance_transactions.retrieve(missing)
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"

    error = error_of(http.get(f"/v1/balance_transactions/{missing}"), 404)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "resource_missing"
    assert error["param"] == "id"


def test_a_connected_account_lists_only_its_own(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    charge(stripe_client, 1000)
    own = charge(stripe_client, 3000, account=account)

    listed = txn_list(stripe_client, account)["data"]
    assert [t["source"] for t in listed] == [own["id"]]
    assert own["id"] not in [t["source"] for t in txn_list(stripe_client)["data"]]


def test_malformed_ids_name_their_param(http: httpx.Client) -> None:
    assert error_of(http.get("/v1/balance_transactions/nope"), 400)["param"] == "id"
    assert error_of(http.get("/v1/balance_transactions", params={"payout": "nope"}), 400)["param"] == "payout"


def test_a_connected_account_filters_its_payments(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    charge(stripe_client, 1000, transfer_data={"destination": account})
    charge(stripe_client, 2000, account=account)

    payments = txn_list(stripe_client, account, type="payment")["data"]
    assert [(t["type"], t["amount"]) for t in payments] == [("payment", 1000)]
    expanded = txn_list(stripe_client, account, type="payment", expand=["data.source"])["data"]
    assert expanded[0]["source"]["object"] == "charge"
    assert expanded[0]["source"]["id"].startswith("py_")
