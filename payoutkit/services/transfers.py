"""Transfers from the platform's available balance to its connected accounts, and their reversals.

The destination receives a `payment` (`py_…`) available at once; a reversal takes it back, and may
drive the connected account negative (the platform's reserve follows when it is liable).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from sqlalchemy import Connection

from payoutkit.api import expand
from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Bool, Int, Metadata, Params, metadata_update
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.booking import book_transfer, book_transfer_reversal
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import SourceType, require_available
from payoutkit.services import application_fees
from payoutkit.services.access import connected_account, list_owned, owned
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.movement import Movement, key, movement
from payoutkit.services.policy import require_platform
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources


class TransferCreate(Params):
    amount: Int
    currency: str
    destination: str
    description: str | None = None
    metadata: Metadata = None
    source_type: Literal["bank_account", "card", "fpx"] | None = None
    transfer_group: str | None = None


class TransferUpdate(Params):
    description: str | None = None
    metadata: Metadata = None


class TransferList(ListParams):
    destination: str | None = None


class ReversalCreate(Params):
    amount: Int | None = None
    description: str | None = None
    metadata: Metadata = None
    refund_application_fee: Bool | None = None


class ReversalUpdate(Params):
    metadata: Metadata = None


def transfer_object(
    ctx: Ctx,
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
    return {
        "id": tid,
        "object": "transfer",
        "amount": amount,
        "amount_reversed": 0,
        "balance_transaction": txn,
        "created": ctx.now,
        "currency": currency,
        "description": description,
        "destination": destination,
        "destination_payment": payment_id,
        "livemode": ctx.livemode,
        "metadata": metadata or {},
        "reversals": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/transfers/{tid}/reversals",
        },
        "reversed": False,
        "source_transaction": source_transaction,
        "source_type": source_type,
        "transfer_group": transfer_group,
    }


def payment_object(
    ctx: Ctx,
    payment_id: str,
    amount: int,
    currency: str,
    transfer_id: str,
    txn: str,
    *,
    transfer_group: str | None,
) -> dict[str, Any]:
    """The payment (`py_…`) a transfer makes on its destination: a charge with every field of one."""
    return {
        "id": payment_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": txn,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": None,
        "captured": True,
        "created": ctx.now,
        "currency": currency,
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": ctx.livemode,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": None,
        "paid": True,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_details": None,
        "receipt_email": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/charges/{payment_id}/refunds",
        },
        "source_transfer": transfer_id,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": transfer_group,
    }


def create(conn: Connection, ctx: Ctx, p: TransferCreate) -> dict[str, Any]:
    require_platform(ctx, "create transfers")
    currency = check_currency(p.currency)
    amount = check_amount(p.amount, currency)
    check_id(p.destination, ("acct",), "destination", "account")
    destination = connected_account(conn, ctx, p.destination, param="destination").id
    source_type = SourceType(p.source_type or "card")
    tid, pid = new_id("tr"), new_id("py")
    entries = book_transfer(
        key(ctx, ctx.account_id, currency, source_type),
        destination,
        amount,
        transfer_id=tid,
        payment_id=pid,
        created=ctx.now,
        description=p.description,
    )
    source = key(ctx, ctx.account_id, currency, source_type)
    mv = movement(conn, ctx, [e.key for e in entries], exact=[source])
    require_available(mv.bucket(source), amount)
    mv.post(entries)
    mv.sync_reserves()
    transfer = transfer_object(
        ctx,
        tid,
        amount,
        currency,
        destination,
        pid,
        mv.txn_for(ctx.account_id, tid),
        source_type.value,
        p.transfer_group,
        description=p.description,
        metadata=metadata_update({}, p.metadata),
    )
    objects.create(conn, transfer, account_id=ctx.account_id, parent_id=destination)
    objects.create(
        conn,
        payment_object(
            ctx, pid, amount, currency, tid, mv.txn_for(destination, pid), transfer_group=p.transfer_group
        ),
        account_id=destination,
        parent_id=tid,
        status="succeeded",
    )
    emit_request(conn, ctx, "transfer.created", transfer)
    return transfer


def _record_payment_refund(
    conn: Connection,
    ctx: Ctx,
    mv: Movement,
    transfer: dict[str, Any],
    refund_id: str,
    amount: int,
    *,
    reversal_id: str,
) -> dict[str, Any]:
    """The refund (`pyr_…`) of the destination payment that a reversal takes back, on the connected
    account: the source of its `payment_refund` balance transaction. Returns it as the payment's
    `refunds` list shows it."""
    destination = transfer["destination"]
    refund = {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": mv.txn_for(destination, refund_id),
        "charge": transfer["destination_payment"],
        "created": ctx.now,
        "currency": transfer["currency"],
        "metadata": {},
        "payment_intent": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": reversal_id,
        "status": "succeeded",
        "transfer_reversal": None,
    }
    objects.create(
        conn,
        {**refund, "livemode": ctx.livemode},
        account_id=destination,
        parent_id=transfer["destination_payment"],
        status="succeeded",
    )
    return refund


def reverse(
    conn: Connection,
    ctx: Ctx,
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
    """Book a reversal on an already locked movement and record it on the transfer.

    The destination's payment (`py_`, `payment`) is refunded by as much; when the connected account
    refunds it, `payment_refund_id` is that refund. Locks are taken in one order everywhere: charge,
    transfer, payment (`locked_payment`, before the movement), balance buckets, application fee.
    """
    rid, pyr = new_id("trr"), payment_refund_id or new_id("pyr")
    before = copy.deepcopy(transfer)
    currency, destination = transfer["currency"], transfer["destination"]
    source_type = transfer.get("source_type") or "card"
    platform_key = key(ctx, ctx.platform_id, currency, source_type)
    mv.post(
        book_transfer_reversal(
            platform_key, destination, amount, reversal_id=rid, payment_refund_id=pyr, created=ctx.now
        )
    )
    if payment_refund_id is None:
        # A reversal the platform makes refunds the payment by a refund of its own; when the
        # connected account refunds its payment, that refund is already the object.
        refund = _record_payment_refund(conn, ctx, mv, transfer, pyr, amount, reversal_id=rid)
        if payment is not None:
            payment["refunds"]["data"] = [refund, *payment["refunds"]["data"]][:10]
    if payment is not None:
        payment["amount_refunded"] = min(payment["amount"], payment["amount_refunded"] + amount)
        payment["refunded"] = payment["amount_refunded"] == payment["amount"]
        objects.save(conn, payment)
    if refund_application_fee and payment is not None and payment.get("application_fee"):
        # A destination charge with an application fee transfers the whole charge: the reversal
        # counts towards the fee in the charge's units.
        application_fees.refund_in_proportion(
            conn,
            ctx,
            mv,
            payment["application_fee"],
            progress=amount,
            whole=transfer["amount"],
            source_type=source_type,
        )
    reversal = {
        "id": rid,
        "object": "transfer_reversal",
        "amount": amount,
        "balance_transaction": mv.txn_for(ctx.platform_id, rid),
        "created": ctx.now,
        "currency": currency,
        "destination_payment_refund": pyr,
        "metadata": metadata,
        "source_refund": source_refund,
        "transfer": transfer["id"],
    }
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
    transfer["reversals"]["data"] = [reversal, *transfer["reversals"]["data"]][:10]
    objects.save(conn, transfer)
    objects.create(
        conn, {**reversal, "livemode": ctx.livemode}, account_id=ctx.platform_id, parent_id=transfer["id"]
    )
    emit_request(
        conn,
        ctx,
        "transfer.reversed",
        transfer,
        account_id=ctx.platform_id,
        previous_attributes=previous_attributes(before, transfer),
    )
    return reversal


def locked_payment(conn: Connection, transfer: dict[str, Any]) -> dict[str, Any] | None:
    """The destination's payment (`py_`) of `transfer`, locked (take it before the movement)."""
    found = objects.get(conn, transfer["destination_payment"], for_update=True)
    return found[0] if found else None


