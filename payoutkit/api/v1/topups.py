"""`/v1/topups`: parameters, handlers, and rendering (a top-up renders as it is stored)."""

from __future__ import annotations

from typing import Any, Literal

from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Int, Metadata, Params, metadata_update
from payoutkit.records.topups import Topup
from payoutkit.services import topups


class TopupCreate(Params):
    amount: Int
    currency: str
    description: str | None = None
    metadata: Metadata = None
    source: str | None = None
    statement_descriptor: str | None = None
    transfer_group: str | None = None
    # Payoutkit: which balance the funds land in (Stripe sets this per Issuing top-up).
    destination_balance: Literal["payments", "issuing", "refund_and_dispute_prefunding"] | None = None


class TopupUpdate(Params):
    description: str | None = None
    metadata: Metadata = None


class TopupList(ListParams):
    status: Literal["canceled", "failed", "pending", "succeeded"] | None = None


def render_topup(topup: Topup) -> dict[str, Any]:
    return topup.doc()


def create(call: Call, p: TopupCreate) -> dict[str, Any]:
    command = topups.NewTopup(
        amount=p.amount,
        currency=p.currency,
        description=p.description,
        metadata=metadata_update({}, p.metadata),
        source=p.source,
        statement_descriptor=p.statement_descriptor,
        transfer_group=p.transfer_group,
        destination_balance=p.destination_balance,
    )
    return render_topup(topups.create(call.conn, call.actor, command))


def retrieve(call: Call, p: Params, topup: str) -> dict[str, Any]:
    return render_topup(topups.retrieve(call.conn, call.actor, topup))


def modify(call: Call, p: TopupUpdate, topup: str) -> dict[str, Any]:
    metadata = None
    if p.metadata is not None:
        current = topups.retrieve(call.conn, call.actor, topup)
        metadata = metadata_update(dict(current.metadata), p.metadata)
    command = topups.TopupChanges(topup=topup, description=p.description, metadata=metadata)
    return render_topup(topups.update(call.conn, call.actor, command))


def list_topups(call: Call, p: TopupList) -> dict[str, Any]:
    found = topups.list_topups(call.conn, call.actor, topups.TopupQuery(window=window_of(p), status=p.status))
    return render_page(found, "/v1/topups", render_topup)
