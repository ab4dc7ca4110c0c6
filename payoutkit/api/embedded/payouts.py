"""The embedded API's payouts: the list, one with its details, the preview and the creation
(docs/embedded.md, "Objects"). A creation needs an Idempotency-Key (the use case refuses without)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from payoutkit.api.context import Call
from payoutkit.api.embedded.account import Component
from payoutkit.api.params import Int, Params
from payoutkit.lists import window
from payoutkit.records.balance import BalanceTransaction
from payoutkit.services import embedded_payouts
from payoutkit.services.embedded_payouts import PayoutDestination, PayoutPreview, PayoutRequest, PayoutView


class PayoutListParams(Params):
    limit: Int = Field(default=10)
    starting_after: str | None = None
    ending_before: str | None = None


class PayoutParams(Params):
    amount: Int
    currency: str
    method: Literal["standard", "instant"] = "standard"
    destination: str | None = None
    component: Component | None = None


def render_destination(d: PayoutDestination) -> dict[str, Any]:
    return {"id": d.id, "object": d.object, "last4": d.last4, "bank_name": d.bank_name, "brand": d.brand}


def render_payout(v: PayoutView) -> dict[str, Any]:
    p = v.payout
    return {
        "id": p.id,
        "amount": p.amount,
        "currency": p.currency,
        "status": p.status.value,
        "method": p.method,
        "created": p.created,
        "arrival_date": p.arrival_date,
        "fee": v.fee,
        "net": v.net,
        "total": v.total,
        "destination": render_destination(v.destination),
        "automatic": p.automatic,
        "failure_code": p.failure_code,
        "failure_message": p.failure_message,
    }


def render_transaction(t: BalanceTransaction) -> dict[str, Any]:
    return {
        "id": t.id,
        "type": t.type,
        "amount": t.amount,
        "fee": t.fee,
        "net": t.net,
        "currency": t.currency,
        "created": t.created,
        "available_on": t.available_on,
        "status": t.status,
        "description": t.description,
    }


def render_preview(p: PayoutPreview) -> dict[str, Any]:
    return {
        "amount": p.amount,
        "currency": p.currency,
        "method": p.method,
        "fee": p.fee,
        "net": p.net,
        "total": p.total,
        "arrival_date": p.arrival_date,
        "destination": render_destination(p.destination),
    }


def _request(p: PayoutParams) -> PayoutRequest:
    return PayoutRequest(
        amount=p.amount,
        currency=p.currency,
        method=p.method,
        destination=p.destination,
        component=p.component,
    )


def list_payouts(call: Call, p: PayoutListParams) -> dict[str, Any]:
    found = embedded_payouts.list_payouts(
        call.conn, call.actor, window(p.limit, p.starting_after, p.ending_before)
    )
    return {"data": [render_payout(v) for v in found.items], "has_more": found.has_more}


def retrieve(call: Call, p: Params, payout: str) -> dict[str, Any]:
    found = embedded_payouts.retrieve(call.conn, call.actor, payout)
    return {
        **render_payout(found.view),
        "history": [{"status": h.status, "at": h.at} for h in found.history],
        "transactions": [render_transaction(t) for t in found.transactions],
        "transactions_has_more": found.more_transactions,
    }


def preview(call: Call, p: PayoutParams) -> dict[str, Any]:
    rt = call.runtime
    found = embedded_payouts.preview(call.conn, call.actor, _request(p), settings=rt.settings, rail=rt.rail)
    return render_preview(found)


def create(call: Call, p: PayoutParams) -> dict[str, Any]:
    rt = call.runtime
    made = embedded_payouts.create(call.conn, call.actor, _request(p), settings=rt.settings, rail=rt.rail)
    return render_payout(made)