def create_reversal(conn: Connection, ctx: Ctx, p: ReversalCreate, id: str) -> dict[str, Any]:
    require_platform(ctx, "reverse transfers")
    check_id(id, ("tr",), "id", "transfer")
    transfer = owned(conn, ctx, id, "transfer", for_update=True)
    remaining = transfer["amount"] - transfer["amount_reversed"]
    if remaining <= 0:
        raise InvalidRequest(
            f"Transfer {id} has already been fully reversed.",
            param="amount",
            code="transfer_already_reversed",
        )
    amount = remaining if p.amount is None else check_amount(p.amount, transfer["currency"])
    if amount > remaining:
        raise InvalidRequest(
            f"Reversal amount ({amount}) is greater than the amount left to reverse ({remaining}).",
            param="amount",
            code="amount_too_large",
        )
    st = transfer.get("source_type") or "card"
    payment = locked_payment(conn, transfer)
    mv = movement(
        conn,
        ctx,
        [
            key(ctx, ctx.platform_id, transfer["currency"], st),
            key(ctx, transfer["destination"], transfer["currency"], st),
        ],
    )
    reversal = reverse(
        conn,
        ctx,
        mv,
        transfer,
        amount,
        metadata=metadata_update({}, p.metadata),
        refund_application_fee=bool(p.refund_application_fee),
        payment=payment,
    )
    mv.sync_reserves()
    return reversal


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    if out.get("object") == "transfer_reversal":
        out.pop("livemode", None)
    return out


