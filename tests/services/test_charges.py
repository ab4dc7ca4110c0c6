"""Charges, refunds and disputes as use cases: called with an actor in a unit of work, no HTTP, on both
stores, with the ledger's invariants checked after every unit. What an integration relies on: the
processing fee booked on a charge, a declined card answered (not raised) with the failed charge kept, a
destination charge paying its connected account, refunds that never exceed the charge, and a dispute
that withdraws the amount and its fee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.lists import Window
from payoutkit.records.balance import BalanceTransaction
from payoutkit.records.charges import Charge, Refund
from payoutkit.runtime import Runtime
from payoutkit.services import accounts, balance, charges, disputes, events, refunds
from payoutkit.services.actor import Actor
from payoutkit.services.new_charges import ChargeCommand, ChargeTransfer
from payoutkit.services.refunds import RefundCommand

LedgerOk = Callable[[], None]
CARD_FEE = 29 + 30  # 2.9% + 30 of 1000 (config.Pricing's default for cards)


def _charge(runtime: Runtime, actor: Actor, command: ChargeCommand) -> charges.ChargeResult:
    return runtime.db.transaction(charges.create, actor, command, pricing=runtime.settings.pricing)


def _paid_with(runtime: Runtime, actor: Actor, command: ChargeCommand) -> Charge:
    result = _charge(runtime, actor, command)
    assert result.declined is None
    return result.charge


def _paid(runtime: Runtime, actor: Actor, amount: int = 1000, source: str = "tok_visa") -> Charge:
    return _paid_with(runtime, actor, ChargeCommand(amount=amount, currency="usd", source=source))


def _txn(runtime: Runtime, actor: Actor, txn_id: str | None) -> BalanceTransaction:
    assert txn_id is not None
    return runtime.db.read_transaction(balance.retrieve_transaction, actor, txn_id)


def _pending_and_available(runtime: Runtime, actor: Actor) -> tuple[int, int]:
    read = runtime.db.read_transaction(balance.read_balance, actor)
    return sum(a.amount for a in read.pending), sum(a.amount for a in read.available)


def _refund(runtime: Runtime, actor: Actor, command: RefundCommand) -> Refund:
    return runtime.db.transaction(refunds.create_refund, actor, command)


def _connected(runtime: Runtime, platform: Actor) -> str:
    command = accounts.CreateAccount(type="custom")
    return runtime.db.transaction(accounts.create, platform, command, settings=runtime.settings).account.id


def test_a_charge_books_the_processing_fee(runtime: Runtime, platform: Actor, ledger_ok: LedgerOk) -> None:
    charge = _paid(runtime, platform, 1000)
    ledger_ok()
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded, charge.currency) == (
        1000,
        1000,
        0,
        "usd",
    )
    assert charge.method_type == "card"
    assert runtime.db.transaction(charges.retrieve, platform, charge.id) == charge

    txn = _txn(runtime, platform, charge.balance_transaction)
    assert (txn.type, txn.source, txn.amount, txn.fee, txn.net) == (
        "charge",
        charge.id,
        1000,
        CARD_FEE,
        1000 - CARD_FEE,
    )
    assert txn.status == "pending"
    assert txn.available_on > platform.now  # the account's delay, in business days
    assert _pending_and_available(runtime, platform) == (1000 - CARD_FEE, 0)

    # tok_bypassPending: the funds are available at once.
    at_once = _paid(runtime, platform, 2000, source="tok_bypassPending")
    ledger_ok()
    assert _txn(runtime, platform, at_once.balance_transaction).status == "available"
    assert _pending_and_available(runtime, platform) == (1000 - CARD_FEE, 2000 - (58 + 30))


def test_a_declined_card_is_an_answer_and_the_failed_charge_is_kept(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    command = ChargeCommand(amount=1000, currency="usd", source="tok_chargeDeclinedInsufficientFunds")
    result = _charge(runtime, platform, command)  # no exception: the unit commits
    ledger_ok()
    decline = result.declined
    assert decline is not None
    assert decline.code == "card_declined"
    assert decline.extra == {"decline_code": "insufficient_funds", "charge": result.charge.id}

    stored = runtime.db.transaction(charges.retrieve, platform, result.charge.id)
    assert stored == result.charge
    assert (stored.status, stored.paid, stored.captured, stored.amount_captured) == (
        "failed",
        False,
        False,
        0,
    )
    assert (stored.failure_code, stored.failure_message) == (
        "card_declined",
        "Your card has insufficient funds.",
    )
    assert stored.balance_transaction is None  # nothing was booked
    assert _pending_and_available(runtime, platform) == (0, 0)
    failed = runtime.db.transaction(
        events.list_events, platform, events.EventQuery(Window(), type="charge.*")
    )
    assert [e.type for e in failed.items] == ["charge.failed"]


def test_a_charge_is_checked_before_anything_is_stored(runtime: Runtime, platform: Actor) -> None:
    for command, param, code in [
        (ChargeCommand(amount=49, currency="usd", source="tok_visa"), "amount", "amount_too_small"),
        (ChargeCommand(amount=1000, currency="usd"), "source", "parameter_missing"),
        (ChargeCommand(amount=1000, currency="usd", source="tok_nope"), "source", "resource_missing"),
        (ChargeCommand(amount=1000, currency="usd", source="tok_fpx"), "currency", "invalid_currency"),
    ]:
        with pytest.raises(InvalidRequest) as refused:
            _charge(runtime, platform, command)
        assert (refused.value.param, refused.value.code) == (param, code)
    assert runtime.db.transaction(charges.list_charges, platform, Window()).items == []


def test_a_destination_charge_pays_the_connected_account(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    destination = _connected(runtime, platform)
    command = ChargeCommand(
        amount=1000,
        currency="usd",
        source="tok_bypassPending",
        application_fee_amount=100,
        transfer_data=ChargeTransfer(destination),
    )
    charge = _paid_with(runtime, platform, command)
    ledger_ok()
    assert charge.transfer_data is not None
    assert charge.transfer_data.destination == destination
    assert charge.transfer is not None
    assert charge.transfer.startswith("tr_")
    assert charge.application_fee is not None
    assert charge.application_fee.startswith("fee_")

    # The destination received a payment of the whole amount, less the platform's application fee.
    connected = replace(platform, account_id=destination)
    [payment] = runtime.db.transaction(charges.list_charges, connected, Window()).items
    assert payment.id.startswith("py_")
    assert (payment.amount, payment.source_transfer) == (1000, charge.transfer)
    assert _pending_and_available(runtime, connected) == (0, 1000 - 100)
    # The platform keeps the application fee, and pays the processing fee.
    assert _pending_and_available(runtime, platform) == (0, 100 - CARD_FEE)
    # The platform's charge is not the connected account's to see.
    with pytest.raises(ResourceMissing):
        runtime.db.transaction(charges.retrieve, connected, charge.id)


def test_only_the_platform_makes_destination_charges_to_its_accounts(
    runtime: Runtime, platform: Actor
) -> None:
    destination = _connected(runtime, platform)
    to = ChargeCommand(
        amount=1000, currency="usd", source="tok_visa", transfer_data=ChargeTransfer(destination)
    )
    with pytest.raises(InvalidRequest) as refused:
        _charge(runtime, replace(platform, account_id=destination), to)
    assert refused.value.param == "transfer_data[destination]"
    nowhere = replace(to, transfer_data=ChargeTransfer("acct_1NotAnAccount00000"))
    with pytest.raises(ResourceMissing) as missing:
        _charge(runtime, platform, nowhere)
    assert missing.value.param == "transfer_data[destination]"


def test_refunding_a_destination_charge_takes_back_the_transfer_and_the_fee_in_proportion(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    destination = _connected(runtime, platform)
    to = ChargeTransfer(destination)
    command = ChargeCommand(
        amount=1000, currency="usd", source="tok_bypassPending", application_fee_amount=100, transfer_data=to
    )
    charge = _paid_with(runtime, platform, command)
    half = RefundCommand(charge=charge.id, amount=500, reverse_transfer=True, refund_application_fee=True)
    refund = _refund(runtime, platform, half)
    ledger_ok()
    assert refund.transfer_reversal is not None
    assert refund.transfer_reversal.startswith("trr_")
    # Half the transfer comes back from the destination, which gets half the application fee back.
    connected = replace(platform, account_id=destination)
    assert _pending_and_available(runtime, connected) == (0, 900 - 500 + 50)
    assert _pending_and_available(runtime, platform) == (0, 100 - CARD_FEE - 50)


def test_a_charge_is_refunded_in_parts_and_never_beyond_it(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    charge = _paid(runtime, platform, 1000)

    part = _refund(
        runtime, platform, RefundCommand(charge=charge.id, amount=300, reason="requested_by_customer")
    )
    ledger_ok()
    assert (part.amount, part.charge, part.status, part.reason) == (
        300,
        charge.id,
        "succeeded",
        "requested_by_customer",
    )
    txn = _txn(runtime, platform, part.balance_transaction)
    assert (txn.type, txn.source, txn.amount) == ("refund", part.id, -300)
    after = runtime.db.transaction(charges.retrieve, platform, charge.id)
    assert (after.amount_refunded, after.refunded) == (300, False)

    with pytest.raises(InvalidRequest) as refused:
        _refund(runtime, platform, RefundCommand(charge=charge.id, amount=701))
    assert (refused.value.param, refused.value.code) == ("amount", "amount_too_large")

    rest = _refund(runtime, platform, RefundCommand(charge=charge.id))  # no amount: what is left
    ledger_ok()
    assert rest.amount == 700
    after = runtime.db.transaction(charges.retrieve, platform, charge.id)
    assert (after.amount_refunded, after.refunded) == (1000, True)
    with pytest.raises(InvalidRequest) as again:
        _refund(runtime, platform, RefundCommand(charge=charge.id, amount=1))
    assert (again.value.param, again.value.code) == ("charge", "charge_already_refunded")

    listed = runtime.db.transaction(refunds.list_refunds, platform, Window(), charge=charge.id)
    assert [r.id for r in listed.items] == [rest.id, part.id]
    # Refunds leave the available balance at once, while the charge's net is still pending; the
    # processing fee is not given back, so the platform is left owing it.
    pending, available = _pending_and_available(runtime, platform)
    assert (pending, available) == (1000 - CARD_FEE, -1000)
    assert pending + available == -CARD_FEE


def test_a_failed_charge_cannot_be_refunded(runtime: Runtime, platform: Actor) -> None:
    command = ChargeCommand(amount=1000, currency="usd", source="tok_chargeDeclined")
    failed = _charge(runtime, platform, command).charge
    with pytest.raises(InvalidRequest) as refused:
        _refund(runtime, platform, RefundCommand(charge=failed.id))
    assert refused.value.param == "charge"


def test_a_disputed_charge_withdraws_the_amount_and_the_fee(
    runtime: Runtime, platform: Actor, ledger_ok: LedgerOk
) -> None:
    charge = _paid(runtime, platform, 1000, source="tok_createDispute")
    ledger_ok()
    assert charge.disputed is True

    [dispute] = runtime.db.transaction(disputes.list_disputes, platform, Window()).items
    assert runtime.db.transaction(disputes.retrieve, platform, dispute.id) == dispute
    assert (dispute.charge, dispute.amount, dispute.currency) == (charge.id, 1000, "usd")
    assert (dispute.status, dispute.reason, dispute.is_charge_refundable) == (
        "needs_response",
        "fraudulent",
        False,
    )
    fee = runtime.settings.pricing.dispute_fee
    [txn_id] = dispute.balance_transactions
    txn = _txn(runtime, platform, txn_id)
    assert (txn.type, txn.source, txn.amount, txn.fee, txn.net) == (
        "adjustment",
        dispute.id,
        -1000,
        fee,
        -1000 - fee,
    )
    with pytest.raises(InvalidRequest) as refused:
        _refund(runtime, platform, RefundCommand(charge=charge.id))
    assert (refused.value.param, refused.value.code) == ("charge", "charge_disputed")
    # Nobody else reaches the dispute.
    connected = replace(platform, account_id=_connected(runtime, platform))
    with pytest.raises(ResourceMissing):
        runtime.db.transaction(disputes.retrieve, connected, dispute.id)


def test_a_charge_made_and_read_is_the_whole_record_init_builds(runtime: Runtime, platform: Actor) -> None:
    """A charge made (`new_charge`, `altered`) and read (`Charge.from_doc`) sets every field at once
    (payoutkit/ledger/frozen.py): each is the record `__init__` builds, and reads back as stored."""
    from dataclasses import fields

    destination = _connected(runtime, platform)
    for transfer_data in (None, ChargeTransfer(destination)):
        command = ChargeCommand(
            amount=1000, currency="usd", source="tok_visa", metadata={"k": "v"}, transfer_data=transfer_data
        )
        made = _paid_with(runtime, platform, command)
        read = runtime.db.transaction(charges.retrieve, platform, made.id)
        for charge in (made, read):
            assert vars(charge).keys() == {f.name for f in fields(Charge)}
            assert replace(charge) == charge
        assert read == made
        assert Charge.from_doc(made.doc()).doc() == made.doc()
