"""Worked examples: money stories told step by step, as an accountant would check them.

Each test drives the real server through the official SDK, states after every step what each balance
holds (and what the balance transactions say), and checks the whole ledger's invariants
(`payoutkit.store.invariants`) on the server's database after every step. The simulated clock starts
on Thursday 2026-01-01 10:00 UTC; card funds settle two business days later, on Monday 2026-01-05
00:00 UTC. Default pricing: card 2.9 % + 30, dispute fee 15.00.
"""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
import stripe

from tests.conftest import CLOCK_START
from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

DAY = 86_400
MONDAY_JAN_5 = CLOCK_START - 10 * 3600 + 4 * DAY  # 2026-01-05 00:00 UTC


class Books:
    """The story's reader: balances per account through the SDK, and the ledger check after each step."""

    def __init__(self, client: stripe.StripeClient, http: httpx.Client, server: RunningServer) -> None:
        self.client = client
        self.http = http
        self.database_url = server.settings.database_url

    def options(self, account: str | None) -> Any:
        return {"stripe_account": account} if account else None

    def balance(self, account: str | None = None) -> dict[str, Any]:
        balance: dict[str, Any] = self.client.v1.balance.retrieve(options=self.options(account)).to_dict()
        return balance

    def holds(
        self,
        account: str | None = None,
        *,
        available: int,
        pending: int,
        connect_reserved: int | None = None,
    ) -> None:
        """Assert what `account` (the platform when None) holds in usd, then the ledger's invariants."""
        b = self.balance(account)
        got = {
            "available": sum(e["amount"] for e in b["available"] if e["currency"] == "usd"),
            "pending": sum(e["amount"] for e in b["pending"] if e["currency"] == "usd"),
        }
        want = {"available": available, "pending": pending}
        if connect_reserved is not None:
            got["connect_reserved"] = sum(
                e["amount"] for e in b["connect_reserved"] if e["currency"] == "usd"
            )
            want["connect_reserved"] = connect_reserved
        assert got == want, f"balance of {account or 'the platform'}"
        self.ledger_ok()

    def ledger_ok(self) -> None:
        assert_ledger_ok(self.database_url)

    def txn(self, txn_id: str, account: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = self.client.v1.balance_transactions.retrieve(
            txn_id, options=self.options(account)
        ).to_dict()
        return found

    def charge(self, amount: int, source: str, account: str | None = None, **params: Any) -> dict[str, Any]:
        created: dict[str, Any] = self.client.v1.charges.create(
            cast(Any, {"amount": amount, "currency": "usd", "source": source, **params}),
            self.options(account),
        ).to_dict()
        self.ledger_ok()
        return created

    def account(self, **params: Any) -> str:
        account_id: str = self.client.v1.accounts.create(cast(Any, params)).id
        self.ledger_ok()
        return account_id

    def top_up(self, amount: int) -> None:
        self.client.v1.topups.create({"amount": amount, "currency": "usd"})
        self.ledger_ok()

    def advance_to(self, to: int) -> None:
        response = self.http.post("/v1/test_helpers/clock/advance", data={"to": to})
        assert response.status_code == 200, response.text
        self.ledger_ok()


@pytest.fixture
def books(stripe_client: stripe.StripeClient, http: httpx.Client, server: RunningServer) -> Books:
    return Books(stripe_client, http, server)


def test_a_card_charge_is_pending_for_two_business_days_then_available(books: Books) -> None:
    books.holds(available=0, pending=0)

    # Thursday 10:00: a customer pays $100.00 by card. Fee 2.9 % of 100.00 + 0.30 = 3.20.
    charge = books.charge(10_000, "tok_visa")
    txn = books.txn(charge["balance_transaction"])
    assert (txn["amount"], txn["fee"], txn["net"], txn["status"]) == (10_000, 320, 9_680, "pending")
    assert txn["fee_details"] == [
        {
            "amount": 320,
            "application": None,
            "currency": "usd",
            "description": "Payoutkit processing fees",
            "type": "stripe_fee",
        },
    ]
    assert txn["available_on"] == MONDAY_JAN_5
    books.holds(available=0, pending=9_680)

    # Sunday 23:59:59: still pending (no settlement on weekends, and not due yet).
    books.advance_to(MONDAY_JAN_5 - 1)
    books.holds(available=0, pending=9_680)

    # Monday 00:00 UTC: available.
    books.advance_to(MONDAY_JAN_5)
    books.holds(available=9_680, pending=0)
    assert books.txn(charge["balance_transaction"])["status"] == "available"


def test_bypass_pending_and_ach_settle_on_their_own_timelines(books: Books) -> None:
    # $20.00 with tok_bypassPending: available at once, less 2.9 % + 0.30 = 0.88.
    books.charge(2_000, "tok_bypassPending")
    books.holds(available=1_912, pending=0)

    # $1,000.00 by ACH (legacy bank account charge): 0.8 % capped at 5.00 → fee 5.00, six business days.
    ach = books.charge(100_000, "btok_us_verified")
    txn = books.txn(ach["balance_transaction"])
    assert (txn["fee"], txn["net"]) == (500, 99_500)
    assert txn["available_on"] == CLOCK_START - 10 * 3600 + 8 * DAY  # Friday 2026-01-09
    books.holds(available=1_912, pending=99_500)
    books.advance_to(MONDAY_JAN_5)
    books.holds(available=1_912, pending=99_500)
    books.advance_to(txn["available_on"])
    books.holds(available=1_912 + 99_500, pending=0)


def test_a_destination_charge_with_an_application_fee(books: Books) -> None:
    seller = books.account(type="express", country="US")

    # $50.00 charged by the platform for the seller, with a $5.00 application fee.
    charge = books.charge(
        5_000, "tok_visa", application_fee_amount=500, transfer_data={"destination": seller}
    )
    # The platform: +50.00 charge less 1.75 processing fee (2.9 % of 50.00 + 0.30), -50.00 transfer to
    # the seller, +5.00 application fee: 3.25 pending.
    books.holds(available=0, pending=5_000 - 175 - 5_000 + 500, connect_reserved=0)
    # The seller: a 50.00 payment less the 5.00 application fee: 45.00 pending.
    books.holds(seller, available=0, pending=4_500)
    payment = books.txn(charge["balance_transaction"])
    assert (payment["amount"], payment["fee"], payment["net"]) == (5_000, 175, 4_825)

    books.advance_to(MONDAY_JAN_5)
    books.holds(available=325, pending=0, connect_reserved=0)
    books.holds(seller, available=4_500, pending=0)


def test_a_refund_drives_a_custom_account_negative_and_the_platform_reserves_it(books: Books) -> None:
    books.top_up(100_000)
    books.holds(available=100_000, pending=0, connect_reserved=0)
    seller = books.account(type="custom", country="US")  # the platform is liable for its losses

    # A direct charge of $100.00 on the seller, available at once: 96.80.
    charge = books.charge(10_000, "tok_bypassPending", seller)
    books.holds(seller, available=9_680, pending=0)

    # The customer is refunded in full; the 3.20 fee is not returned: the seller is at -3.20, and the
    # platform moves 3.20 of its own available funds into connect_reserved.
    books.client.v1.refunds.create({"charge": charge["id"]}, {"stripe_account": seller})
    books.holds(seller, available=-320, pending=0)
    books.holds(available=100_000 - 320, pending=0, connect_reserved=320)

    # The platform transfers $5.00 of its topped-up funds (source type bank_account, as with Stripe) to
    # the seller: the seller is at 1.80, the reserve is released.
    books.client.v1.transfers.create(
        {"amount": 500, "currency": "usd", "destination": seller, "source_type": "bank_account"}
    )
    books.holds(seller, available=180, pending=0)
    books.holds(available=100_000 - 500, pending=0, connect_reserved=0)


def test_settlement_releases_the_reserve_as_pending_funds_arrive(books: Books) -> None:
    books.top_up(100_000)
    seller = books.account(type="custom", country="US")

    # A $100.00 card charge on the seller, pending until Monday (96.80), and a $30.00 one available at
    # once (29.03 net) that is refunded in full: the seller is at -0.97 available.
    books.charge(10_000, "tok_visa", seller)
    quick = books.charge(3_000, "tok_bypassPending", seller)
    books.client.v1.refunds.create({"charge": quick["id"]}, {"stripe_account": seller})
    books.holds(seller, available=-117, pending=9_680)
    books.holds(available=100_000 - 117, pending=0, connect_reserved=117)

    # Monday: the 96.80 arrives; the seller is positive, and the reserve is released.
    books.advance_to(MONDAY_JAN_5)
    books.holds(seller, available=9_680 - 117, pending=0)
    books.holds(available=100_000, pending=0, connect_reserved=0)


def test_a_dispute_withdraws_the_amount_and_the_dispute_fee(books: Books) -> None:
    # $100.00 by a card whose holder disputes at once: the charge is pending (96.80), and the dispute
    # takes 100.00 plus the 15.00 fee out of the available balance right away.
    charge = books.charge(10_000, "tok_createDispute")
    assert charge["disputed"] is True
    books.holds(available=-11_500, pending=9_680)
    dispute = books.client.v1.disputes.list().data[0].to_dict()
    assert (dispute["amount"], dispute["charge"]) == (10_000, charge["id"])
    withdrawal = books.txn(
        dispute["balance_transactions"][0]["id"]
        if isinstance(dispute["balance_transactions"][0], dict)
        else dispute["balance_transactions"][0]
    )
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (-10_000, 1_500, -11_500)
    assert withdrawal["reporting_category"] == "dispute"

    # Monday: the charge's funds arrive; the platform has lost the 3.20 processing fee and 15.00.
    books.advance_to(MONDAY_JAN_5)
    books.holds(available=-320 - 1_500, pending=0)


def test_a_transfer_and_its_reversals(books: Books) -> None:
    books.top_up(10_000)
    seller = books.account(type="express", country="US")

    # Top-ups are `bank_account` funds; a transfer says which source type it draws on.
    funds: Any = {"currency": "usd", "destination": seller, "source_type": "bank_account"}
    transfer = books.client.v1.transfers.create(cast(Any, {"amount": 3_000, **funds}))
    books.holds(available=7_000, pending=0)
    books.holds(seller, available=3_000, pending=0)

    # $10.00 comes back to the platform, then the rest.
    books.client.v1.transfers.reversals.create(transfer.id, {"amount": 1_000})
    books.holds(available=8_000, pending=0)
    books.holds(seller, available=2_000, pending=0)
    books.client.v1.transfers.reversals.create(transfer.id)
    books.holds(available=10_000, pending=0)
    books.holds(seller, available=0, pending=0)
    assert books.client.v1.transfers.retrieve(transfer.id).reversed is True

    # Nothing is left to reverse, and the platform cannot send more than it has available.
    with pytest.raises(stripe.InvalidRequestError):
        books.client.v1.transfers.reversals.create(transfer.id, {"amount": 1})
    with pytest.raises(stripe.InvalidRequestError):
        books.client.v1.transfers.create(cast(Any, {"amount": 10_001, **funds}))
    with pytest.raises(stripe.InvalidRequestError):  # no card funds at all
        books.client.v1.transfers.create(cast(Any, {**funds, "amount": 1, "source_type": "card"}))
    books.holds(available=10_000, pending=0)
    books.holds(seller, available=0, pending=0)


def test_an_application_fee_above_the_net_drives_the_account_negative_at_settlement(books: Books) -> None:
    books.top_up(100_000)
    seller = books.account(type="custom", country="US")

    # A $100.00 card charge on the seller whose application fee takes all of it: the seller's pending
    # net is 100.00 - 3.20 processing - 100.00 application fee = -3.20; the platform's fee is pending.
    books.charge(10_000, "tok_visa", seller, application_fee_amount=10_000)
    books.holds(seller, available=0, pending=-320)
    books.holds(available=100_000, pending=10_000, connect_reserved=0)

    # Monday: both settle. The seller is at -3.20 available, and the platform reserves it.
    books.advance_to(MONDAY_JAN_5)
    books.holds(seller, available=-320, pending=0)
    books.holds(available=100_000 + 10_000 - 320, pending=0, connect_reserved=320)
