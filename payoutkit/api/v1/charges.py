"""`/v1/charges`: parameters, handlers and the charge as Stripe renders it."""

from __future__ import annotations

from typing import Any

from payoutkit.api import expand
from payoutkit.api.context import Call, Refused
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Int, Metadata, Nested, Params, metadata_update
from payoutkit.records.charges import Charge
from payoutkit.services import charges, new_charges
from payoutkit.services.actor import Actor
from payoutkit.store import Tx


class TransferData(Nested):
    destination: str
    amount: Int | None = None


class ChargeCreate(Params):
    amount: Int
    currency: str
    source: str | None = None
    description: str | None = None
    metadata: Metadata = None
    application_fee_amount: Int | None = None
    transfer_data: TransferData | None = None
    transfer_group: str | None = None
    on_behalf_of: str | None = None
    capture: Bool | None = None
    receipt_email: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None


class ChargeUpdate(Params):
    description: str | None = None
    metadata: Metadata = None
    receipt_email: str | None = None
    transfer_group: str | None = None


def render(charge: Charge) -> dict[str, Any]:
    return charge.doc()


def _command(p: ChargeCreate) -> new_charges.ChargeCommand:
    td = p.transfer_data
    return new_charges.ChargeCommand(
        amount=p.amount,
        currency=p.currency,
        source=p.source,
        description=p.description,
        metadata=metadata_update({}, p.metadata),
        application_fee_amount=p.application_fee_amount,
        transfer_data=None if td is None else new_charges.ChargeTransfer(td.destination, td.amount),
        transfer_group=p.transfer_group,
        on_behalf_of=p.on_behalf_of,
        capture=p.capture,
        receipt_email=p.receipt_email,
        statement_descriptor=p.statement_descriptor,
        statement_descriptor_suffix=p.statement_descriptor_suffix,
    )


def create(call: Call, p: ChargeCreate) -> dict[str, Any] | Refused:
    pricing = call.runtime.settings.pricing
    result = charges.create(call.conn, call.actor, _command(p), pricing=pricing)
    if result.declined is not None:
        return Refused(result.declined)
    return result.doc if result.doc is not None else render(result.charge)


def retrieve(call: Call, p: Params, charge: str) -> dict[str, Any]:
    return render(charges.retrieve(call.conn, call.actor, charge))


def modify(call: Call, p: ChargeUpdate, charge: str) -> dict[str, Any]:
    command = charges.ChargeUpdate(
        charge=charge,
        description=p.description,
        metadata=p.metadata,
        receipt_email=p.receipt_email,
        transfer_group=p.transfer_group,
    )
    return render(charges.modify(call.conn, call.actor, command))


def list_charges(call: Call, p: ListParams) -> dict[str, Any]:
    found = charges.list_charges(call.conn, call.actor, window_of(p))
    return render_page(found, "/v1/charges", render)


def _load(conn: Tx, ctx: Actor, charge_id: str) -> dict[str, Any] | None:
    found = charges.load(conn, charge_id)
    return None if found is None else render(found)


expand.register("ch", _load)
expand.register("py", _load)
