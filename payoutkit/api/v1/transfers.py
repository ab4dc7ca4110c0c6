"""`/v1/transfers` and `/v1/transfers/{id}/reversals`: parameters, handlers, and rendering.

A transfer renders as it is stored; a reversal without `livemode` (as its transfer's list shows it).
"""

from __future__ import annotations

from typing import Any, Literal

from payoutkit.api import expand
from payoutkit.api.context import Call, Ctx
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Int, Metadata, Params, metadata_update
from payoutkit.records.transfers import Transfer, TransferReversal
from payoutkit.services import transfers
from payoutkit.store import Tx
from payoutkit.store import transfers as store


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


def render_transfer(transfer: Transfer) -> dict[str, Any]:
    return transfer.doc()


def render_reversal(reversal: TransferReversal) -> dict[str, Any]:
    return reversal.embedded()


# -- transfers -------------------------------------------------------------------------------------


def create(call: Call, p: TransferCreate) -> dict[str, Any]:
    command = transfers.NewTransfer(
        amount=p.amount,
        currency=p.currency,
        destination=p.destination,
        description=p.description,
        metadata=metadata_update({}, p.metadata),
        source_type=p.source_type,
        transfer_group=p.transfer_group,
    )
    return render_transfer(transfers.create(call.conn, call.actor, command))


def retrieve(call: Call, p: Params, id: str) -> dict[str, Any]:
    return render_transfer(transfers.retrieve(call.conn, call.actor, id))


def modify(call: Call, p: TransferUpdate, id: str) -> dict[str, Any]:
    metadata = None
    if p.metadata is not None:
        current = transfers.retrieve(call.conn, call.actor, id)
        metadata = metadata_update(dict(current.metadata), p.metadata)
    command = transfers.TransferChanges(transfer=id, description=p.description, metadata=metadata)
    return render_transfer(transfers.update(call.conn, call.actor, command))


def list_transfers(call: Call, p: TransferList) -> dict[str, Any]:
    query = transfers.TransferQuery(window=window_of(p), destination=p.destination)
    found = transfers.list_transfers(call.conn, call.actor, query)
    return render_page(found, "/v1/transfers", render_transfer)


# -- reversals -------------------------------------------------------------------------------------


def create_reversal(call: Call, p: ReversalCreate, id: str) -> dict[str, Any]:
    command = transfers.NewReversal(
        transfer=id,
        amount=p.amount,
        metadata=metadata_update({}, p.metadata),
        refund_application_fee=bool(p.refund_application_fee),
    )
    return render_reversal(transfers.create_reversal(call.conn, call.actor, command))


def list_reversals(call: Call, p: ListParams, id: str) -> dict[str, Any]:
    query = transfers.ReversalQuery(transfer=id, window=window_of(p))
    found = transfers.list_reversals(call.conn, call.actor, query)
    return render_page(found, f"/v1/transfers/{id}/reversals", render_reversal)


def retrieve_reversal(call: Call, p: Params, id: str, reversal: str) -> dict[str, Any]:
    ref = transfers.ReversalRef(transfer=id, reversal=reversal)
    return render_reversal(transfers.retrieve_reversal(call.conn, call.actor, ref))


def modify_reversal(call: Call, p: ReversalUpdate, id: str, reversal: str) -> dict[str, Any]:
    current = transfers.retrieve_reversal(
        call.conn, call.actor, transfers.ReversalRef(transfer=id, reversal=reversal)
    )
    command = transfers.ReversalChanges(
        transfer=id, reversal=reversal, metadata=metadata_update(dict(current.metadata), p.metadata)
    )
    return render_reversal(transfers.update_reversal(call.conn, call.actor, command))


def _load_reversal(tx: Tx, ctx: Ctx, reversal_id: str) -> dict[str, Any] | None:
    found = store.reversal(tx, reversal_id)
    return None if found is None else render_reversal(found[0])


expand.register("trr", _load_reversal)
