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

# A connected account that pays its own fees, for whose losses the platform is not liable.
PAYS_OWN_FEES = {
    "fees": {"payer": "account"},
    "losses": {"payments": "stripe"},
    "stripe_dashboard": {"type": "full"},
}


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


# ---- instant payouts ----------------------------------------------------------------------------


def set_pricing(http: httpx.Client, currency: str = "usd", **entry: Any) -> dict[str, Any]:
    data = {f"currencies[{currency}][{k}]": v for k, v in entry.items()}
    response = http.post("/v1/payoutkit/instant_payout_pricing", data=data)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def instant_account(client: stripe.StripeClient, **params: Any) -> str:
    """A custom account (the platform pays its fees and is liable) with a debit card, funded 5,000."""
    fund_platform(client, 20_000)
    account = new_account_id(client, **params)
    client.v1.accounts.external_accounts.create(account, {"external_account": "tok_visa_debit"})
    client.v1.transfers.create({"amount": 5000, "currency": "usd", "destination": account})
    return account


def test_instant_payout_pricing_is_a_platform_extension(http: httpx.Client) -> None:
    assert http.get("/v1/payoutkit/instant_payout_pricing").json()["currencies"] == {}
    body = set_pricing(http, percent="1.5", minimum=50, maximum=1500)
    assert body["currencies"]["usd"] == {"percent": "1.5", "minimum": 50, "maximum": 1500, "source": "api"}
    bad = http.post("/v1/payoutkit/instant_payout_pricing", data={"currencies[usd][percent]": "1.555"})
    assert error_of(bad, 400)["param"] == "currencies[usd][percent]"
    bad = http.post("/v1/payoutkit/instant_payout_pricing", data={"currencies[xyz][percent]": "1"})
    assert error_of(bad, 400)["param"] == "currencies[xyz]"
    removed = http.post("/v1/payoutkit/instant_payout_pricing", data={"currencies[usd]": ""})
    assert removed.json()["currencies"] == {}
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    refused = http.get("/v1/payoutkit/instant_payout_pricing", headers={"Stripe-Account": account})
    assert error_of(refused, 403)["message"]


