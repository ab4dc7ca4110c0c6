"""`/v1/refunds`: parameters, handlers, the refund as Stripe renders it, and its expansion."""

from __future__ import annotations

from typing import Any, Literal

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Int, Metadata, Params, metadata_update
from payoutkit.records.charges import Refund
from payoutkit.services import refunds
from payoutkit.services.actor import Actor
from payoutkit.store import Tx


class RefundCreate(Params):
    charge: str
    amount: Int | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata = None
    reverse_transfer: Bool | None = None
    refund_application_fee: Bool | None = None


class RefundUpdate(Params):
    metadata: Metadata = None


class RefundList(ListParams):
    charge: str | None = None


def render(refund: Refund) -> dict[str, Any]:
    """Stripe's refund: the stored document less its mode."""
    return refund.public()


def create(call: Call, p: RefundCreate) -> dict[str, Any]:
    command = refunds.RefundCommand(
        charge=p.charge,
        amount=p.amount,
        reason=p.reason,
        metadata=metadata_update({}, p.metadata),
        reverse_transfer=bool(p.reverse_transfer),
        refund_application_fee=bool(p.refund_application_fee),
    )
    return render(refunds.create_refund(call.conn, call.actor, command))


def retrieve(call: Call, p: Params, refund: str) -> dict[str, Any]:
    return render(refunds.retrieve_refund(call.conn, call.actor, refund))


def modify(call: Call, p: RefundUpdate, refund: str) -> dict[str, Any]:
    command = refunds.RefundUpdate(refund=refund, metadata=p.metadata)
    return render(refunds.modify_refund(call.conn, call.actor, command))


def list_refunds(call: Call, p: RefundList) -> dict[str, Any]:
    found = refunds.list_refunds(call.conn, call.actor, window_of(p), charge=p.charge)
    return render_page(found, "/v1/refunds", render)


def _load(conn: Tx, actor: Actor, refund_id: str) -> dict[str, Any] | None:
    found = refunds.load(conn, refund_id)
    return None if found is None else render(found)


expand.register("re", _load)
expand.register("pyr", _load)
