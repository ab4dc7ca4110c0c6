"""/v1/payouts: the parameter models, the handlers and the payout's rendering."""

from __future__ import annotations

from typing import Any, Literal

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, Range, range_of, render_page, window_of
from payoutkit.api.params import Int, Metadata, Params
from payoutkit.ledger.payout_record import Payout
from payoutkit.records.payouts import PayoutFilter
from payoutkit.services import payout_create, payout_lifecycle, payouts
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import payouts as store


class PayoutCreate(Params):
    amount: Int
    currency: str
    description: str | None = None
    destination: str | None = None
    metadata: Metadata = None
    method: Literal["standard", "instant"] | None = None
    source_type: Literal["bank_account", "card", "fpx"] | None = None
    statement_descriptor: str | None = None


class PayoutUpdate(Params):
    metadata: Metadata = None


class PayoutList(ListParams):
    arrival_date: Int | Range | None = None
    destination: str | None = None
    status: Literal["pending", "in_transit", "paid", "failed", "canceled"] | None = None


class PayoutReverse(Params):
    metadata: Metadata = None


def render(payout: Payout) -> dict[str, Any]:
    return payout.doc()


def create(call: Call, p: PayoutCreate) -> dict[str, Any]:
    command = payout_create.CreatePayout(
        amount=p.amount,
        currency=p.currency,
        description=p.description,
        destination=p.destination,
        metadata=p.metadata,
        method=p.method,
        source_type=p.source_type,
        statement_descriptor=p.statement_descriptor,
    )
    rt = call.runtime
    return render(payout_create.create(call.conn, call.actor, command, settings=rt.settings, rail=rt.rail))


def retrieve(call: Call, p: Params, payout: str) -> dict[str, Any]:
    return render(payouts.retrieve(call.conn, call.actor, payout))


def modify(call: Call, p: PayoutUpdate, payout: str) -> dict[str, Any]:
    command = payouts.UpdatePayout(payout, p.metadata)
    return render(payouts.modify(call.conn, call.actor, command))


def list_payouts(call: Call, p: PayoutList) -> dict[str, Any]:
    filters = PayoutFilter(p.status, p.destination, range_of(p.arrival_date))
    found = payouts.list_payouts(call.conn, call.actor, window_of(p), filters)
    return render_page(found, "/v1/payouts", render)


def cancel(call: Call, p: Params, payout: str) -> dict[str, Any]:
    return render(payout_lifecycle.cancel(call.conn, call.actor, payout_lifecycle.CancelPayout(payout)))


def reverse(call: Call, p: PayoutReverse, payout: str) -> dict[str, Any]:
    command = payout_lifecycle.ReversePayout(payout, p.metadata)
    return render(payout_lifecycle.reverse(call.conn, call.actor, command, rail=call.runtime.rail))


def _load(conn: Tx, actor: Actor, payout_id: str) -> dict[str, Any] | None:
    found = store.get(conn, payout_id)
    if found is None or found[0].livemode != actor.livemode or not expand.visible(conn, actor, found[1]):
        return None
    return render(found[0])


expand.register("po", _load)
