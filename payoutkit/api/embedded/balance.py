"""`GET /embedded/v1/balance`: the balance summary per currency (docs/embedded.md, "Objects")."""

from __future__ import annotations

from typing import Any

from payoutkit.api.context import Call
from payoutkit.api.embedded.account import Component
from payoutkit.api.params import Params
from payoutkit.services import embedded_balance
from payoutkit.services.embedded_balance import Allowed, CurrencyBalance


class BalanceParams(Params):
    component: Component | None = None


def render_allowed(a: Allowed) -> dict[str, Any]:
    return {"allowed": a.allowed, "reason": a.reason, "message": a.message, "max_amount": a.max_amount}


def render_currency(c: CurrencyBalance) -> dict[str, Any]:
    return {
        "currency": c.currency,
        "available": c.available,
        "pending": c.pending,
        "in_transit": c.in_transit,
        "total": c.total,
        "pending_by_date": [{"available_on": p.available_on, "amount": p.amount} for p in c.pending_by_date],
        "instant_available": c.instant_available,
        "payouts": {"standard": render_allowed(c.standard), "instant": render_allowed(c.instant)},
    }


def retrieve(call: Call, p: BalanceParams) -> dict[str, Any]:
    found = embedded_balance.read_summary(call.conn, call.actor, p.component, call.runtime.settings)
    return {"component": found.component, "currencies": [render_currency(c) for c in found.currencies]}
