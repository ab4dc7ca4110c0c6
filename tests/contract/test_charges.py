"""Charges, refunds and disputes through the official SDK: the funds that come in and go back out."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.contract.helpers import (
    DISPUTE_FEE,
    acting_as,
    amount_in,
    as_dict,
    available,
    balance,
    card_fee,
    charge,
    checked,
    error_of,
    fund_platform,
    new_account_id,
    pending,
    txn,
    txn_list,
)
from tests.support.openapi import assert_matches_schema


def by_type(txns: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for t in txns:
        out.setdefault(t["type"], []).append(t)
    return out


# -- destination and direct charges ---------------------------------------------------------------


def test_a_destination_charge_pays_the_connected_account_less_the_application_fee(
    stripe_client: stripe.StripeClient,
) -> None:
    account = new_account_id(stripe_client)

    ch = charge(stripe_client, 1000, transfer_data={"destination": account}, application_fee_amount=200)

    assert ch["status"] == "succeeded"
    assert ch["transfer"].startswith("tr_")
    assert ch["transfer_data"]["destination"] == account
    assert ch["application_fee"].startswith("fee_")
    assert ch["application_fee_amount"] == 200
    # The connected account gets the amount less the application fee, pending like the charge.
    assert pending(stripe_client, account) == 800
    assert available(stripe_client, account) == 0
    # The platform keeps what is left after the processing fee: the application fee.
    assert pending(stripe_client) == 1000 - 59 - 1000 + 200

    platform_txns = by_type(txn_list(stripe_client)["data"])
    assert [t["amount"] for t in platform_txns["charge"]] == [1000]
    assert [t["fee"] for t in platform_txns["charge"]] == [59]
    assert [t["amount"] for t in platform_txns["transfer"]] == [-1000]
    assert [t["amount"] for t in platform_txns["application_fee"]] == [200]

    (payment,) = txn_list(stripe_client, account)["data"]
    assert (payment["type"], payment["amount"], payment["fee"], payment["net"]) == ("payment", 1000, 200, 800)
    assert [(f["type"], f["amount"]) for f in payment["fee_details"]] == [("application_fee", 200)]
    platform_id = as_dict(stripe_client.v1.accounts.retrieve_current())["id"]
    assert payment["fee_details"][0]["application"] == platform_id


def test_a_destination_charge_expands_its_transfer_and_application_fee(
    stripe_client: stripe.StripeClient,
) -> None:
    account = new_account_id(stripe_client)
    ch = charge(stripe_client, 1000, transfer_data={"destination": account}, application_fee_amount=200)

    got = as_dict(
        stripe_client.v1.charges.retrieve(
            ch["id"], {"expand": ["transfer", "application_fee", "balance_transaction"]}
        )
    )

    transfer = checked(got["transfer"], "transfer")
    assert transfer["id"] == ch["transfer"]
    assert (transfer["amount"], transfer["destination"]) == (1000, account)
    assert transfer["source_transaction"] == ch["id"]
    assert got["application_fee"]["id"] == ch["application_fee"]
    assert got["application_fee"]["amount"] == 200
    assert got["application_fee"]["account"] == account
    bt = checked(got["balance_transaction"], "balance_transaction")
    assert (bt["amount"], bt["fee"]) == (1000, 59)

    # The connected account sees the payment the transfer made.
    payment = as_dict(
        stripe_client.v1.charges.retrieve(transfer["destination_payment"], options=acting_as(account))
    )
    assert payment["amount"] == 1000
    assert payment["source_transfer"] == transfer["id"]


def test_a_destination_charge_with_a_transfer_amount(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)

    charge(stripe_client, 1000, transfer_data={"destination": account, "amount": 700})

    assert pending(stripe_client, account) == 700
    assert pending(stripe_client) == 1000 - 59 - 700


def test_a_direct_charge_on_a_connected_account(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)

    ch = charge(stripe_client, 1000, account=account, application_fee_amount=100)

    t = txn(stripe_client, ch["balance_transaction"], account)
    assert (t["amount"], t["fee"], t["net"]) == (1000, 159, 841)
    assert sorted((f["type"], f["amount"]) for f in t["fee_details"]) == [
        ("application_fee", 100),
        ("stripe_fee", 59),
    ]
    assert pending(stripe_client, account) == 841
    assert pending(stripe_client) == 100  # the application fee, pending like the charge
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.charges.retrieve(ch["id"])  # it is the connected account's charge
    assert raised.value.http_status == 404


def test_an_application_fee_needs_a_connected_account(http: httpx.Client) -> None:
    response = http.post(
        "/v1/charges",
        data={"amount": 1000, "currency": "usd", "source": "tok_visa", "application_fee_amount": 100},
    )
    assert error_of(response, 400)["param"] == "application_fee_amount"


def test_a_destination_must_be_a_connected_account(http: httpx.Client) -> None:
    response = http.post(
        "/v1/charges",
        data={
            "amount": 1000,
            "currency": "usd",
            "source": "tok_visa",
            "transfer_data[destination]": "acct_" + "9" * 16,
        },
    )
    # Stripe answers a missing object named by a parameter with resource_missing; 400 or 404 both occur.
    error = error_of(response, response.status_code)
    assert response.status_code in (400, 404)
    assert error["param"] == "transfer_data[destination]"
    assert error["code"] == "resource_missing"


# -- declines -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "code", "decline_code"),
    [
        ("tok_chargeDeclined", "card_declined", "generic_decline"),
        ("tok_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("tok_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    ],
)
def test_a_declined_card_raises_card_error_and_keeps_the_failed_charge(
    stripe_client: stripe.StripeClient, http: httpx.Client, token: str, code: str, decline_code: str
) -> None:
    with pytest.raises(stripe.CardError) as raised:
        charge(stripe_client, 1000, token)

    err = raised.value
    assert err.http_status == 402
    assert err.code == code
    assert err.error is not None
    assert err.error.decline_code == decline_code
    assert err.error.type == "card_error"
    charge_id = err.error.charge
    assert charge_id is not None
    assert charge_id.startswith("ch_")

    failed = as_dict(stripe_client.v1.charges.retrieve(charge_id))
    assert failed["status"] == "failed"
    assert failed["paid"] is False
    assert failed["failure_code"] == code
    assert failed["balance_transaction"] is None
    assert [c["id"] for c in as_dict(stripe_client.v1.charges.list())["data"]] == [charge_id]
    # No money moved.
    assert txn_list(stripe_client)["data"] == []
    assert pending(stripe_client) == 0

    body = error_of(http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": token}), 402)
    assert body["decline_code"] == decline_code


# -- refunds ------------------------------------------------------------------------------------------


def test_partial_then_full_refunds(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 1000, "tok_bypassPending")
    assert available(stripe_client) == 941

    first = as_dict(stripe_client.v1.refunds.create({"charge": ch["id"], "amount": 300}))
    assert (first["object"], first["amount"], first["status"]) == ("refund", 300, "succeeded")
    assert available(stripe_client) == 641
    partly = as_dict(stripe_client.v1.charges.retrieve(ch["id"]))
    assert (partly["amount_refunded"], partly["refunded"]) == (300, False)

    rest = as_dict(stripe_client.v1.refunds.create({"charge": ch["id"]}))
    assert rest["amount"] == 700
    refunded = as_dict(stripe_client.v1.charges.retrieve(ch["id"]))
    assert (refunded["amount_refunded"], refunded["refunded"]) == (1000, True)
    # The processing fee is not returned.
    assert available(stripe_client) == -59

    refund_txn = txn(stripe_client, first["balance_transaction"])
    assert (refund_txn["type"], refund_txn["amount"], refund_txn["fee"]) == ("refund", -300, 0)
    assert refund_txn["source"] == first["id"]
    listed = as_dict(stripe_client.v1.refunds.list({"charge": ch["id"]}))["data"]
    assert [r["id"] for r in listed] == [rest["id"], first["id"]]


def test_a_refund_larger_than_the_rest_is_refused(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000, "tok_bypassPending")
    stripe_client.v1.refunds.create({"charge": ch["id"], "amount": 600})

    error = error_of(http.post("/v1/refunds", data={"charge": ch["id"], "amount": 401}), 400)

    assert error["param"] == "amount"
    assert error["type"] == "invalid_request_error"
    assert available(stripe_client) == 941 - 600
    assert as_dict(stripe_client.v1.charges.retrieve(ch["id"]))["amount_refunded"] == 600

    stripe_client.v1.refunds.create({"charge": ch["id"]})
    again = error_of(http.post("/v1/refunds", data={"charge": ch["id"], "amount": 1}), 400)
    assert again["code"] == "charge_already_refunded"


def test_a_refund_drives_a_custom_account_negative_and_the_platform_reserves_it(
    stripe_client: stripe.StripeClient,
) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    ch = charge(stripe_client, 1000, "tok_bypassPending", account=account)

    stripe_client.v1.refunds.create({"charge": ch["id"]}, options=acting_as(account))

    assert available(stripe_client, account) == -59
    platform = balance(stripe_client)
    assert amount_in(platform["connect_reserved"]) == 59
    assert amount_in(platform["available"]) == funds - 59
    reserves = [t for t in txn_list(stripe_client)["data"] if t["type"] == "reserve_transaction"]
    assert [t["amount"] for t in reserves] == [-59]


def test_the_reserve_is_released_when_the_account_recovers(stripe_client: stripe.StripeClient) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    ch = charge(stripe_client, 1000, "tok_bypassPending", account=account)
    stripe_client.v1.refunds.create({"charge": ch["id"]}, options=acting_as(account))

    stripe_client.v1.transfers.create({"amount": 100, "currency": "usd", "destination": account})

    assert available(stripe_client, account) == 41
    platform = balance(stripe_client)
    assert amount_in(platform["connect_reserved"]) == 0
    assert amount_in(platform["available"]) == funds - 100


def test_no_reserve_when_the_platform_is_not_liable(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client, controller={"stripe_dashboard": {"type": "full"}})
    ch = charge(stripe_client, 1000, "tok_bypassPending", account=account)

    stripe_client.v1.refunds.create({"charge": ch["id"]}, options=acting_as(account))

    assert available(stripe_client, account) == -59
    assert amount_in(balance(stripe_client)["connect_reserved"]) == 0
    assert available(stripe_client) == 0


# -- disputes -----------------------------------------------------------------------------------------


def test_a_dispute_withdraws_the_amount_and_a_dispute_fee(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000, "tok_createDispute")
    assert as_dict(stripe_client.v1.charges.retrieve(ch["id"]))["disputed"] is True

    (dispute,) = as_dict(stripe_client.v1.disputes.list())["data"]
    assert_matches_schema(dispute, "dispute")
    assert dispute["object"] == "dispute"
    assert dispute["id"].startswith("dp_")
    assert (dispute["charge"], dispute["amount"], dispute["currency"]) == (ch["id"], 1000, "usd")
    assert dispute["status"] == "needs_response"
    assert as_dict(stripe_client.v1.disputes.retrieve(dispute["id"]))["id"] == dispute["id"]

    # The dispute's balance transactions are objects, not ids, as in Stripe's schema.
    (listed,) = dispute["balance_transactions"]
    withdrawal = txn(stripe_client, listed["id"])
    assert listed == withdrawal
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-1000, DISPUTE_FEE, -2500)
    assert [(f["type"], f["amount"]) for f in withdrawal["fee_details"]] == [("stripe_fee", DISPUTE_FEE)]
    assert withdrawal["source"] == dispute["id"]
    assert withdrawal["reporting_category"] == "dispute"

    got = balance(stripe_client)
    assert amount_in(got["pending"]) == 1000 - card_fee(1000)
    assert amount_in(got["available"]) == -2500

    error = error_of(http.post("/v1/refunds", data={"charge": ch["id"]}), 400)
    assert error["code"] == "charge_disputed"


def test_refunding_a_destination_charge_can_reverse_the_transfer_and_the_fee(
    stripe_client: stripe.StripeClient,
) -> None:
    account = new_account_id(stripe_client)
    ch = charge(
        stripe_client,
        1000,
        "tok_bypassPending",
        transfer_data={"destination": account},
        application_fee_amount=200,
    )
    assert available(stripe_client, account) == 800
    assert available(stripe_client) == 141

    refund = as_dict(
        stripe_client.v1.refunds.create(
            {"charge": ch["id"], "reverse_transfer": True, "refund_application_fee": True}
        )
    )

    assert refund["transfer_reversal"].startswith("trr_")
    assert available(stripe_client, account) == 0
    # The platform pays the customer back, gets the transfer back, returns its fee: it is out the
    # processing fee, as with Stripe.
    assert available(stripe_client) == -59
    transfer = checked(stripe_client.v1.transfers.retrieve(ch["transfer"]), "transfer")
    assert (transfer["amount_reversed"], transfer["reversed"]) == (1000, True)


def test_a_longer_delay_days_holds_card_funds_longer(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    stripe_client.v1.accounts.update(account, {"settings": {"payouts": {"schedule": {"delay_days": 5}}}})

    ch = charge(stripe_client, 1000, account=account)
    bypass = charge(stripe_client, 1000, "tok_bypassPending", account=account)

    # Thursday 2026-01-01 + 5 business days = Thursday 2026-01-08, 00:00 UTC.
    assert txn(stripe_client, ch["balance_transaction"], account)["available_on"] == 1767830400
    assert txn(stripe_client, bypass["balance_transaction"], account)["status"] == "available"


def test_a_dispute_on_a_custom_accounts_direct_charge_is_reserved_by_the_platform(
    stripe_client: stripe.StripeClient,
) -> None:
    account = new_account_id(stripe_client, type="custom")

    charge(stripe_client, 1000, "tok_createDispute", account=account)

    assert available(stripe_client, account) == -2500
    assert pending(stripe_client, account) == 941
    assert amount_in(balance(stripe_client)["connect_reserved"]) == 2500
