"""What an automatic payout swept: `GET /v1/balance_transactions?payout=po_…` lists the transactions
the payout settled, its own `payout` transaction among them, so that they net to zero: the others sum
to the payout's amount, and its own is that amount negated.

A worked example of the case that broke it: an account owes 6500 (a reversed transfer and a disputed
5000 charge with its 1500 fee), so a run debits its bank for 6500. The debit sweeps the transactions
it covers and its own credit of +6500, which stays pending until the money arrives. If a run meanwhile
paid out new funds (3000 + 3000 + 4825 available, 4325 after the still-owed 6500), it would list
10825 of transactions for a 4325 payout, and the run after the debit's arrival would list nothing for
a payout of 6500. So a balance whose debit is on its way is paid out once the debit has arrived.
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
    charge,
    fund_platform,
    new_account_id,
    txn_list,
)
from tests.support.ledger import assert_ledger_ok


def all_payouts(client: stripe.StripeClient, account: str) -> list[dict[str, Any]]:
    return list(as_dict(client.v1.payouts.list({"limit": 100}, acting_as(account)))["data"])


def assert_sweeps_add_up(client: stripe.StripeClient, account: str) -> int:
    """Every automatic payout of `account` lists transactions that sum to its amount, besides its own
    payout transaction of the amount negated. Returns how many automatic payouts were checked."""
    checked = 0
    for po in all_payouts(client, account):
        if not po["automatic"] or po["status"] in ("failed", "canceled"):
            continue
        swept = txn_list(client, account, payout=po["id"], limit=100)["data"]
        own = [t for t in swept if t["type"] == "payout" and t["source"] == po["id"]]
        assert [t["amount"] for t in own] == [-po["amount"]], (po, swept)
        others = [t for t in swept if t not in own]
        assert sum(t["net"] for t in others) == po["amount"], (po, swept)
        checked += 1
    return checked


def debit_account(client: stripe.StripeClient) -> str:
    fund_platform(client, 80_000)
    account = new_account_id(
        client,
        settings={
            "payouts": {"schedule": {"interval": "daily", "delay_days": 2}, "debit_negative_balances": True}
        },
    )
    client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    return account


def owe(client: stripe.StripeClient, account: str, disputed: int) -> None:
    """A transfer reversed in full, then a disputed charge: available drops by `disputed` + 1500."""
    tr = as_dict(client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account}))
    client.v1.transfers.reversals.create(tr["id"], {"amount": 1000})
    charge(client, disputed, "tok_createDispute", account=account)


def test_funds_arriving_while_a_debit_is_on_its_way_are_paid_out_once_it_arrived(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str
) -> None:
    # Issue 7, item 5.
    account = debit_account(stripe_client)
    owe(stripe_client, account, 5000)  # available -6500
    for day in range(1, 12):
        advance(http, to=MIDNIGHT_JAN_1 + day * DAY)
        if day in (2, 3, 6):
            stripe_client.v1.transfers.create({"amount": 3000, "currency": "usd", "destination": account})
    amounts = sorted(po["amount"] for po in all_payouts(stripe_client, account))
    assert amounts[0] == -6500
    # Paid out in all: three transfers and the disputed charge's net (5000 - 175 fee), less the 6500
    # the dispute took.
    assert sum(amounts) == 3 * 3000 + (5000 - 175) - 6500
    assert assert_sweeps_add_up(stripe_client, account) == len(amounts)
    assert_ledger_ok(database_url)


@pytest.mark.parametrize(
    "pattern",
    [
        # Per day: +n a transfer of n, -n a disputed charge of n (which costs n + 1500 at once).
        [[-5000], [3000], [3000], [], [-2000, 3000], [4000], [], [-1000], [9000], [], [], []],
        [[-1000], [], [-1000], [2000], [-1000, 500], [], [6000], [-3000], [], [7000], [], [], [], []],
        [[2000], [-4000], [1000], [-500], [8000], [-8000], [], [9000], [-100], [], [], [], []],
    ],
    ids=["debit-then-funds", "small-debts", "alternating"],
)
def test_every_automatic_payout_lists_what_it_paid_out(
    stripe_client: stripe.StripeClient, http: httpx.Client, database_url: str, pattern: list[list[int]]
) -> None:
    account = debit_account(stripe_client)
    for day, moves in enumerate(pattern, start=1):
        for move in moves:
            if move > 0:
                stripe_client.v1.transfers.create({"amount": move, "currency": "usd", "destination": account})
            else:
                owe(stripe_client, account, -move)
        advance(http, to=MIDNIGHT_JAN_1 + day * DAY)
        assert_sweeps_add_up(stripe_client, account)
    payouts = all_payouts(stripe_client, account)
    assert any(po["amount"] < 0 for po in payouts)
    assert any(po["amount"] > 0 for po in payouts)
    assert assert_sweeps_add_up(stripe_client, account) == len(payouts)
    assert_ledger_ok(database_url)
