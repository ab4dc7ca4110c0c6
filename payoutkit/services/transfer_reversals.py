"""Booking a transfer reversal: the one path by which every reversal is made.

The platform reverses by hand (`services/transfers.create_reversal`); a refund of a destination
charge with `reverse_transfer`, and a connected account refunding the payment it received, reverse
from the charges room. Each takes the locks in one order — charge, transfer, payment
(`lock_payment`), balance buckets (`reversal_keys`), application fee — and calls `book_reversal`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from payoutkit.ids import new_id
from payoutkit.ledger.booking import book_transfer_reversal
from payoutkit.ledger.postings import BucketKey
from payoutkit.records.charges import Charge, Refund
from payoutkit.records.transfers import Transfer, TransferReversal
from payoutkit.services import application_fees
from payoutkit.services.actor import Actor
from payoutkit.services.application_fees import payments_key
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.movement import Movement
from payoutkit.store import Tx
from payoutkit.store import charges as charges_store
from payoutkit.store import transfers as store


@dataclass(frozen=True, kw_only=True)
class ReversalBooking:
    """How a reversal comes about: by the platform (`payment_refund_id` None: the payment gets a
    refund of the reversal's own), by a refund of the platform's charge (`source_refund`), or by the
    connected account refunding its payment (`payment_refund_id`, that refund)."""

    amount: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    source_refund: str | None = None
    refund_application_fee: bool = False
    payment_refund_id: str | None = None


@dataclass(frozen=True)
class Reversed:
    reversal: TransferReversal
    transfer: Transfer
    payment: Charge | None  # the destination's payment (`py_`)


def reversal_keys(actor: Actor, transfer: Transfer) -> list[BucketKey]:
    """The buckets a reversal of `transfer` moves: the platform's and the destination's."""
    return [
        payments_key(actor, account, transfer.currency, transfer.source_type)
        for account in (actor.platform_id, transfer.destination)
    ]


def _payment_refund(actor: Actor, mv: Movement, transfer: Transfer, reversal: TransferReversal) -> Refund:
    """The refund (`pyr_…`) of the destination payment that a reversal takes back, on the connected
    account: the source of its `payment_refund` balance transaction."""
    refund_id = reversal.destination_payment_refund
    return Refund(
        id=refund_id,
        amount=reversal.amount,
        balance_transaction=mv.txn_for(transfer.destination, refund_id),
        charge=transfer.destination_payment,
        created=actor.now,
        currency=transfer.currency,
        source_transfer_reversal=reversal.id,
        livemode=actor.livemode,
    )


def _refund_payment(
    tx: Tx, actor: Actor, mv: Movement, r: Reversed, booking: ReversalBooking
) -> Charge | None:
    """The destination payment refunded by the reversal's amount (stored), and when the platform
    reversed, the payment refund that shows it (stored on the connected account)."""
    transfer, reversal, payment = r.transfer, r.reversal, r.payment
    refund = None
    if booking.payment_refund_id is None:
        # A reversal the platform makes refunds the payment by a refund of its own; when the
        # connected account refunds its payment, that refund is already the object.
        refund = _payment_refund(actor, mv, transfer, reversal)
        charges_store.add_refund(tx, refund, account_id=transfer.destination)
    if payment is None:
        return None
    refunded = min(payment.amount, payment.amount_refunded + reversal.amount)
    payment = replace(payment, amount_refunded=refunded, refunded=refunded == payment.amount)
    if refund is not None:
        payment = payment.listing(refund)
    charges_store.save_charge(tx, payment)
    return payment


def _refund_fee(tx: Tx, actor: Actor, mv: Movement, transfer: Transfer, fee_id: str, amount: int) -> None:
    """A destination charge with an application fee transfers the whole charge: the reversal counts
    towards the fee in the charge's units."""
    step = application_fees.FeeProgress(
        fee_id=fee_id, progress=amount, whole=transfer.amount, source_type=transfer.source_type
    )
    application_fees.refund_fee(tx, actor, mv, step)


def book_reversal(
    tx: Tx,
    actor: Actor,
    mv: Movement,
    found: tuple[Transfer, Charge | None],
    booking: ReversalBooking,
) -> Reversed:
    """Book a reversal on an already locked movement (`reversal_keys`) and record it on the transfer.

    The destination's payment (`py_`, locked: `lock_payment`, before the movement) is refunded by
    as much. Locks are taken in one order everywhere: charge, transfer, payment, balance buckets,
    application fee.
    """
    transfer, payment = found
    rid = new_id("trr")
    pyr = booking.payment_refund_id or new_id("pyr")
    platform_key = payments_key(actor, actor.platform_id, transfer.currency, transfer.source_type)
    mv.post(
        book_transfer_reversal(
            platform_key,
            transfer.destination,
            booking.amount,
            reversal_id=rid,
            payment_refund_id=pyr,
            created=actor.now,
        )
    )
    reversal = TransferReversal(
        id=rid,
        amount=booking.amount,
        balance_transaction=mv.txn_for(actor.platform_id, rid),
        created=actor.now,
        currency=transfer.currency,
        destination_payment_refund=pyr,
        metadata=dict(booking.metadata),
        source_refund=booking.source_refund,
        transfer=transfer.id,
        livemode=actor.livemode,
    )
    payment = _refund_payment(tx, actor, mv, Reversed(reversal, transfer, payment), booking)
    if booking.refund_application_fee and payment is not None and payment.application_fee:
        _refund_fee(tx, actor, mv, transfer, payment.application_fee, booking.amount)
    after = transfer.with_reversal(reversal)
    store.save_transfer(tx, after)
    store.insert_reversal(tx, reversal, owner=actor.platform_id)
    old, new = transfer.doc(), after.doc()
    emit_request(
        tx,
        actor,
        "transfer.reversed",
        new,
        account_id=actor.platform_id,
        previous_attributes=previous_attributes(old, new),
    )
    return Reversed(reversal, after, payment)


def lock_payment(tx: Tx, transfer: Transfer) -> Charge | None:
    """The destination's payment (`py_`) of `transfer`, locked (take it before the movement)."""
    found = charges_store.charge(tx, transfer.destination_payment, for_update=True)
    return None if found is None else found[0]
