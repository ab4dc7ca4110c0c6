"""Transfers and their reversals through the official SDK: moving available funds to connected accounts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.contract.helpers import (
    acting_as,
    amount_in,
    as_dict,
    available,
    balance,
    charge,
    checked,
    error_of,
    fund_platform,
    new_account_id,
    txn,
    txn_list,
)


def transfer(client: stripe.StripeClient, amount: int, destination: str, **params: Any) -> dict[str, Any]:
    created = client.v1.transfers.create(
        {"amount": amount, "currency": "usd", "destination": destination, **params}
    )
    return checked(created, "transfer")


def test_a_transfer_moves_available_funds_to_the_connected_account(
    stripe_client: stripe.StripeClient,
) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client)

    tr = transfer(stripe_client, 2500, account, description="weekly share", metadata={"order": "7"})

    assert tr["id"].startswith("tr_")
    assert (tr["amount"], tr["currency"], tr["destination"]) == (2500, "usd", account)
    assert (tr["amount_reversed"], tr["reversed"]) == (0, False)
    assert tr["livemode"] is False
    assert tr["metadata"] == {"order": "7"}
    assert tr["reversals"]["data"] == []
    assert tr["destination_payment"].startswith("py_")
    assert available(stripe_client) == funds - 2500
    assert available(stripe_client, account) == 2500  # available at once

    out = txn(stripe_client, tr["balance_transaction"])
    assert (out["type"], out["amount"], out["fee"], out["source"]) == ("transfer", -2500, 0, tr["id"])
    (payment,) = txn_list(stripe_client, account)["data"]
    assert (payment["type"], payment["amount"], payment["source"]) == (
        "payment",
        2500,
        tr["destination_payment"],
    )
    assert checked(stripe_client.v1.transfers.retrieve(tr["id"]), "transfer") == tr


def test_insufficient_funds_change_nothing(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    funds = fund_platform(stripe_client, 1000)
    account = new_account_id(stripe_client)

    response = http.post(
        "/v1/transfers", data={"amount": funds + 1, "currency": "usd", "destination": account}
    )

    error = error_of(response, 400)
    assert error["code"] == "balance_insufficient"
    assert error["type"] == "invalid_request_error"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        transfer(stripe_client, funds + 1, account)
    assert raised.value.code == "balance_insufficient"
    assert available(stripe_client) == funds
    assert available(stripe_client, account) == 0
    assert as_dict(stripe_client.v1.transfers.list())["data"] == []


def test_pending_funds_cannot_be_transferred(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 10_000, "tok_visa")
    account = new_account_id(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        transfer(stripe_client, 100, account)
    assert raised.value.code == "balance_insufficient"


def test_partial_and_full_reversals(stripe_client: stripe.StripeClient) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client)
    tr = transfer(stripe_client, 1000, account)

    part = as_dict(stripe_client.v1.transfers.reversals.create(tr["id"], {"amount": 300}))
    assert part["object"] == "transfer_reversal"
    assert part["id"].startswith("trr_")
    assert (part["amount"], part["transfer"]) == (300, tr["id"])
    after_part = checked(stripe_client.v1.transfers.retrieve(tr["id"]), "transfer")
    assert (after_part["amount_reversed"], after_part["reversed"]) == (300, False)
    assert available(stripe_client, account) == 700
    assert available(stripe_client) == funds - 700
    back = txn(stripe_client, part["balance_transaction"])
    assert (back["type"], back["amount"]) == ("transfer_refund", 300)

    rest = as_dict(stripe_client.v1.transfers.reversals.create(tr["id"]))
    assert rest["amount"] == 700
    done = checked(stripe_client.v1.transfers.retrieve(tr["id"]), "transfer")
    assert (done["amount_reversed"], done["reversed"]) == (1000, True)
    assert [r["id"] for r in done["reversals"]["data"]] == [rest["id"], part["id"]]
    assert available(stripe_client, account) == 0
    assert available(stripe_client) == funds

    listed = as_dict(stripe_client.v1.transfers.reversals.list(tr["id"]))["data"]
    assert [r["id"] for r in listed] == [rest["id"], part["id"]]
    one = as_dict(stripe_client.v1.transfers.reversals.retrieve(tr["id"], part["id"]))
    assert one == part

    # The destination's payment shows both refunds its reversals made, as its own list does.
    payment = checked(
        stripe_client.v1.charges.retrieve(tr["destination_payment"], options=acting_as(account)), "charge"
    )
    made = [rest["destination_payment_refund"], part["destination_payment_refund"]]
    assert (payment["amount_refunded"], payment["refunded"]) == (1000, True)
    assert [r["id"] for r in payment["refunds"]["data"]] == made
    assert {r["source_transfer_reversal"] for r in payment["refunds"]["data"]} == {rest["id"], part["id"]}
    refunds = as_dict(stripe_client.v1.refunds.list({"charge": payment["id"]}, options=acting_as(account)))
    assert [r["id"] for r in refunds["data"]] == made


def test_over_reversal_is_refused(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    fund_platform(stripe_client)
    account = new_account_id(stripe_client)
    tr = transfer(stripe_client, 1000, account)
    stripe_client.v1.transfers.reversals.create(tr["id"], {"amount": 600})

    error = error_of(http.post(f"/v1/transfers/{tr['id']}/reversals", data={"amount": 401}), 400)

    assert error["param"] == "amount"
    assert as_dict(stripe_client.v1.transfers.retrieve(tr["id"]))["amount_reversed"] == 600
    assert available(stripe_client, account) == 400

    stripe_client.v1.transfers.reversals.create(tr["id"])
    again = error_of(http.post(f"/v1/transfers/{tr['id']}/reversals", data={"amount": 1}), 400)
    assert again["code"] == "transfer_already_reversed"


def test_a_reversal_can_drive_a_connected_account_negative(stripe_client: stripe.StripeClient) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    tr = transfer(stripe_client, 1000, account)
    # The connected account spends part of it (a refund of its own direct charge).
    ch = as_dict(
        stripe_client.v1.charges.create(
            {"amount": 500, "currency": "usd", "source": "tok_visa"}, acting_as(account)
        )
    )
    stripe_client.v1.refunds.create({"charge": ch["id"]}, options=acting_as(account))
    assert available(stripe_client, account) == 500

    stripe_client.v1.transfers.reversals.create(tr["id"])

    assert available(stripe_client, account) == -500
    platform = balance(stripe_client)
    assert amount_in(platform["connect_reserved"]) == 500
    assert amount_in(platform["available"]) == funds - 500


def test_list_filtered_by_destination(stripe_client: stripe.StripeClient) -> None:
    fund_platform(stripe_client)
    first, second = new_account_id(stripe_client), new_account_id(stripe_client)
    a = transfer(stripe_client, 100, first)
    b = transfer(stripe_client, 200, second)
    c = transfer(stripe_client, 300, first)

    everything = as_dict(stripe_client.v1.transfers.list())
    assert everything["url"] == "/v1/transfers"
    assert [t["id"] for t in everything["data"]] == [c["id"], b["id"], a["id"]]
    for t in everything["data"]:
        checked(t, "transfer")
    to_first = as_dict(stripe_client.v1.transfers.list({"destination": first}))["data"]
    assert [t["id"] for t in to_first] == [c["id"], a["id"]]


def test_only_the_platform_transfers(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    other = new_account_id(stripe_client)
    with pytest.raises(stripe.PermissionError):
        stripe_client.v1.transfers.create(
            {"amount": 100, "currency": "usd", "destination": other}, acting_as(account)
        )


def test_an_unknown_destination_is_refused(http: httpx.Client, stripe_client: stripe.StripeClient) -> None:
    fund_platform(stripe_client)
    response = http.post(
        "/v1/transfers", data={"amount": 100, "currency": "usd", "destination": "acct_" + "2" * 16}
    )
    assert response.status_code in (400, 404)
    error = error_of(response, response.status_code)
    assert error["param"] == "destination"


def test_a_transfer_from_bank_account_funds_keeps_its_source_type(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.topups.create({"amount": 5000, "currency": "usd", "source": "btok_us_verified"})
    account = new_account_id(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as raised:  # card is the default source type
        transfer(stripe_client, 1000, account)
    assert raised.value.code == "balance_insufficient"

    tr = transfer(stripe_client, 1000, account, source_type="bank_account")

    assert tr["source_type"] == "bank_account"
    connected = balance(stripe_client, account)["available"]
    assert amount_in(connected) == 1000
    assert connected[0]["source_types"].get("bank_account") == 1000
    assert balance(stripe_client)["available"][0]["source_types"]["bank_account"] == 4000
