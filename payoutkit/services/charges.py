"""Charges: the funds that come in.

A charge is made on the acting account (a direct charge when that is a connected account) or, with
`transfer_data[destination]`, on the platform for a connected account (a destination charge). Its
`source` is a test token that selects the source type and the outcome (`services/test_tokens.py`,
docs/testing.md). Funds arrive pending until `available_on`: the account's `delay_days` (or the
source type's settlement time, if longer) in business days; `tok_bypassPending` makes them available
at once. A declined card is an outcome, not a refusal: the failed charge is kept and returned with
the decline (`ChargeResult`), and the unit commits.

Creating one goes in steps: the checks of the command (`services/charge_checks.py`), the source
(`charge_source`), the booking (`_book`), and the records it leaves (the application fee, the
destination's payment and transfer, a dispute), then the charge itself and its events.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from payoutkit.config import Pricing
from payoutkit.errors import CardError, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger import booking, calendar
from payoutkit.ledger.booking import book_charge
from payoutkit.ledger.frozen import altered
from payoutkit.ledger.postings import SourceType, TxnStatus
from payoutkit.lists import Page, Window
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.charges import Charge, TransferData
from payoutkit.records.transfers import Transfer
from payoutkit.services import application_fees, disputes
from payoutkit.services.actor import Actor
from payoutkit.services.application_fees import NewFee, payments_key
from payoutkit.services.charge_checks import Checked, check
from payoutkit.services.events import emit, emit_request, previous_attributes
from payoutkit.services.movement import Movement, movement
from payoutkit.services.new_charges import ChargeCommand, declined, new_charge, payment_of
from payoutkit.services.policy import may_reach
from payoutkit.services.test_tokens import TestSource, charge_source
from payoutkit.store import Tx
from payoutkit.store import charges as store
from payoutkit.store import transfers as transfers_store

SOURCE_TYPES = {"card": SourceType.CARD, "ach_debit": SourceType.BANK_ACCOUNT, "fpx": SourceType.FPX}


@dataclass(frozen=True, kw_only=True)
class ChargeUpdate:
    charge: str
    description: str | None = None
    metadata: MetadataChange = None  # merged into the charge's (payoutkit/metadata.py)
    receipt_email: str | None = None
    transfer_group: str | None = None


@dataclass(frozen=True)
class ChargeResult:
    """What creating a charge did: the charge, and the decline when the card was declined (the
    charge is then stored as failed, and the decline is the answer)."""

    charge: Charge
    declined: CardError | None = None
    # The charge's document as stored (made once, in `create`): what the API answers with.
    doc: dict[str, Any] | None = None


def source_type_of(charge: Charge) -> SourceType:
    return SOURCE_TYPES[charge.method_type]


def _delay(tx: Tx, actor: Actor, src: TestSource) -> int | None:
    """The days the charge's funds stay pending (None: available at once). The account's delay is
    read with its platform's webhook endpoints, for the charge's events, and with the simulated clock:
    read before the charge takes its time (`actor.now`), it spares the unit the clock's own read."""
    if src.bypass_pending:
        return None
    delay = store.delay_days(tx, actor.account_id, livemode=actor.livemode, endpoints_of=actor.platform_id)
    if delay is None:
        raise ResourceMissing.for_id("account", actor.account_id)
    return max(delay, calendar.SETTLEMENT_DELAY_DAYS[src.source_type.value])


@dataclass(frozen=True)
class _Terms:
    """What the booking of a charge takes beyond its request: its processing fee, and when its funds
    become available."""

    fee: int
    available_on: int


def _terms(actor: Actor, checked: Checked, src: TestSource, pricing: Pricing, delay: int | None) -> _Terms:
    fee = pricing.processing[src.source_type.value].fee_for(checked.amount)
    return _Terms(fee, actor.now if delay is None else calendar.available_on(actor.now, delay))


def _book(
    tx: Tx, actor: Actor, checked: Checked, charge: Charge, src: TestSource, terms: _Terms
) -> tuple[booking.Charge, Movement]:
    """Post the charge's entries (its fees, the destination's transfer) on a locked movement."""
    destination = checked.destination
    booked = booking.Charge(
        key=payments_key(actor, actor.account_id, checked.currency, src.source_type),
        amount=checked.amount,
        processing_fee=terms.fee,
        application_fee=checked.application_fee,
        created=actor.now,
        available_on=terms.available_on,
        charge_id=charge.id,
        platform=actor.platform_id,
        description=charge.description,
        destination=destination,
        transfer_id=new_id("tr") if destination else None,
        payment_id=new_id("py") if destination else None,
        application_fee_id=new_id("fee") if checked.application_fee else None,
        transfer_amount=checked.transfer_amount,
    )
    entries = book_charge(booked)
    # Only funds that are available at once (bypassPending) or a dispute move available balances.
    moves_available = src.dispute or any(
        e.status is TxnStatus.AVAILABLE for e in entries if e.key.account.startswith("acct_")
    )
    mv = movement(tx, actor, [e.key for e in entries], available=moves_available)
    mv.post(entries)
    return booked, mv