def retrieve(conn: Connection, ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    check_id(id, ("tr",), "id", "transfer")
    return owned(conn, ctx, id, "transfer")


def modify(conn: Connection, ctx: Ctx, p: TransferUpdate, id: str) -> dict[str, Any]:
    obj = retrieve(conn, ctx, p, id)
    before = copy.deepcopy(obj)
    if p.description is not None:
        obj["description"] = p.description
    obj["metadata"] = metadata_update(obj["metadata"], p.metadata)
    objects.save(conn, obj)
    if obj != before:
        emit_request(conn, ctx, "transfer.updated", obj, previous_attributes=previous_attributes(before, obj))
    return obj


def list_transfers(conn: Connection, ctx: Ctx, p: TransferList) -> dict[str, Any]:
    where = [resources.c.parent_id == p.destination] if p.destination else []
    return list_owned(conn, ctx, "transfer", p, "/v1/transfers", *where)


def list_reversals(conn: Connection, ctx: Ctx, p: ListParams, id: str) -> dict[str, Any]:
    retrieve(conn, ctx, p, id)
    return page(
        conn,
        resources,
        [resources.c.parent_id == id, resources.c.object == "transfer_reversal"],
        p,
        f"/v1/transfers/{id}/reversals",
        lambda r: _public(dict(r.data)),
    )


def retrieve_reversal(conn: Connection, ctx: Ctx, p: Params, id: str, reversal: str) -> dict[str, Any]:
    retrieve(conn, ctx, p, id)
    found = objects.get(conn, reversal)
    if found is None or found[0].get("transfer") != id:
        raise ResourceMissing.for_id("transfer reversal", reversal)
    return _public(found[0])


def modify_reversal(conn: Connection, ctx: Ctx, p: ReversalUpdate, id: str, reversal: str) -> dict[str, Any]:
    obj = retrieve_reversal(conn, ctx, p, id, reversal)
    obj["metadata"] = metadata_update(obj["metadata"], p.metadata)
    objects.save(conn, {**obj, "livemode": ctx.livemode})
    return obj


def _load_reversal(conn: Connection, ctx: Ctx, reversal_id: str) -> dict[str, Any] | None:
    found = objects.get(conn, reversal_id)
    return None if found is None else _public(found[0])


expand.register("trr", _load_reversal)
