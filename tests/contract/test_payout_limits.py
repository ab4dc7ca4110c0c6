"""What a payout may take: never the account's available total in a currency below zero, on any path
(standard from each source type, instant, automatic), whether or not the platform is liable for the
account's losses; and HUF and TWD payouts in whole units (multiples of 100).

A worked example of the first rule: a liable account holds card -11500 (a disputed 10000 charge and
its 1500 fee) and bank_account +11500 (a transfer). Its total is 0. Paying out the bank_account
11500 would leave it at -11500, which the platform's `connect_reserved` would have to cover: the
platform would have paid out money the account never had.
"""

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
    balance,
    charge,
    checked,
    error_of,
    fund_platform,
    new_account_id,
    txn_list,
)
from tests.contract.test_payouts import PAYS_OWN_FEES, post_as, set_pricing
from tests.support.ledger import assert_ledger_ok

OTHER = {"card": "bank_account", "bank_account": "card"}


def usd_available(client: stripe.StripeClient, account: str | None = None) -> dict[str, Any]:
    """The account's available USD entry: `amount` (the total) and `source_types`."""
    found = [e for e in balance(client, account)["available"] if e["currency"] == "usd"]
    assert len(found) == 1, found
    entry: dict[str, Any] = found[0]
    return entry


def reserved(client: stripe.StripeClient, currency: str = "usd") -> int:
    return sum(e["amount"] for e in balance(client).get("connect_reserved", []) if e["currency"] == currency)


def fund_platform_both(client: stripe.StripeClient) -> None:
    """The platform gets card funds (a charge) and bank_account funds (a top-up) to transfer from."""
    fund_platform(client, 80_000)
    client.v1.topups.create({"amount": 80_000, "currency": "usd"})


def credit(client: stripe.StripeClient, account: str, source_type: str, amount: int) -> None:
    client.v1.transfers.create(
        {"amount": amount, "currency": "usd", "destination": account, "source_type": source_type}
    )


def owe_11500(client: stripe.StripeClient, account: str, source_type: str) -> None:
    """Take `source_type`'s available balance of `account` to -11500."""
    if source_type == "card":
        # A disputed charge of 10000: its amount and the 1500 dispute fee leave available at once.
        charge(client, 10_000, "tok_createDispute", account=account)
    else:
        # An ACH charge refunded while its funds are still pending.
        ach = charge(client, 11_500, "btok_us_verified", account=account)
        client.v1.refunds.create({"charge": ach["id"]}, acting_as(account))
    assert usd_available(client, account)["source_types"][source_type] == -11_500


def test_a_liable_account_cannot_pay_out_a_bank_balance_its_card_debt_cancels(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    # Issue 7, item 4: card -11500, bank_account +11500, total 0.
    fund_platform_both(stripe_client)
    account = new_account_id(stripe_client, settings={"payouts": {"schedule": {"interval": "manual"}}})
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    credit(stripe_client, account, "bank_account", 11_500)
    owe_11500(stripe_client, account, "card")
    assert usd_available(stripe_client, account)["amount"] == 0
    assert reserved(stripe_client) == 0
    refused = post_as(http, account, "/v1/payouts", amount=11_500, currency="usd", source_type="bank_account")
    err = error_of(refused, 400)
    expected = ("invalid_request_error", "balance_insufficient", "amount")
    assert (err["type"], err["code"], err["param"]) == expected
    assert usd_available(stripe_client, account)["amount"] == 0
    assert reserved(stripe_client) == 0
    assert as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"] == []
    assert_ledger_ok(database_url)


# ---- the class: every payout path, liable or not ------------------------------------------------

PATHS = ["standard_card", "standard_bank_account", "instant", "automatic"]


def _account(client: stripe.StripeClient, http: httpx.Client, liable: bool, path: str) -> tuple[str, str]:
    """An account whose `pays_from` source type holds +11500 and whose other source type owes 11500."""
    fund_platform_both(client)
    controller = {} if liable else {"controller": PAYS_OWN_FEES}
    interval = "daily" if path == "automatic" else "manual"
    account = new_account_id(client, settings={"payouts": {"schedule": {"interval": interval}}}, **controller)
    if path == "instant":
        set_pricing(http, percent="1")
        client.v1.accounts.external_accounts.create(account, {"external_account": "tok_visa_debit"})
    else:
        client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    pays_from = "card" if path in ("standard_card", "instant") else "bank_account"
    credit(client, account, pays_from, 11_500)
    owe_11500(client, account, OTHER[pays_from])
    return account, pays_from


def _try_payouts(
    client: stripe.StripeClient, http: httpx.Client, account: str, path: str, pays_from: str, total: int
) -> None:
    """Every payout the path allows, at and just above what the total covers."""
    if path == "automatic":
        advance(http, seconds=DAY)
        return
    if path == "instant":
        entry = next(e for e in balance(client, account)["instant_available"] if e["currency"] == "usd")
        assert 0 <= entry["amount"] <= max(total, 0)
        fits = entry["net_available"][0]["amount"]
        over = post_as(http, account, "/v1/payouts", amount=fits + 1, currency="usd", method="instant")
        assert error_of(over, 400)["param"] == "amount"
        if fits > 0:
            made = post_as(http, account, "/v1/payouts", amount=fits, currency="usd", method="instant")
            assert made.status_code == 200, made.text
        return
    over = post_as(
        http, account, "/v1/payouts", amount=max(total, 0) + 1, currency="usd", source_type=pays_from
    )
    assert error_of(over, 400)["code"] == "balance_insufficient"
    if total > 0:
        made = post_as(http, account, "/v1/payouts", amount=total, currency="usd", source_type=pays_from)
        assert made.status_code == 200, made.text


@pytest.mark.parametrize("liable", [True, False], ids=["liable", "not_liable"])
@pytest.mark.parametrize("path", PATHS)
def test_no_payout_takes_an_account_below_zero_nor_grows_the_reserve(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str, liable: bool, path: str
) -> None:
    account, pays_from = _account(stripe_client, http, liable, path)
    assert usd_available(stripe_client, account)["amount"] == 0
    reserve = reserved(stripe_client)
    # Total 0: nothing may leave. Then total 3000: at most 3000 may leave.
    for added in (0, 3000):
        if added:
            credit(stripe_client, account, pays_from, added)
        before = usd_available(stripe_client, account)["amount"]
        _try_payouts(stripe_client, http, account, path, pays_from, before)
        after = usd_available(stripe_client, account)["amount"]
        assert after >= 0, (path, liable, before, after)
        assert reserved(stripe_client) <= reserve, "a payout grew connect_reserved"
        for po in as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]:
            assert po["amount"] <= before, po
        assert_ledger_ok(database_url)


