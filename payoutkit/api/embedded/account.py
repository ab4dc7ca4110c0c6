"""`GET /embedded/v1/account` and `POST /embedded/v1/payout_schedule`: the account as the components
show it, and its payout schedule edited (docs/embedded.md, "Objects")."""

from __future__ import annotations

from typing import Any, Literal

from payoutkit.api.context import Call
from payoutkit.api.params import Int, Params
from payoutkit.ledger.schedule import Schedule
from payoutkit.services import embedded
from payoutkit.services.embedded import AccountSummary, Destination

Component = Literal["balances", "payouts"]


class ScheduleParams(Params):
    # Checked as `settings[payouts][schedule]` of `POST /v1/accounts/{id}` is (ledger/schedule.py).
    interval: str
    delay_days: Int | Literal["minimum"] | None = None
    weekly_anchor: str | None = None
    monthly_anchor: Int | None = None
    component: Component | None = None


def render_schedule(s: Schedule) -> dict[str, Any]:
    return {
        "interval": s.interval.value,
        "delay_days": s.delay_days,
        "weekly_anchor": s.weekly_anchor.value if s.weekly_anchor is not None else None,
        "monthly_anchor": s.monthly_anchor,
    }


def render_destination(d: Destination) -> dict[str, Any]:
    return {
        "id": d.id,
        "object": d.object,
        "bank_name": d.bank_name,
        "brand": d.brand,
        "last4": d.last4,
        "currency": d.currency,
        "country": d.country,
        "default_for_currency": d.default_for_currency,
        "status": d.status,
        "methods": list(d.methods),
    }


def render_account(a: AccountSummary) -> dict[str, Any]:
    return {
        "id": a.id,
        "display_name": a.display_name,
        "country": a.country,
        "default_currency": a.default_currency,
        "livemode": a.livemode,
        "components": {
            name: {"enabled": c.enabled, "features": dict(c.features)} for name, c in a.components.items()
        },
        "schedule": render_schedule(a.schedule),
        "destinations": [render_destination(d) for d in a.destinations],
    }


def retrieve(call: Call, p: Params) -> dict[str, Any]:
    return render_account(embedded.account(call.conn, call.actor))


def set_schedule(call: Call, p: ScheduleParams) -> dict[str, Any]:
    command = embedded.SetSchedule(
        interval=p.interval,
        delay_days=p.delay_days,
        weekly_anchor=p.weekly_anchor,
        monthly_anchor=p.monthly_anchor,
        component=p.component,
    )
    return render_schedule(embedded.set_schedule(call.conn, call.actor, command))