def test_instant_payouts_need_platform_pricing_when_the_platform_pays_fees(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = instant_account(stripe_client)
    err = error_of(post_as(http, account, "/v1/payouts", amount=1000, currency="usd", method="instant"), 400)
    assert err["code"] == "instant_payouts_config_disabled"
    bal = balance(stripe_client, account)
    assert bal["instant_available"][0]["amount"] == 0

    set_pricing(http, percent="1.5", minimum=50, maximum=1500)
    bal = balance(stripe_client, account)
    instant = bal["instant_available"][0]
    assert instant["amount"] == 5000
    # The largest payout whose amount plus its 1.5 % (min 50) fee fits in 5,000: 4,926 + 74 = 5,000.
    [net] = instant["net_available"]
    assert net["amount"] == 4926
    platform_before = available(stripe_client)

    po = payout(stripe_client, account, 2000, method="instant")
    assert (po["method"], po["type"], po["application_fee_amount"]) == ("instant", "card", 50)
    assert po["application_fee"].startswith("fee_")
    assert po["arrival_date"] - po["created"] <= 30 * 60
    bt = txn(stripe_client, po["balance_transaction"], account)
    assert (bt["amount"], bt["fee"], bt["net"]) == (-2000, 50, -2050)
    assert [f["type"] for f in bt["fee_details"]] == ["application_fee"]
    # The platform earns 50 and pays the processing fee (1 %, minimum 50) for the account.
    assert available(stripe_client) == platform_before + 50 - 50
    assert available(stripe_client, account) == 2950
    err = error_of(post_as(http, account, f"/v1/payouts/{po['id']}/cancel"), 400)
    assert err["code"] == "payout_not_cancelable"
    advance(http, seconds=15 * 60)
    assert get_payout(stripe_client, account, po["id"])["status"] == "paid"
    assert_ledger_ok(database_url)


def test_an_account_that_pays_its_own_fees_pays_the_processing_fee(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = instant_account(
        stripe_client,
        controller=PAYS_OWN_FEES,
    )
    # No platform pricing needed: the platform does not pay this account's fees.
    po = payout(stripe_client, account, 2000, method="instant")
    bt = txn(stripe_client, po["balance_transaction"], account)
    assert (bt["fee"], [f["type"] for f in bt["fee_details"]]) == (50, ["stripe_fee"])
    assert po["application_fee_amount"] is None
    assert available(stripe_client, account) == 5000 - 2050


@pytest.mark.parametrize("server_settings", [{"instant_daily_limits": {"*": 3000}}], indirect=True)
def test_instant_payouts_have_a_daily_limit_that_resets_at_local_midnight(
    server: Any, stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = instant_account(
        stripe_client,
        controller=PAYS_OWN_FEES,
        settings={"payouts": {"schedule": {"interval": "manual"}}},
    )
    limit = server.settings.instant_daily_limits["*"]
    assert limit == 3000
    payout(stripe_client, account, limit - 1000, method="instant")
    err = error_of(post_as(http, account, "/v1/payouts", amount=1001, currency="usd", method="instant"), 400)
    assert (err["code"], err["param"]) == ("instant_payouts_limit_exceeded", "amount")
    assert balance(stripe_client, account)["instant_available"][0]["amount"] == 1000
    payout(stripe_client, account, 1000, method="instant")
    # 10:00 UTC is 04:00 in Chicago: the day resets at 06:00 UTC tomorrow, not at midnight UTC.
    advance(http, to=MIDNIGHT_JAN_1 + DAY + 5 * 3600)
    err = error_of(post_as(http, account, "/v1/payouts", amount=100, currency="usd", method="instant"), 400)
    assert err["code"] == "instant_payouts_limit_exceeded"
    advance(http, to=MIDNIGHT_JAN_1 + DAY + 6 * 3600)
    payout(stripe_client, account, 100, method="instant")


def test_a_liable_platform_needs_a_domestic_account_for_instant_payouts(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    set_pricing(http, currency="gbp", percent="1")
    set_pricing(http, currency="usd", percent="1")
    account = new_account_id(stripe_client, country="GB")
    stripe_client.v1.accounts.external_accounts.create(
        account,
        {
            "external_account": {
                "object": "bank_account",
                "account_number": "00012345",
                "country": "GB",
                "currency": "gbp",
                "routing_number": "108800",
            }
        },
    )
    err = error_of(post_as(http, account, "/v1/payouts", amount=100, currency="gbp", method="instant"), 400)
    assert err["code"] == "instant_payouts_unsupported"
    assert "platform's country" in err["message"]


# ---- reversals ------------------------------------------------------------------------------------


def test_reversing_a_paid_payout_brings_the_money_back_once(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = manual_account(stripe_client)
    po = payout(stripe_client, account, 1500)
    err = error_of(post_as(http, account, f"/v1/payouts/{po['id']}/reverse"), 400)
    assert err["code"] == "payout_not_reversible"  # pending: cancel it instead
    advance(http, to=po["arrival_date"])
    reversal = checked(
        stripe_client.v1.payouts.reverse(
            po["id"], {"metadata": {"why": "wrong account"}}, acting_as(account)
        ),
        "payout",
    )
    assert (reversal["amount"], reversal["original_payout"], reversal["status"]) == (
        -1500,
        po["id"],
        "pending",
    )
    assert get_payout(stripe_client, account, po["id"])["reversed_by"] == reversal["id"]
    credit = txn(stripe_client, reversal["balance_transaction"], account)
    assert (credit["type"], credit["amount"], credit["status"]) == ("payout", 1500, "pending")
    err = error_of(post_as(http, account, f"/v1/payouts/{po['id']}/reverse"), 400)
    assert err["code"] == "payout_not_reversible"
    advance(http, to=reversal["arrival_date"])
    assert get_payout(stripe_client, account, reversal["id"])["status"] == "paid"
    assert available(stripe_client, account) == 5000
    assert_ledger_ok(database_url)


def test_only_a_liable_platform_reverses_payouts(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(
        stripe_client,
        controller=PAYS_OWN_FEES,
        settings={"payouts": {"schedule": {"interval": "manual"}}},
    )
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    stripe_client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account})
    po = payout(stripe_client, account, 500)
    advance(http, to=po["arrival_date"])
    assert error_of(post_as(http, account, f"/v1/payouts/{po['id']}/reverse"), 403)["message"]


def test_a_failed_automatic_payout_stops_automatic_payouts_until_the_account_is_updated(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(stripe_client)  # daily
    ba = as_dict(
        stripe_client.v1.accounts.external_accounts.create(
            account, {"external_account": "btok_us_verified_noAccount"}
        )
    )
    stripe_client.v1.transfers.create({"amount": 2000, "currency": "usd", "destination": account})
    advance(http, to=MIDNIGHT_JAN_1 + DAY)
    [first] = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    advance(http, to=first["arrival_date"])
    failed = get_payout(stripe_client, account, first["id"])
    assert (failed["status"], failed["failure_code"]) == ("failed", "no_account")
    # The funds came back and are no longer marked as swept by the failed payout.
    assert txn_list(stripe_client, account, payout=first["id"])["data"] == []
    assert available(stripe_client, account) == 2000
    advance(http, seconds=3 * DAY)
    assert len(as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]) == 1
    stripe_client.v1.accounts.external_accounts.update(account, ba["id"], {"account_holder_name": "Jo"})
    advance(http, seconds=DAY)
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert [p["amount"] for p in payouts] == [2000, 2000]
    assert_ledger_ok(database_url)


def test_funds_a_late_return_brings_back_at_midnight_go_out_in_that_midnights_run(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    """The return and the daily run fall on the same moment, in one unit of work: the run must see the
    returned funds (the return's bucket move is deferred to the unit's end), not wait a day."""
    fund_platform(stripe_client, 20_000)
    account = new_account_id(stripe_client)  # daily
    stripe_client.v1.accounts.external_accounts.create(
        account, {"external_account": "btok_us_verified_accountClosed"}
    )
    stripe_client.v1.transfers.create({"amount": 2000, "currency": "usd", "destination": account})
    advance(http, to=MIDNIGHT_JAN_1 + DAY)  # Friday 00:00
    [first] = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    # A new default bank account before the first one's money comes back.
    stripe_client.v1.accounts.external_accounts.create(
        account, {"external_account": "btok_us_verified", "default_for_currency": True}
    )
    advance(http, to=first["arrival_date"] + DAY)  # paid at arrival, returned a business day later
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    failed = next(p for p in payouts if p["id"] == first["id"])
    assert (failed["status"], failed["failure_code"]) == ("failed", "account_closed")
    returned_at = txn(stripe_client, failed["failure_balance_transaction"], account)["created"]
    again = [p for p in payouts if p["id"] != first["id"]]
    assert [(p["amount"], p["created"]) for p in again] == [(2000, returned_at)]
    assert returned_at % DAY == 0  # a midnight: the daily run's moment
    assert_ledger_ok(database_url)


def test_monthly_anchor_31_pays_out_on_the_last_day_of_february(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(
        stripe_client, settings={"payouts": {"schedule": {"interval": "monthly", "monthly_anchor": 31}}}
    )
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    stripe_client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account})
    advance(http, to=MIDNIGHT_JAN_1 + 30 * DAY)  # 2026-01-31 00:00
    stripe_client.v1.transfers.create({"amount": 700, "currency": "usd", "destination": account})
    advance(http, to=MIDNIGHT_JAN_1 + 60 * DAY)  # 2026-03-02
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    feb_28 = MIDNIGHT_JAN_1 + 58 * DAY
    assert [(p["amount"], p["created"]) for p in payouts] == [
        (700, feb_28),
        (1000, MIDNIGHT_JAN_1 + 30 * DAY),
    ]


def test_changing_the_schedule_moves_the_next_automatic_run(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(stripe_client)  # daily: the next run is Friday 00:00
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    stripe_client.v1.transfers.create({"amount": 900, "currency": "usd", "destination": account})
    stripe_client.v1.accounts.update(
        account, {"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "tuesday"}}}}
    )
    advance(http, to=MIDNIGHT_JAN_1 + 4 * DAY)  # through Friday and the weekend to Monday: no run
    assert as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"] == []
    advance(http, to=MIDNIGHT_JAN_1 + 5 * DAY)  # Tuesday 2026-01-06
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert [(p["amount"], p["created"]) for p in payouts] == [(900, MIDNIGHT_JAN_1 + 5 * DAY)]


def test_a_reversal_still_pending_when_its_payout_fails_is_canceled(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = manual_account(stripe_client, bank="btok_us_verified_accountClosed")
    po = payout(stripe_client, account, 1500)
    # Paid at arrival; returned one business day later (Monday → Tuesday 00:00).
    advance(http, to=po["arrival_date"] + DAY - 1800)
    assert get_payout(stripe_client, account, po["id"])["status"] == "paid"
    reversal = checked(stripe_client.v1.payouts.reverse(po["id"], options=acting_as(account)), "payout")
    advance(http, seconds=1800)
    assert get_payout(stripe_client, account, po["id"])["status"] == "failed"
    canceled = get_payout(stripe_client, account, reversal["id"])
    assert canceled["status"] == "canceled"
    back = txn(stripe_client, canceled["failure_balance_transaction"], account)
    assert (back["type"], back["amount"]) == ("payout_cancel", -1500)
    advance(http, seconds=5 * DAY)
    # The original's return brought the 1,500 back once; the canceled reversal added nothing.
    assert available(stripe_client, account) == 5000
    assert_ledger_ok(database_url)


def test_a_debit_card_that_fails_transfers_fails_the_instant_payout_and_refunds_its_fees(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    fund_platform(stripe_client, 20_000)
    account = new_account_id(
        stripe_client,
        controller=PAYS_OWN_FEES,
        settings={"payouts": {"schedule": {"interval": "manual"}}},
    )
    stripe_client.v1.accounts.external_accounts.create(
        account, {"external_account": "tok_visa_debit_us_transferFail"}
    )
    stripe_client.v1.transfers.create({"amount": 5000, "currency": "usd", "destination": account})
    po = payout(stripe_client, account, 2000, method="instant")
    assert available(stripe_client, account) == 5000 - 2000 - 50
    advance(http, seconds=15 * 60)
    failed = get_payout(stripe_client, account, po["id"])
    assert (failed["status"], failed["failure_code"], failed["type"]) == (
        "failed",
        "could_not_process",
        "card",
    )
    assert available(stripe_client, account) == 5000  # the amount and the processing fee came back
    card = as_dict(stripe_client.v1.accounts.external_accounts.retrieve(account, po["destination"]))
    assert card["status"] == "errored"
    assert_ledger_ok(database_url)