def test_fpx_funds_do_not_pay_out_what_the_card_balance_owes(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    """The third source type: a Malaysian account's `fpx` +11500 against `card` -11500 in MYR."""
    charge(stripe_client, 80_000, "tok_fpx", currency="myr")
    charge(stripe_client, 80_000, "tok_bypassPending", currency="myr")
    advance(http, seconds=7 * DAY)  # the platform's FPX funds settle
    account = new_account_id(
        stripe_client, country="MY", settings={"payouts": {"schedule": {"interval": "manual"}}}
    )
    bank = {"object": "bank_account", "country": "MY", "currency": "myr", "account_number": "000123456789"}
    stripe_client.v1.accounts.external_accounts.create(account, {"external_account": bank})
    stripe_client.v1.transfers.create(
        {"amount": 11_500, "currency": "myr", "destination": account, "source_type": "fpx"}
    )
    charge(stripe_client, 10_000, "tok_createDispute", account=account, currency="myr")
    [entry] = [e for e in balance(stripe_client, account)["available"] if e["currency"] == "myr"]
    assert (entry["amount"], entry["source_types"]["fpx"]) == (0, 11_500)
    assert reserved(stripe_client, "myr") == 0
    refused = post_as(http, account, "/v1/payouts", amount=11_500, currency="myr", source_type="fpx")
    assert error_of(refused, 400)["code"] == "balance_insufficient"
    assert reserved(stripe_client, "myr") == 0
    assert_ledger_ok(database_url)


# ---- HUF and TWD: whole units -------------------------------------------------------------------

HU_BANK = {
    "object": "bank_account",
    "country": "HU",
    "currency": "huf",
    "account_number": "000123456789",
}


def _huf_account(client: stripe.StripeClient, interval: str, amount: int) -> str:
    charge(client, 1_000_000, "tok_bypassPending", currency="huf")
    account = new_account_id(client, country="HU", settings={"payouts": {"schedule": {"interval": interval}}})
    client.v1.accounts.external_accounts.create(account, {"external_account": HU_BANK})
    client.v1.transfers.create({"amount": amount, "currency": "huf", "destination": account})
    return account


@pytest.mark.parametrize("currency", ["huf", "twd"])
def test_huf_and_twd_payouts_must_be_divisible_by_100(
    stripe_client: stripe.StripeClient, http: httpx.Client, currency: str
) -> None:
    err = error_of(http.post("/v1/payouts", data={"amount": 150, "currency": currency}), 400)
    assert (err["type"], err["code"], err["param"]) == ("invalid_request_error", "invalid_amount", "amount")
    assert "divisible by 100" in err["message"]
    # Other currencies keep their own precision (refused here for another reason: no destination).
    usd = error_of(http.post("/v1/payouts", data={"amount": 150, "currency": "usd"}), 400)
    assert "divisible" not in usd["message"]


def test_a_manual_huf_payout_pays_whole_forints(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = _huf_account(stripe_client, "manual", 15_050)
    refused = post_as(http, account, "/v1/payouts", amount=150, currency="huf")
    assert error_of(refused, 400)["code"] == "invalid_amount"
    made = post_as(http, account, "/v1/payouts", amount=15_000, currency="huf")
    assert made.status_code == 200, made.text
    left = [e for e in balance(stripe_client, account)["available"] if e["currency"] == "huf"]
    assert left[0]["amount"] == 50
    assert_ledger_ok(database_url)


def test_an_automatic_huf_payout_pays_the_largest_whole_amount_and_leaves_the_rest(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    account = _huf_account(stripe_client, "daily", 15_050)
    advance(http, to=MIDNIGHT_JAN_1 + DAY)
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert [checked(p, "payout")["amount"] for p in payouts] == [15_000]
    left = [e for e in balance(stripe_client, account)["available"] if e["currency"] == "huf"]
    assert left[0]["amount"] == 50
    # 50 more make 100: the next run pays that whole forint.
    stripe_client.v1.transfers.create({"amount": 50, "currency": "huf", "destination": account})
    advance(http, seconds=DAY)
    payouts = as_dict(stripe_client.v1.payouts.list(options=acting_as(account)))["data"]
    assert sorted(p["amount"] for p in payouts) == [100, 15_000]
    # What each lists nets to the change in what was left behind: +50 left by the first, then
    # taken by the second.
    nets = {
        p["amount"]: sum(t["net"] for t in txn_list(stripe_client, account, payout=p["id"])["data"])
        for p in payouts
    }
    assert nets == {15_000: 50, 100: -50}
    assert_ledger_ok(database_url)