def _take_fee(tx: Tx, actor: Actor, booked: booking.Charge, mv: Movement) -> str | None:
    """The application fee's record, when the charge took one from a connected account."""
    connected = booked.destination or (None if actor.is_platform else actor.account_id)
    if not (booked.application_fee_id and connected):
        return None
    new = NewFee(
        id=booked.application_fee_id,
        account=connected,
        amount=booked.application_fee,
        currency=booked.key.currency,
        charge=booked.payment_id or booked.charge_id,
        originating=booked.charge_id,
        balance_transaction=mv.txn_for(actor.platform_id, booked.application_fee_id),
    )
    return application_fees.record_fee(tx, actor, new).id


def _pay_destination(
    tx: Tx, actor: Actor, charge: Charge, booked: booking.Charge, mv: Movement, src: TestSource
) -> Transfer:
    """A destination charge's transfer and the destination's payment (`py_`), stored: the transfer."""
    assert booked.destination
    assert booked.transfer_id
    assert booked.payment_id
    payment = payment_of(charge, booked, mv.txn_for(booked.destination, booked.payment_id))
    store.add_charge(tx, payment, account_id=booked.destination, parent_id=charge.id)
    transfer = Transfer(
        id=booked.transfer_id,
        amount=booked.transfer_amount,
        amount_reversed=0,
        balance_transaction=mv.txn_for(actor.platform_id, booked.transfer_id),
        created=actor.now,
        currency=charge.currency,
        description=None,
        destination=booked.destination,
        destination_payment=booked.payment_id,
        livemode=actor.livemode,
        metadata={},
        reversals=(),
        reversed=False,
        source_transaction=charge.id,
        source_type=src.source_type.value,
        transfer_group=charge.transfer_group,
    )
    transfers_store.insert_transfer(tx, transfer, owner=actor.platform_id)
    return transfer


def create(tx: Tx, actor: Actor, command: ChargeCommand, *, pricing: Pricing) -> ChargeResult:
    checked = check(tx, actor, command)
    src = charge_source(command.source, checked.currency, actor.livemode)
    delay = _delay(tx, actor, src) if src.decline is None else None
    charge = new_charge(actor, new_id("ch"), command, src, checked.currency)
    if src.decline is not None:
        failed, decline = declined(charge, src.decline)
        store.add_charge(tx, failed, account_id=actor.account_id)
        emit_request(tx, actor, "charge.failed", failed.doc())
        return ChargeResult(failed, decline)
    booked, mv = _book(tx, actor, checked, charge, src, _terms(actor, checked, src, pricing, delay))
    charge = altered(
        charge,
        balance_transaction=mv.txn_for(actor.account_id, charge.id),
        application_fee=_take_fee(tx, actor, booked, mv),
    )
    transfer = None
    if booked.destination and booked.transfer_id:
        amount = command.transfer_data.amount if command.transfer_data else None
        charge = altered(
            charge, transfer=booked.transfer_id, transfer_data=TransferData(booked.destination, amount)
        )
        transfer = _pay_destination(tx, actor, charge, booked, mv, src)
    dispute = None
    if src.dispute:
        bucket = payments_key(actor, actor.account_id, charge.currency, source_type_of(charge))
        charge, dispute = disputes.open_dispute(tx, actor, charge, mv, bucket=bucket, fee=pricing.dispute_fee)
    mv.sync_reserves()
    doc = charge.doc()  # made once: stored, then the event's own snapshot
    store.add_charge(tx, charge, account_id=actor.account_id, doc=doc)
    mine = actor.account_id
    emit(tx, actor, "charge.succeeded", doc, platform_id=actor.platform_id, account_id=mine, handed_over=True)
    if transfer is not None:
        emit_request(tx, actor, "transfer.created", transfer.doc())
    if dispute is not None:
        emit_request(tx, actor, "charge.dispute.created", disputes.shown(tx, dispute).doc())
    # The stored and emitted document is serialized by now: the answer may be the same dict.
    return ChargeResult(charge, doc=doc)


def owned_charge(tx: Tx, actor: Actor, charge_id: str, *, for_update: bool = False) -> Charge:
    """A charge (or payment) of the acting account, in its mode; else 404."""
    found = store.charge(tx, charge_id, for_update=for_update)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("charge", charge_id, "charge")
    return found[0]


def retrieve(tx: Tx, actor: Actor, charge_id: str) -> Charge:
    check_id(charge_id, ("ch", "py"), "charge", "charge")
    return owned_charge(tx, actor, charge_id)


def modify(tx: Tx, actor: Actor, command: ChargeUpdate) -> Charge:
    before = retrieve(tx, actor, command.charge)
    changes = {
        name: getattr(command, name)
        for name in ("description", "receipt_email", "transfer_group")
        if getattr(command, name) is not None
    }
    metadata = merge_metadata(before.metadata, command.metadata)
    after = replace(before, **changes, metadata=metadata)
    store.save_charge(tx, after)
    old, new = before.doc(), after.doc()
    if new != old:
        emit_request(tx, actor, "charge.updated", new, previous_attributes=previous_attributes(old, new))
    return after


def list_charges(tx: Tx, actor: Actor, window: Window) -> Page[Charge]:
    return store.charges(tx, actor.account_id, actor.livemode, window)


def load(tx: Tx, charge_id: str) -> Charge | None:
    """A charge (or payment) by id, whoever's it is (expansion checks who may see it)."""
    found = store.charge(tx, charge_id)
    return None if found is None else found[0]
