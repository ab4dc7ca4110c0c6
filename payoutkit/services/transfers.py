"""Transfers from the platform's available balance to its connected accounts, and their reversals.

The destination receives a `payment` (`py_…`) available at once; a reversal takes it back, and may
drive the connected account negative (the platform's reserve follows when it is liable). Reversals
come from here (the platform reverses by hand) and from the charges room (a refund with
`reverse_transfer`, or the connected account refunding its payment), all through `book_reversal`
(`services/transfer_reversals.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.booking import book_transfer
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import SourceType, require_available
from payoutkit.lists import Page, Window
from payoutkit.records.charges import Charge, embedded_list
from payoutkit.records.transfers import Transfer, TransferReversal
from payoutkit.services.access import connected_account
from payoutkit.services.actor import Actor
from payoutkit.services.application_fees import payments_key
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.movement import Movement, movement
from payoutkit.services.policy import may_reach, require_platform
from payoutkit.services.transfer_reversals import (
    ReversalBooking,
    book_reversal,
    lock_payment,
    reversal_keys,
)
from payoutkit.store import Tx
from payoutkit.store import charges as charges_store
from payoutkit.store import transfers as store

# -- commands --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NewTransfer:
    amount: int
    currency: str
    destination: str
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    source_type: str | None = None  # bank_account, card (default) or fpx
    transfer_group: str | None = None


@dataclass(frozen=True, kw_only=True)
class TransferChanges:
    transfer: str
    description: str | None = None
    metadata: Mapping[str, str] | None = None  # the whole new metadata, when it changes


@dataclass(frozen=True, kw_only=True)
class TransferQuery:
    window: Window
    destination: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewReversal:
    transfer: str
    amount: int | None = None  # None: what is left to reverse
    metadata: Mapping[str, str] = field(default_factory=dict)
    refund_application_fee: bool = False


@dataclass(frozen=True, kw_only=True)
class ReversalRef:
    transfer: str
    reversal: str


@dataclass(frozen=True, kw_only=True)
class ReversalChanges:
    transfer: str
    reversal: str
    metadata: Mapping[str, str]  # the whole new metadata


@dataclass(frozen=True, kw_only=True)
class ReversalQuery:
    transfer: str
    window: Window


# -- transfers -------------------------------------------------------------------------------------


def create(tx: Tx, actor: Actor, command: NewTransfer) -> Transfer:
    require_platform(actor, "create transfers")
    currency = check_currency(command.currency)
    amount = check_amount(command.amount, currency)
    check_id(command.destination, ("acct",), "destination", "account")
    destination = connected_account(tx, actor, command.destination, param="destination").id
    source_type = SourceType(command.source_type or "card")
    tid, pid = new_id("tr"), new_id("py")
    source = payments_key(actor, actor.account_id, currency, source_type)
    entries = book_transfer(
        source,
        destination,
        amount,
        transfer_id=tid,
        payment_id=pid,
        created=actor.now,
        description=command.description,
    )
    mv = movement(tx, actor, [e.key for e in entries], exact=[source])
    require_available(mv.bucket(source), amount)
    mv.post(entries)
    mv.sync_reserves()
    transfer = Transfer(
        id=tid,
        amount=amount,
        amount_reversed=0,
        balance_transaction=mv.txn_for(actor.account_id, tid),
        created=actor.now,
        currency=currency,
        description=command.description,
        destination=destination,
        destination_payment=pid,
        livemode=actor.livemode,
        metadata=dict(command.metadata),
        reversals=(),
        reversed=False,
        source_transaction=None,
        source_type=source_type.value,
        transfer_group=command.transfer_group,
    )
    store.insert_transfer(tx, transfer, owner=actor.account_id)
    payment = destination_payment(transfer, mv.txn_for(destination, pid))
    charges_store.add_charge(tx, payment, account_id=destination, parent_id=tid)
    emit_request(tx, actor, "transfer.created", transfer.doc())
    return transfer


def destination_payment(transfer: Transfer, txn: str) -> Charge:
    """The payment (`py_…`) a transfer made by hand brings its destination: a charge with every field
    of one (a destination charge's payment is made from its charge: `new_charges.payment_of`)."""
    pid = transfer.destination_payment
    return Charge(
        id=pid,
        amount=transfer.amount,
        amount_captured=transfer.amount,
        amount_refunded=0,
        application=None,
        application_fee=None,
        application_fee_amount=None,
        balance_transaction=txn,
        billing_details={"address": None, "email": None, "name": None, "phone": None},
        calculated_statement_descriptor=None,
        captured=True,
        created=transfer.created,
        currency=transfer.currency,
        customer=None,
        description=None,
        disputed=False,
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        fraud_details={},
        livemode=transfer.livemode,
        metadata={},
        on_behalf_of=None,
        outcome=None,
        paid=True,
        payment_intent=None,
        payment_method=None,
        payment_method_details=None,
        receipt_email=None,
        refunded=False,
        refunds=embedded_list(f"/v1/charges/{pid}/refunds"),
        source_transfer=transfer.id,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="succeeded",
        transfer_data=None,
        transfer_group=transfer.transfer_group,
    )


def _owned(tx: Tx, actor: Actor, transfer_id: str, *, for_update: bool = False) -> Transfer:
    check_id(transfer_id, ("tr",), "id", "transfer")
    found = store.transfer(tx, transfer_id, for_update=for_update)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("transfer", transfer_id)
    return found[0]


def retrieve(tx: Tx, actor: Actor, transfer_id: str) -> Transfer:
    return _owned(tx, actor, transfer_id)


def update(tx: Tx, actor: Actor, command: TransferChanges) -> Transfer:
    before = _owned(tx, actor, command.transfer)
    after = before
    if command.description is not None:
        after = replace(after, description=command.description)
    if command.metadata is not None:
        after = replace(after, metadata=dict(command.metadata))
    store.save_transfer(tx, after)
    if after != before:
        old, new = before.doc(), after.doc()
        emit_request(tx, actor, "transfer.updated", new, previous_attributes=previous_attributes(old, new))
    return after


def list_transfers(tx: Tx, actor: Actor, query: TransferQuery) -> Page[Transfer]:
    return store.list_transfers(
        tx, actor.account_id, actor.livemode, query.window, destination=query.destination
    )


# -- reversals -------------------------------------------------------------------------------------


def _reversal_amount(transfer: Transfer, amount: int | None) -> int:
    remaining = transfer.remaining
    if remaining <= 0:
        raise InvalidRequest(
            f"Transfer {transfer.id} has already been fully reversed.",
            param="amount",
            code="transfer_already_reversed",
        )
    wanted = remaining if amount is None else check_amount(amount, transfer.currency)
    if wanted > remaining:
        raise InvalidRequest(
            f"Reversal amount ({wanted}) is greater than the amount left to reverse ({remaining}).",
            param="amount",
            code="amount_too_large",
        )
    return wanted


def create_reversal(tx: Tx, actor: Actor, command: NewReversal) -> TransferReversal:
    require_platform(actor, "reverse transfers")
    transfer = _owned(tx, actor, command.transfer, for_update=True)
    amount = _reversal_amount(transfer, command.amount)
    payment = lock_payment(tx, transfer)
    mv = movement(tx, actor, reversal_keys(actor, transfer))
    booking = ReversalBooking(
        amount=amount, metadata=command.metadata, refund_application_fee=command.refund_application_fee
    )
    done = book_reversal(tx, actor, mv, (transfer, payment), booking)
    mv.sync_reserves()
    return done.reversal


def retrieve_reversal(tx: Tx, actor: Actor, ref: ReversalRef) -> TransferReversal:
    _owned(tx, actor, ref.transfer)
    found = store.reversal(tx, ref.reversal)
    if found is None or found[0].transfer != ref.transfer:
        raise ResourceMissing.for_id("transfer reversal", ref.reversal)
    return found[0]


def update_reversal(tx: Tx, actor: Actor, command: ReversalChanges) -> TransferReversal:
    reversal = retrieve_reversal(tx, actor, ReversalRef(transfer=command.transfer, reversal=command.reversal))
    reversal = replace(reversal, metadata=dict(command.metadata), livemode=actor.livemode)
    store.save_reversal(tx, reversal)
    return reversal


def list_reversals(tx: Tx, actor: Actor, query: ReversalQuery) -> Page[TransferReversal]:
    _owned(tx, actor, query.transfer)
    return store.list_reversals(tx, query.transfer, query.window)


# -- transitional (issue 8): the charges room's calls of today, on stored documents -----------------


def transfer_object(  # noqa: PLR0913
    ctx: Actor,
    tid: str,
    amount: int,
    currency: str,
    destination: str,
    payment_id: str,
    txn: str,
    source_type: str,
    transfer_group: str | None,
    *,
    source_transaction: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Transitional: the stored document of a new transfer (a destination charge's)."""
    return Transfer(
        id=tid,
        amount=amount,
        amount_reversed=0,
        balance_transaction=txn,
        created=ctx.now,
        currency=currency,
        description=description,
        destination=destination,
        destination_payment=payment_id,
        livemode=ctx.livemode,
        metadata=metadata or {},
        reversals=(),
        reversed=False,
        source_transaction=source_transaction,
        source_type=source_type,
        transfer_group=transfer_group,
    ).doc()


def locked_payment(tx: Tx, transfer: dict[str, Any]) -> dict[str, Any] | None:
    """Transitional: `lock_payment` on the stored document of a transfer."""
    found = charges_store.charge(tx, transfer["destination_payment"], for_update=True)
    return None if found is None else found[0].doc()


def reverse(  # noqa: PLR0913
    tx: Tx,
    ctx: Actor,
    mv: Movement,
    transfer: dict[str, Any],
    amount: int,
    *,
    metadata: dict[str, str],
    source_refund: str | None = None,
    refund_application_fee: bool = False,
    payment_refund_id: str | None = None,
    payment: dict[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Transitional: `book_reversal` on stored documents, which it updates in place. Returns the
    reversal as the transfer's list shows it."""
    found = (Transfer.from_doc(transfer), None if payment is None else Charge.from_doc(payment))
    booking = ReversalBooking(
        amount=amount,
        metadata=metadata,
        source_refund=source_refund,
        refund_application_fee=refund_application_fee,
        payment_refund_id=payment_refund_id,
    )
    done = book_reversal(tx, ctx, mv, found, booking)
    transfer.clear()
    transfer.update(done.transfer.doc())
    if payment is not None and done.payment is not None:
        payment.clear()
        payment.update(done.payment.doc())
    return done.reversal.embedded()
