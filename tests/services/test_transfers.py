"""Transfers, their reversals and top-ups as use cases: called with an actor in a unit of work, no HTTP,
on both stores, with the ledger's invariants checked after every unit. What a platform relies on
(beyond test_transfers_and_topups.py): the balance transactions a transfer leaves on both sides, the
payment its destination receives and may refund, reversals that never exceed the transfer, a reversal
that drives a liable account negative (the platform's reserve follows), and top-ups into each balance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from payoutkit.errors import InvalidRequest
from payoutkit.ledger.errors import InsufficientFunds
from payoutkit.lists import Window
from payoutkit.records.balance import Balance
from payoutkit.records.transfers import Transfer
from payoutkit.runtime import Runtime
from payoutkit.services import (
    accounts,
    balance,
    charges,
    events,
    external_accounts,
    payout_create,
    refunds,
    topups,
    transfers,
)
from payoutkit.services.account_rules import AccountChanges, PayoutChanges
from payoutkit.services.actor import Actor
from payoutkit.services.refunds import RefundCommand

LedgerOk = Callable[[], None]
BANK = "bank_account"  # a top-up funds the bank_account source type


def _topup(runtime: Runtime, actor: Actor, amount: int, destination_balance: str | None = None) -> str:
    command = topups.NewTopup(amount=amount, currency="usd", destination_balance=destination_balance)
    made = runtime.db.transaction(topups.create, actor, command)
    assert made.status == "succeeded"
    return made.id


def _connected(runtime: Runtime, platform: Actor, kind: str = "custom") -> Actor:
    """A connected account of the platform, acting as itself."""
    command = accounts.CreateAccount(type=kind)
    made = runtime.db.transaction(accounts.create, platform, command, settings=runtime.settings)
    return replace(platform, account_id=made.account.id)


def _transfer(runtime: Runtime, platform: Actor, to: Actor, amount: int) -> Transfer:
    command = transfers.NewTransfer(
        amount=amount, currency="usd", destination=to.account_id, source_type=BANK
    )
    return runtime.db.transaction(transfers.create, platform, command)


def _balance(runtime: Runtime, actor: Actor) -> Balance:
    return runtime.db.read_transaction(balance.read_balance, actor)


def _available(runtime: Runtime, actor: Actor) -> int:
    return sum(a.amount for a in _balance(runtime, actor).available)


def test_a_transfer_leaves_a_transaction_on_each_side_and_a_payment(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    topup = _topup(runtime, platform, 10_000)
    ledger_ok()
    destination = _connected(runtime, platform)
    tr = _transfer(runtime, platform, destination, 4000)
    ledger_ok()
    assert (tr.amount, tr.currency, tr.destination, tr.amount_reversed, tr.reversed) == (
        4000,
        "usd",
        destination.account_id,
        0,
        False,
    )
    listed = runtime.db.read_transaction(
        balance.list_transactions, platform, balance.ListTransactions(), Window()
    )
    assert [(t.type, t.source, t.amount) for t in listed.items] == [
        ("transfer", tr.id, -4000),
        ("topup", topup, 10_000),
    ]
    assert _available(runtime, platform) == 6000

    # The destination has a payment of the amount, available at once, and sees it as its own charge.
    [payment] = runtime.db.transaction(charges.list_charges, destination, Window()).items
    assert (payment.id, payment.amount, payment.source_transfer) == (tr.destination_payment, 4000, tr.id)
    assert payment.balance_transaction is not None
    txn = runtime.db.read_transaction(balance.retrieve_transaction, destination, payment.balance_transaction)
    assert (txn.type, txn.amount, txn.fee, txn.status) == ("payment", 4000, 0, "available")
    assert _available(runtime, destination) == 4000
    created = runtime.db.transaction(
        events.list_events, platform, events.EventQuery(Window(), type="transfer.*")
    )
    assert [e.type for e in created.items] == ["transfer.created"]


def test_a_transfer_draws_on_the_source_type_it_names(runtime: Runtime, platform: Actor) -> None:
    _topup(runtime, platform, 10_000)  # bank_account funds only
    destination = _connected(runtime, platform)
    from_cards = transfers.NewTransfer(amount=100, currency="usd", destination=destination.account_id)
    with pytest.raises(InsufficientFunds) as refused:
        runtime.db.transaction(transfers.create, platform, from_cards)
    assert refused.value.code == "balance_insufficient"
    assert _available(runtime, destination) == 0


def test_a_reversal_never_exceeds_what_is_left(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    _topup(runtime, platform, 5000)
    destination = _connected(runtime, platform)
    tr = _transfer(runtime, platform, destination, 3000)
    first = runtime.db.transaction(
        transfers.create_reversal, platform, transfers.NewReversal(transfer=tr.id, amount=1000)
    )
    ledger_ok()
    assert (first.amount, first.transfer) == (1000, tr.id)
    too_much = transfers.NewReversal(transfer=tr.id, amount=2001)
    with pytest.raises(InvalidRequest) as refused:
        runtime.db.transaction(transfers.create_reversal, platform, too_much)
    assert (refused.value.param, refused.value.code) == ("amount", "amount_too_large")
    assert runtime.db.transaction(transfers.retrieve, platform, tr.id).amount_reversed == 1000
    assert (_available(runtime, platform), _available(runtime, destination)) == (3000, 2000)


def test_the_destination_refunding_its_payment_reverses_the_transfer(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    _topup(runtime, platform, 5000)
    destination = _connected(runtime, platform)
    tr = _transfer(runtime, platform, destination, 3000)
    command = RefundCommand(charge=tr.destination_payment, amount=1200)
    refund = runtime.db.transaction(refunds.create_refund, destination, command)
    ledger_ok()
    assert refund.id.startswith("pyr_")
    assert refund.amount == 1200
    assert refund.source_transfer_reversal is not None
    after = runtime.db.transaction(transfers.retrieve, platform, tr.id)
    assert after.amount_reversed == 1200
    assert [r.id for r in after.reversals] == [refund.source_transfer_reversal]
    assert (_available(runtime, platform), _available(runtime, destination)) == (3200, 1800)
    # It already reverses: asking to reverse the transfer besides is refused.
    with pytest.raises(InvalidRequest) as refused:
        runtime.db.transaction(refunds.create_refund, destination, replace(command, reverse_transfer=True))
    assert refused.value.param == "reverse_transfer"


def test_a_reversal_past_a_liable_account_s_balance_is_reserved_by_the_platform(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    _topup(runtime, platform, 5000)
    destination = _connected(runtime, platform)  # custom: the platform is liable for its losses
    manual = AccountChanges(payouts=PayoutChanges(schedule={"interval": "manual"}))
    runtime.db.transaction(accounts.update, platform, accounts.UpdateAccount(destination.account_id, manual))
    bank = external_accounts.CreateExternalAccount(destination.account_id, "btok_us_verified")
    runtime.db.transaction(external_accounts.create, platform, bank)
    tr = _transfer(runtime, platform, destination, 2000)
    paid_out = payout_create.CreatePayout(amount=2000, currency="usd", source_type=BANK)
    runtime.db.transaction(
        payout_create.create, destination, paid_out, settings=runtime.settings, rail=runtime.rail
    )
    ledger_ok()

    runtime.db.transaction(transfers.create_reversal, platform, transfers.NewReversal(transfer=tr.id))
    ledger_ok()
    assert _available(runtime, destination) == -2000
    reserved = _balance(runtime, platform).connect_reserved
    assert reserved is not None
    assert [(r.amount, r.currency) for r in reserved] == [(2000, "usd")]


@pytest.mark.parametrize(
    ("destination_balance", "held"),
    [
        (None, "available"),
        ("issuing", "issuing_available"),
        ("refund_and_dispute_prefunding", "prefunding_available"),
    ],
)
def test_a_topup_funds_the_balance_it_names(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk, destination_balance: str | None, held: str
) -> None:
    topup = _topup(runtime, platform, 2500, destination_balance)
    ledger_ok()
    shown = runtime.db.transaction(topups.retrieve, platform, topup)
    assert (shown.amount, shown.status, shown.balance_transaction is not None) == (2500, "succeeded", True)
    read = _balance(runtime, platform)
    assert [(a.amount, a.currency) for a in getattr(read, held)] == [(2500, "usd")]
    others = {"available", "issuing_available", "prefunding_available"} - {held}
    assert all(a.amount == 0 for name in others for a in getattr(read, name))
