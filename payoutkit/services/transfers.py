"""Transfers from the platform's available balance to its connected accounts, and their reversals.

The destination receives a `payment` (`py_…`) available at once; a reversal takes it back, and may
drive the connected account negative (the platform's reserve follows when it is liable).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from sqlalchemy import Connection

from payoutkit.api.context import Ctx
from payoutkit.api.errors import InvalidRequest, ResourceMissing
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Bool, Int, Metadata, Params, metadata_update
from payoutkit.ids import new_id
from payoutkit.ledger.booking import book_application_fee_refund, book_transfer, book_transfer_reversal
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import SourceType, require_available
from payoutkit.services.common import check_id, connected_account, list_owned, owned, require_platform
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.money import Movement, key, movement
from payoutkit.store import objects
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
        {
            "id": pid,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": mv.txn_for(destination, pid),
            "captured": True,
            "created": ctx.now,
            "currency": currency,
            "description": None,
            "disputed": False,
            "livemode": ctx.livemode,
            "metadata": {},
            "paid": True,
            "refunded": False,
            "source_transfer": tid,
            "status": "succeeded",
            "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{pid}/refunds"},
            "transfer_group": p.transfer_group,
        },
        account_id=destination,
        parent_id=tid,
        status="succeeded",
    )
    emit_request(conn, ctx, "transfer.created", transfer)
    return transfer


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
    charge: dict[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Book a reversal on an already locked movement and record it on the transfer."""
    rid, pyr = new_id("trr"), new_id("pyr")
    before = copy.deepcopy(transfer)
    currency, destination = transfer["currency"], transfer["destination"]
    platform_key = key(ctx, ctx.platform_id, currency, transfer.get("source_type") or "card")
    mv.post(
        book_transfer_reversal(
            platform_key, destination, amount, reversal_id=rid, payment_refund_id=pyr, created=ctx.now
        )
    )
    if refund_application_fee and charge and charge.get("application_fee"):
        fee = objects.get(conn, charge["application_fee"], for_update=True)
        if fee is not None:
            fee_obj = fee[0]
            back = min(
                fee_obj["amount"] - fee_obj["amount_refunded"],
                fee_obj["amount"] * amount // max(transfer["amount"], 1),
            )
            if back > 0:
                fr = new_id("fr")
                mv.post(
                    book_application_fee_refund(
                        platform_key, destination, back, fee_refund_id=fr, created=ctx.now
                    )
                )
                fee_obj["amount_refunded"] += back
                fee_obj["refunded"] = fee_obj["amount_refunded"] == fee_obj["amount"]
                objects.save(conn, fee_obj)
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
    mv = movement(
        conn,
        ctx,
        [
            key(ctx, ctx.platform_id, transfer["currency"], st),
            key(ctx, transfer["destination"], transfer["currency"], st),
        ],
    )
    charge = None
    if transfer.get("source_transaction"):
        found = objects.get(conn, transfer["source_transaction"])
        charge = found[0] if found else None
    reversal = reverse(
        conn,
        ctx,
        mv,
        transfer,
        amount,
        metadata=metadata_update({}, p.metadata),
        refund_application_fee=bool(p.refund_application_fee),
        charge=charge,
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
