"""Refunds that reach more than one account: never more back to the outside than came in, and the
parts of a refunded charge (its transfer, its application fee) coming back exactly.

Money stories, with the arithmetic in the comments. A card charge of 10000 costs 2.9 % + 30 = 320.
"""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from tests.contract.helpers import (
    acting_as,
    amount_in,
    as_dict,
    available,
    balance,
    card_fee,
    charge,
    error_of,
    fund_platform,
    new_account_id,
    txn,
    txn_list,
)
from tests.support.ledger import assert_ledger_ok


def refund(
    client: stripe.StripeClient, charge_id: str, account: str | None = None, **params: Any
) -> dict[str, Any]:
    options = acting_as(account) if account else None
    return as_dict(client.v1.refunds.create({"charge": charge_id, **params}, options))


def transfer_of(client: stripe.StripeClient, transfer_id: str) -> dict[str, Any]:
    return as_dict(client.v1.transfers.retrieve(transfer_id))


def fee_of(client: stripe.StripeClient, charge_id: str) -> dict[str, Any]:
    """The application fee of a platform's charge."""
    got = as_dict(client.v1.charges.retrieve(charge_id, {"expand": ["application_fee"]}))
    fee: dict[str, Any] = got["application_fee"]
    return fee


def fee_refunded(client: stripe.StripeClient, account: str) -> int:
    """What came back to `account` as application fee refunds (the platform pays them, as much)."""
    got = sum(t["amount"] for t in txn_list(client, account, type="application_fee_refund")["data"])
    paid = sum(t["amount"] for t in txn_list(client, type="application_fee_refund")["data"])
    assert paid == -got
    return got


def outside_refunds(client: stripe.StripeClient, *accounts: str | None) -> int:
    """What went back to cards, over these accounts: the sum of their `refund` transactions."""
    return -sum(t["amount"] for a in accounts for t in txn_list(client, a, type="refund", limit=100)["data"])


# -- item 1: a payment that came from the platform goes back to the platform ----------------------


