"""Refunds: a charge's funds going back to the card they came from, or a payment's to its sender.

A connected account's payment (`py_`) came from the platform (a transfer, or a destination charge's
transfer), not from a card: refunding it returns the funds to the platform by reversing that
transfer, as Stripe does (the refund's `source_transfer_reversal`). Nothing goes to the outside.

A platform's refund with `reverse_transfer` takes back the transfer, and with
`refund_application_fee` gives back the fee, in proportion to the amount refunded: each refund
carries what the refunds so far (that asked for it) entitle to, less what was already taken back by
any path (`ledger.allocation`), so a full refund returns them exactly. The refunds that asked to
reverse a destination charge's transfer add up in the transfer's internal state (`REVERSAL_BASIS`).

Locks are taken in one order everywhere: charge, transfer, payment, balance buckets, application fee.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.allocation import next_share
from payoutkit.ledger.booking import book_refund
from payoutkit.ledger.money import check_amount
from payoutkit.ledger.postings import BucketKey, SourceType
from payoutkit.lists import Page, Window
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.charges import Charge, Refund
from payoutkit.records.transfers import Transfer
from payoutkit.services import application_fees
from payoutkit.services.actor import Actor
from payoutkit.services.application_fees import FeeProgress, payments_key
from payoutkit.services.charges import owned_charge, source_type_of
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.movement import Movement, movement
from payoutkit.services.policy import may_reach
from payoutkit.services.transfer_reversals import ReversalBooking, book_reversal, lock_payment, reversal_keys
from payoutkit.store import Tx
from payoutkit.store import charges as store
from payoutkit.store import transfers as transfers_store

# A destination charge's transfer's internal state: the sum of the refunds that asked to reverse it.
REVERSAL_BASIS = "refund_basis"


@dataclass(frozen=True, kw_only=True)
class RefundCommand:
    charge: str
    amount: int | None = None
    reason: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    reverse_transfer: bool = False
    refund_application_fee: bool = False


@dataclass(frozen=True, kw_only=True)
class RefundUpdate:
    refund: str
    metadata: MetadataChange = None  # merged into the refund's (payoutkit/metadata.py)


@dataclass(frozen=True, kw_only=True)
class _TakeBack:
    """A platform's refund of a charge, and what it takes back besides: the destination charge's
    transfer (locked, with the destination's payment) and the application fee."""

    charge: Charge
    refund_id: str
    amount: int
    source_type: SourceType
    transfer: Transfer | None
    payment: Charge | None  # the transfer's destination payment (`py_`)
    fee_id: str | None


def _refund_amount(command: RefundCommand, charge: Charge, remaining: int) -> int:
    """The amount `command` refunds of `charge`, of which `remaining` is left; refusals as Stripe's."""
    if charge.status != "succeeded":
        raise InvalidRequest("This charge did not succeed and cannot be refunded.", param="charge")
    if remaining <= 0:
        raise InvalidRequest(
            f"Charge {command.charge} has already been refunded.",
            param="charge",
            code="charge_already_refunded",
        )
    amount = remaining if command.amount is None else check_amount(command.amount, charge.currency)
    if amount > remaining:
        raise InvalidRequest(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    if charge.disputed:
        raise InvalidRequest(
            f"Charge {command.charge} has been charged back; it cannot be refunded.",
            param="charge",
            code="charge_disputed",
        )
    return amount


def _new_refund(actor: Actor, command: RefundCommand, refund_id: str, amount: int, currency: str) -> Refund:
    return Refund(
        id=refund_id,
        amount=amount,
        balance_transaction=None,
        charge=command.charge,
        created=actor.now,
        currency=currency,
        metadata=dict(command.metadata),
        reason=command.reason,
        livemode=actor.livemode,
    )


def _record(tx: Tx, actor: Actor, before: Charge, after: Charge, refund: Refund) -> None:
    """Store the refund and the charge it is listed on (`after`), and tell of both."""
    store.save_charge(tx, after)
    store.add_refund(tx, refund, account_id=actor.account_id)
    emit_request(tx, actor, "refund.created", refund.public())
    old, new = before.doc(), after.doc()
    emit_request(tx, actor, "charge.refunded", new, previous_attributes=previous_attributes(old, new))


def create_refund(tx: Tx, actor: Actor, command: RefundCommand) -> Refund:
    """Refund a charge to the card it came from, or a payment that came by transfer to its sender."""
    check_id(command.charge, ("ch", "py"), "charge", "charge")
    source_transfer = owned_charge(tx, actor, command.charge).source_transfer
    if source_transfer:
        return _refund_payment(tx, actor, command, source_transfer)
    charge = owned_charge(tx, actor, command.charge, for_update=True)
    amount = _refund_amount(command, charge, charge.remaining)
    transfer = None
    if command.reverse_transfer and charge.transfer:
        found = transfers_store.transfer(tx, charge.transfer, for_update=True)
        transfer = found[0] if found else None
    if command.reverse_transfer and transfer is None:
        raise InvalidRequest(
            "reverse_transfer applies to destination charges only.", param="reverse_transfer"
        )
    take = _TakeBack(
        charge=charge,
        refund_id=new_id("re"),
        amount=amount,
        source_type=source_type_of(charge),
        transfer=transfer,
        payment=lock_payment(tx, transfer) if transfer is not None else None,
        fee_id=charge.application_fee if command.refund_application_fee else None,
    )
    mv = _refund_movement(tx, actor, take)
    refund = _new_refund(actor, command, take.refund_id, amount, charge.currency)
    refund = replace(refund, balance_transaction=mv.txn_for(actor.account_id, take.refund_id))
    if take.transfer is not None:
        refund = replace(refund, transfer_reversal=_reverse_transfer(tx, actor, mv, take))
    if take.fee_id:
        step = FeeProgress(
            fee_id=take.fee_id, progress=amount, whole=charge.amount, source_type=take.source_type
        )
        application_fees.refund_fee(tx, actor, mv, step)
    mv.sync_reserves()
    _record(tx, actor, charge, charge.refunded_by(refund), refund)
    return refund


def _refund_movement(tx: Tx, actor: Actor, take: _TakeBack) -> Movement:
    """Lock the refund's buckets and post it: the owner's and the world's; the destination's and the
    platform's when a transfer is reversed or a fee given back (the fee's account is the destination
    or the owner)."""
    charge = take.charge
    k = payments_key(actor, actor.account_id, charge.currency, take.source_type)
    entries = book_refund(k, take.amount, refund_id=take.refund_id, created=actor.now)
    keys: list[BucketKey] = [e.key for e in entries]
    destination = charge.transfer_data.destination if charge.transfer_data else None
    if destination and (take.transfer is not None or take.fee_id):
        keys.append(payments_key(actor, destination, charge.currency, take.source_type))
    if take.transfer is not None or take.fee_id:
        keys.append(payments_key(actor, actor.platform_id, charge.currency, take.source_type))
    mv = movement(tx, actor, keys)
    mv.post(entries)
    return mv


def _reverse_transfer(tx: Tx, actor: Actor, mv: Movement, take: _TakeBack) -> str | None:
    """Reverse the share of the destination charge's transfer that the refunds so far entitle to:
    the reversal's id (None when nothing is due yet)."""
    transfer, whole = take.transfer, take.charge.amount
    assert transfer is not None
    state = store.internal(tx, transfer.id)
    basis = min(whole, int(state.get(REVERSAL_BASIS, 0)) + take.amount)
    store.save_internal(tx, transfer.id, {**state, REVERSAL_BASIS: basis})
    share = next_share(transfer.amount, whole, basis, transfer.amount_reversed)
    if share <= 0:
        return None
    booking = ReversalBooking(amount=share, source_refund=take.refund_id)
    return book_reversal(tx, actor, mv, (transfer, take.payment), booking).reversal.id


def _refund_payment(tx: Tx, actor: Actor, command: RefundCommand, transfer_id: str) -> Refund:
    """The connected account refunds a payment it received by transfer: the transfer is reversed."""
    found = transfers_store.transfer(tx, transfer_id, for_update=True)
    if found is None:
        raise InvalidRequest(f"The transfer of payment {command.charge} is gone.", param="charge")
    transfer = found[0]
    payment = owned_charge(tx, actor, command.charge, for_update=True)
    remaining = min(payment.remaining, transfer.remaining)
    amount = _refund_amount(command, payment, remaining)
    if command.reverse_transfer:
        raise InvalidRequest(
            "This payment came by transfer from the platform: refunding it reverses that transfer, "
            "and reverse_transfer does not apply.",
            param="reverse_transfer",
        )
    mv = movement(tx, actor, reversal_keys(actor, transfer))
    refund_id = new_id("pyr")
    booking = ReversalBooking(
        amount=amount, refund_application_fee=command.refund_application_fee, payment_refund_id=refund_id
    )
    done = book_reversal(tx, actor, mv, (transfer, payment), booking)
    assert done.payment is not None  # the payment, refunded by as much
    refund = replace(
        _new_refund(actor, command, refund_id, amount, payment.currency),
        balance_transaction=mv.txn_for(actor.account_id, refund_id),
        source_transfer_reversal=done.reversal.id,
    )
    mv.sync_reserves()
    _record(tx, actor, payment, done.payment.listing(refund), refund)
    return refund


def _owned_refund(tx: Tx, actor: Actor, refund_id: str) -> Refund:
    check_id(refund_id, ("re", "pyr"), "refund", "refund")
    found = store.refund(tx, refund_id)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("refund", refund_id, "refund")
    return found[0]


def retrieve_refund(tx: Tx, actor: Actor, refund_id: str) -> Refund:
    return _owned_refund(tx, actor, refund_id)


def modify_refund(tx: Tx, actor: Actor, command: RefundUpdate) -> Refund:
    before = _owned_refund(tx, actor, command.refund)
    after = replace(before, metadata=merge_metadata(before.metadata, command.metadata))
    store.save_refund(tx, after)
    old, new = before.public(), after.public()
    if new != old:
        emit_request(tx, actor, "refund.updated", new, previous_attributes=previous_attributes(old, new))
    return after


def list_refunds(tx: Tx, actor: Actor, window: Window, *, charge: str | None = None) -> Page[Refund]:
    return store.refunds(tx, actor.account_id, actor.livemode, window, charge=charge)


def load(tx: Tx, refund_id: str) -> Refund | None:
    """A refund by id, whoever's it is (expansion checks who may see it)."""
    found = store.refund(tx, refund_id)
    return None if found is None else found[0]
