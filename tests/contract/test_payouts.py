"""Payouts through the official SDK: creating, refusing, the lifecycle on the simulated rail, failures,
cancels and reversals. Every payout and balance transaction is checked against Stripe's schema."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.contract.helpers import (
    DAY,
    MIDNIGHT_JAN_1,
    acting_as,
    advance,
    as_dict,
    available,
    balance,
    checked,
    error_of,
    fund_platform,
    new_account_id,
    txn,
    txn_list,
)
from tests.support.ledger import assert_ledger_ok


def manual_account(client: stripe.StripeClient, bank: str = "btok_us_verified", **params: Any) -> str:
    """A custom account on a manual schedule with a US bank account, funded with 5,000 by transfer."""
    fund_platform(client, 20_000)
    account = new_account_id(client, settings={"payouts": {"schedule": {"interval": "manual"}}}, **params)
    client.v1.accounts.external_accounts.create(account, {"external_account": bank})
    client.v1.transfers.create({"amount": 5000, "currency": "usd", "destination": account})
    return account


def payout(client: stripe.StripeClient, account: str | None, amount: int, **params: Any) -> dict[str, Any]:
    options = acting_as(account) if account else None
    return checked(
        client.v1.payouts.create({"amount": amount, "currency": "usd", **params}, options), "payout"
    )


def get_payout(client: stripe.StripeClient, account: str | None, payout_id: str) -> dict[str, Any]:
    options = acting_as(account) if account else None
    return checked(client.v1.payouts.retrieve(payout_id, options=options), "payout")


def post_as(http: httpx.Client, account: str, path: str, **data: Any) -> httpx.Response:
    return http.post(path, data=data, headers={"Stripe-Account": account})


def test_a_standard_payout_debits_the_balance_and_goes_pending_in_transit_paid(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = manual_account(stripe_client)
    po = payout(stripe_client, account, 1200, description="weekly", metadata={"k": "v"})
    assert po["status"] == "pending"
    assert po["automatic"] is False
    assert po["method"] == "standard"
    assert po["type"] == "bank_account"
    assert po["reconciliation_status"] == "not_applicable"
    assert po["metadata"] == {"k": "v"}
    assert available(stripe_client, account) == 5000 - 1200
    bt = txn(stripe_client, po["balance_transaction"], account)
    assert (bt["type"], bt["amount"], bt["net"], bt["source"], bt["status"]) == (
        "payout",
        -1200,
        -1200,
        po["id"],
        "available",
    )
    # Submitted an hour later; arrives at 00:00 UTC two business days after (Thu → Mon 2026-01-05).
    assert po["arrival_date"] == MIDNIGHT_JAN_1 + 4 * DAY
    advance(http, seconds=3600)
    assert get_payout(stripe_client, account, po["id"])["status"] == "in_transit"
    advance(http, to=po["arrival_date"])
    paid = get_payout(stripe_client, account, po["id"])
    assert paid["status"] == "paid"
    assert paid["trace_id"]["status"] == "supported"
    assert available(stripe_client, account) == 3800
    assert_ledger_ok(database_url)


def test_payout_refusals_each_have_their_own_error_and_change_nothing(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = manual_account(stripe_client)
    daily = new_account_id(stripe_client)
    stripe_client.v1.accounts.external_accounts.create(daily, {"external_account": "btok_us_verified"})

    err = error_of(post_as(http, daily, "/v1/payouts", amount=100, currency="usd"), 400)
    assert (err["code"], err["param"]) == ("payouts_not_allowed", "method")

    err = error_of(post_as(http, account, "/v1/payouts", amount=5001, currency="usd"), 400)
    assert err["code"] == "balance_insufficient"

    err = error_of(post_as(http, account, "/v1/payouts", amount=100, currency="eur"), 400)
    assert err["param"] == "destination"

    err = error_of(post_as(http, account, "/v1/payouts", amount=0, currency="usd"), 400)
    assert err["param"] == "amount"

    err = error_of(
        post_as(http, account, "/v1/payouts", amount=100, currency="usd", destination="ba_nope12345678"), 404
    )
    assert err["param"] == "destination"

    err = error_of(
        post_as(http, account, "/v1/payouts", amount=100, currency="usd", statement_descriptor="x" * 23), 400
    )
    assert err["param"] == "statement_descriptor"

    assert available(stripe_client, account) == 5000
    assert as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"] == []


def test_standard_only_destination_refuses_instant(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = manual_account(stripe_client)
    ba = as_dict(
        stripe_client.v1.accounts.external_accounts.create(
            account,
            {
                "external_account": {
                    "object": "bank_account",
                    "account_number": "000888888883",
                    "routing_number": "110000000",
                    "country": "US",
                    "currency": "usd",
                }
            },
        )
    )
    err = error_of(
        post_as(
            http, account, "/v1/payouts", amount=100, currency="usd", method="instant", destination=ba["id"]
        ),
        400,
    )
    assert (err["code"], err["param"]) == ("instant_payouts_unsupported", "method")


@pytest.mark.parametrize(
    ("bank", "code", "late"),
    [
        ("btok_us_verified_noAccount", "no_account", False),
        ("btok_us_verified_accountClosed", "account_closed", True),
    ],
)
def test_a_failed_payout_returns_the_funds_and_errors_the_bank_account(
    stripe_client: stripe.StripeClient,
    http: httpx.Client,
    database_url: str,
    bank: str,
    code: str,
    late: bool,
) -> None:
    account = manual_account(stripe_client, bank=bank)
    po = payout(stripe_client, account, 2000)
    advance(http, to=po["arrival_date"])
    at_arrival = get_payout(stripe_client, account, po["id"])
    assert at_arrival["status"] == ("paid" if late else "failed")
    if late:
        assert available(stripe_client, account) == 3000
        advance(http, seconds=3 * DAY)
    failed = get_payout(stripe_client, account, po["id"])
    assert failed["status"] == "failed"
    assert failed["failure_code"] == code
    assert failed["failure_message"]
    back = txn(stripe_client, failed["failure_balance_transaction"], account)
    assert (back["type"], back["amount"], back["source"]) == ("payout_failure", 2000, po["id"])
    assert available(stripe_client, account) == 5000
    ea = as_dict(stripe_client.v1.accounts.external_accounts.retrieve(account, po["destination"]))
    assert ea["status"] == "errored"
    err = error_of(post_as(http, account, "/v1/payouts", amount=100, currency="usd"), 400)
    assert err["code"] == "bank_account_unusable"
    # Updating the account's details makes it usable again.
    stripe_client.v1.accounts.external_accounts.update(
        account, po["destination"], {"metadata": {"fixed": "1"}}
    )
    assert payout(stripe_client, account, 100)["status"] == "pending"
    assert_ledger_ok(database_url)


def test_cancel_returns_a_pending_payout_and_refuses_once_it_left(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = manual_account(stripe_client)
    po = payout(stripe_client, account, 700)
    canceled = checked(stripe_client.v1.payouts.cancel(po["id"], options=acting_as(account)), "payout")
    assert canceled["status"] == "canceled"
    back = txn(stripe_client, canceled["failure_balance_transaction"], account)
    assert (back["type"], back["amount"]) == ("payout_cancel", 700)
    assert available(stripe_client, account) == 5000

    again = error_of(post_as(http, account, f"/v1/payouts/{po['id']}/cancel"), 400)
    assert again["code"] == "payout_not_cancelable"

    po2 = payout(stripe_client, account, 300)
    advance(http, seconds=3600)
    err = error_of(post_as(http, account, f"/v1/payouts/{po2['id']}/cancel"), 400)
    assert err["code"] == "payout_not_cancelable"
    assert available(stripe_client, account) == 4700
    assert_ledger_ok(database_url)


def test_list_and_update_payouts(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = manual_account(stripe_client)
    first = payout(stripe_client, account, 100)
    advance(http, seconds=3600)
    second = payout(stripe_client, account, 200)
    options = acting_as(account)
    listed = as_dict(stripe_client.v1.payouts.list(options=options))
    assert [p["id"] for p in listed["data"]] == [second["id"], first["id"]]
    in_transit = as_dict(stripe_client.v1.payouts.list({"status": "in_transit"}, options))
    assert [p["id"] for p in in_transit["data"]] == [first["id"]]
    arriving = as_dict(
        stripe_client.v1.payouts.list({"arrival_date": {"lte": first["arrival_date"]}}, options)
    )
    assert {p["id"] for p in arriving["data"]} == {first["id"], second["id"]}
    none = as_dict(stripe_client.v1.payouts.list({"arrival_date": {"lt": first["arrival_date"]}}, options))
    assert none["data"] == []
    by_dest = as_dict(stripe_client.v1.payouts.list({"destination": first["destination"]}, options))
    assert len(by_dest["data"]) == 2
    updated = checked(
        stripe_client.v1.payouts.update(first["id"], {"metadata": {"a": "1"}}, options), "payout"
    )
    assert updated["metadata"] == {"a": "1"}
    err = error_of(post_as(http, account, f"/v1/payouts/{first['id']}", amount=5), 400)
    assert err["param"] == "amount"
    # Another account cannot see it.
    assert error_of(http.get(f"/v1/payouts/{first['id']}"), 404)["param"] == "payout"


def test_automatic_daily_payouts_sweep_available_funds(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(stripe_client)  # daily, delay 2
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    tr = as_dict(
        stripe_client.v1.transfers.create({"amount": 3000, "currency": "usd", "destination": account})
    )
    advance(http, to=MIDNIGHT_JAN_1 + DAY)  # Friday 00:00: the daily run
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert len(payouts) == 1
    po = checked(payouts[0], "payout")
    assert (po["automatic"], po["amount"], po["reconciliation_status"]) == (True, 3000, "in_progress")
    assert available(stripe_client, account) == 0
    swept = txn_list(stripe_client, account, payout=po["id"])["data"]
    assert {t["type"] for t in swept} == {"payment", "payout"}
    assert sum(t["net"] for t in swept) == 0
    assert tr["destination_payment"] in {t["source"] for t in swept}
    err = error_of(post_as(http, account, f"/v1/payouts/{po['id']}/cancel"), 400)
    assert err["code"] == "payout_not_cancelable"
    advance(http, to=po["arrival_date"])
    done = get_payout(stripe_client, account, po["id"])
    assert (done["status"], done["reconciliation_status"]) == ("paid", "completed")
    # Nothing more to pay: later runs make no payout.
    advance(http, seconds=3 * DAY)
    assert len(as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]) == 1
    assert_ledger_ok(database_url)


def test_weekly_schedule_pays_out_on_its_anchor_day(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(
        stripe_client,
        settings={"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "wednesday"}}},
    )
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    stripe_client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account})
    advance(http, to=MIDNIGHT_JAN_1 + 5 * DAY)  # Tuesday: nothing yet
    assert as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"] == []
    advance(http, to=MIDNIGHT_JAN_1 + 6 * DAY)  # Wednesday 2026-01-07 00:00
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert [(p["amount"], p["created"]) for p in payouts] == [(1000, MIDNIGHT_JAN_1 + 6 * DAY)]


def test_debit_negative_balances_recovers_from_the_bank_at_the_next_run(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(
        stripe_client,
        settings={"payouts": {"schedule": {"interval": "manual"}, "debit_negative_balances": True}},
    )
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    tr = as_dict(
        stripe_client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account})
    )
    stripe_client.v1.transfers.reversals.create(tr["id"], {"amount": 1000})
    stripe_client.v1.charges.create(
        {"amount": 1000, "currency": "usd", "source": "tok_createDispute"}, acting_as(account)
    )
    negative = available(stripe_client, account)
    assert negative < 0
    platform = balance(stripe_client)
    assert platform["connect_reserved"][0]["amount"] == -negative
    advance(http, to=MIDNIGHT_JAN_1 + DAY)
    debits = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert len(debits) == 1
    debit = checked(debits[0], "payout")
    assert (debit["amount"], debit["automatic"]) == (negative, True)
    advance(http, to=debit["arrival_date"])
    assert get_payout(stripe_client, account, debit["id"])["status"] == "paid"
    assert available(stripe_client, account) >= 0
    assert balance(stripe_client)["connect_reserved"][0]["amount"] == 0
    assert_ledger_ok(database_url)