def test_the_account_refunds_its_destination_payment_and_the_platform_its_charge(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    """The issue's story: 10000 to an express account; the account refunds its `py_`, then the platform
    refunds the charge with reverse_transfer. The card gets 10000 back, once."""
    account = new_account_id(stripe_client, type="express")
    ch = charge(stripe_client, 10_000, "tok_bypassPending", transfer_data={"destination": account})
    payment_id = transfer_of(stripe_client, ch["transfer"])["destination_payment"]
    assert available(stripe_client, account) == 10_000
    assert available(stripe_client) == 10_000 - card_fee(10_000) - 10_000

    back = refund(stripe_client, payment_id, account)

    # The account's refund of its payment is a reversal of the transfer: the 10000 go to the platform.
    assert back["id"].startswith("pyr_")
    assert (back["charge"], back["amount"], back["status"]) == (payment_id, 10_000, "succeeded")
    assert back["source_transfer_reversal"].startswith("trr_")
    assert back["transfer_reversal"] is None
    booked = txn(stripe_client, back["balance_transaction"], account)
    assert (booked["type"], booked["amount"], booked["source"]) == ("payment_refund", -10_000, back["id"])
    assert available(stripe_client, account) == 0
    assert available(stripe_client) == -card_fee(10_000) + 10_000
    transfer = transfer_of(stripe_client, ch["transfer"])
    assert (transfer["amount_reversed"], transfer["reversed"]) == (10_000, True)
    [reversal] = transfer["reversals"]["data"]
    assert reversal["id"] == back["source_transfer_reversal"]
    assert (reversal["destination_payment_refund"], reversal["source_refund"]) == (back["id"], None)
    payment = as_dict(stripe_client.v1.charges.retrieve(payment_id, options=acting_as(account)))
    assert (payment["amount_refunded"], payment["refunded"]) == (10_000, True)
    assert outside_refunds(stripe_client, None, account) == 0

    # The platform refunds the card: the transfer has nothing left to reverse.
    card = refund(stripe_client, ch["id"], reverse_transfer=True)

    assert card["transfer_reversal"] is None
    assert outside_refunds(stripe_client, None, account) == 10_000
    assert available(stripe_client, account) == 0
    platform = balance(stripe_client)
    assert amount_in(platform["available"]) == -card_fee(10_000)
    assert amount_in(platform["connect_reserved"]) == 0
    assert transfer_of(stripe_client, ch["transfer"])["amount_reversed"] == 10_000
    # Neither can be refunded again.
    again = error_of(http.post("/v1/refunds", data={"charge": ch["id"]}), 400)
    assert again["code"] == "charge_already_refunded"
    as_account = {"Stripe-Account": account}
    again = error_of(http.post("/v1/refunds", data={"charge": payment_id}, headers=as_account), 400)
    assert again["code"] == "charge_already_refunded"
    assert_ledger_ok(database_url)


def test_the_platform_reverses_first_and_the_account_can_refund_only_the_rest(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = new_account_id(stripe_client, type="express")
    ch = charge(stripe_client, 10_000, "tok_bypassPending", transfer_data={"destination": account})
    payment_id = transfer_of(stripe_client, ch["transfer"])["destination_payment"]

    refund(stripe_client, ch["id"], amount=4_000, reverse_transfer=True)

    payment = as_dict(stripe_client.v1.charges.retrieve(payment_id, options=acting_as(account)))
    assert (payment["amount_refunded"], payment["refunded"]) == (4_000, False)
    as_account = {"Stripe-Account": account}
    too_much = error_of(
        http.post("/v1/refunds", data={"charge": payment_id, "amount": 6_001}, headers=as_account), 400
    )
    assert (too_much["code"], too_much["param"]) == ("amount_too_large", "amount")
    rest = refund(stripe_client, payment_id, account)
    assert rest["amount"] == 6_000
    assert available(stripe_client, account) == 0
    assert transfer_of(stripe_client, ch["transfer"])["amount_reversed"] == 10_000
    # The platform refunds the card the rest; nothing is left to reverse, the account stays at 0.
    refund(stripe_client, ch["id"], reverse_transfer=True)
    assert available(stripe_client, account) == 0
    assert outside_refunds(stripe_client, None, account) == 10_000
    assert_ledger_ok(database_url)


def test_refunding_the_payment_of_a_plain_transfer_returns_it_to_the_platform(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    """No card was charged for a transfer: its payment's refund goes back to the platform."""
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    tr = as_dict(
        stripe_client.v1.transfers.create({"amount": 3_000, "currency": "usd", "destination": account})
    )

    part = refund(stripe_client, tr["destination_payment"], account, amount=1_000)

    assert part["source_transfer_reversal"].startswith("trr_")
    assert available(stripe_client, account) == 2_000
    assert available(stripe_client) == funds - 3_000 + 1_000
    assert outside_refunds(stripe_client, None, account) == 0
    refund(stripe_client, tr["destination_payment"], account)
    assert available(stripe_client, account) == 0
    assert available(stripe_client) == funds
    done = transfer_of(stripe_client, tr["id"])
    assert (done["amount_reversed"], done["reversed"]) == (3_000, True)
    error = error_of(http.post(f"/v1/transfers/{tr['id']}/reversals"), 400)
    assert error["code"] == "transfer_already_reversed"
    assert_ledger_ok(database_url)


def test_reverse_transfer_on_a_payment_is_refused_and_changes_nothing(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    tr = as_dict(
        stripe_client.v1.transfers.create({"amount": 3_000, "currency": "usd", "destination": account})
    )

    response = http.post(
        "/v1/refunds",
        data={"charge": tr["destination_payment"], "reverse_transfer": "true"},
        headers={"Stripe-Account": account},
    )

    error = error_of(response, 400)
    assert (error["type"], error["param"]) == ("invalid_request_error", "reverse_transfer")
    assert available(stripe_client, account) == 3_000
    assert transfer_of(stripe_client, tr["id"])["amount_reversed"] == 0


# -- item 2: the parts of a full refund add up ------------------------------------------------------


def test_partial_refunds_reverse_the_whole_transfer_amount(
    stripe_client: stripe.StripeClient, database_url: str
) -> None:
    account = new_account_id(stripe_client, type="express")
    ch = charge(
        stripe_client, 1_000, "tok_bypassPending", transfer_data={"destination": account, "amount": 333}
    )

    refunds = [refund(stripe_client, ch["id"], amount=a, reverse_transfer=True) for a in (333, 333, 333, 1)]

    # Each refund reverses round(333 * refunded so far / 1000) less what was reversed: 111, 111, 111, 0.
    transfer = transfer_of(stripe_client, ch["transfer"])
    assert (transfer["amount_reversed"], transfer["reversed"]) == (333, True)
    assert sorted(r["amount"] for r in transfer["reversals"]["data"]) == [111, 111, 111]
    assert refunds[-1]["transfer_reversal"] is None
    assert available(stripe_client, account) == 0
    assert_ledger_ok(database_url)


def test_ten_partial_refunds_give_back_the_whole_application_fee(
    stripe_client: stripe.StripeClient, database_url: str
) -> None:
    account = new_account_id(stripe_client, type="express")
    ch = charge(
        stripe_client,
        1_000,
        "tok_bypassPending",
        transfer_data={"destination": account},
        application_fee_amount=101,
    )

    for _ in range(10):
        refund(stripe_client, ch["id"], amount=100, reverse_transfer=True, refund_application_fee=True)

    fee = fee_of(stripe_client, ch["id"])
    assert (fee["amount_refunded"], fee["refunded"]) == (101, True)
    assert transfer_of(stripe_client, ch["transfer"])["amount_reversed"] == 1_000
    # The account gave back 1000 and got its 101 fee back: it is where it started, at 0.
    assert available(stripe_client, account) == 0
    assert available(stripe_client) == -card_fee(1_000)
    assert_ledger_ok(database_url)


def test_a_refund_that_did_not_ask_for_the_fee_does_not_count_towards_it(
    stripe_client: stripe.StripeClient, database_url: str
) -> None:
    account = new_account_id(stripe_client, type="custom")
    ch = charge(stripe_client, 1_000, "tok_bypassPending", account=account, application_fee_amount=101)

    refund(stripe_client, ch["id"], account, amount=500)
    refund(stripe_client, ch["id"], account, amount=500, refund_application_fee=True)

    # Only the second half asked: round(101 * 500 / 1000) = 51 (50.5, half up).
    assert fee_refunded(stripe_client, account) == 51
    assert_ledger_ok(database_url)


# -- item 3: the fee of a direct charge ---------------------------------------------------------------


def test_a_full_refund_of_a_direct_charge_gives_back_its_application_fee(
    stripe_client: stripe.StripeClient, database_url: str
) -> None:
    funds = fund_platform(stripe_client)
    account = new_account_id(stripe_client, type="custom")
    ch = charge(stripe_client, 1_000, "tok_bypassPending", account=account, application_fee_amount=200)
    assert available(stripe_client, account) == 1_000 - card_fee(1_000) - 200
    assert available(stripe_client) == funds + 200

    refund(stripe_client, ch["id"], account, refund_application_fee=True)

    assert fee_refunded(stripe_client, account) == 200
    [earned] = txn_list(stripe_client, type="application_fee", expand=["data.source"])["data"]
    assert (earned["source"]["amount_refunded"], earned["source"]["refunded"]) == (200, True)
    # The account paid the card 1000 and got its 200 back: it is out the processing fee only.
    assert available(stripe_client, account) == -card_fee(1_000)
    assert available(stripe_client) == funds - card_fee(1_000)  # the fee back, and the reserve
    assert amount_in(balance(stripe_client)["connect_reserved"]) == card_fee(1_000)
    assert_ledger_ok(database_url)
