"""`/v1/events`: the parameters, the handlers, and the event rendered as Stripe's JSON."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Empty
from payoutkit.records.events import Event
from payoutkit.services import events


class EventList(ListParams):
    type: str | None = None
    types: list[str] | None = Field(default=None)
    delivery_success: Bool | None = None


def render(event: Event) -> dict[str, Any]:
    """The event object, as stored (the snapshot of `data.object` is already Stripe's JSON)."""
    return event.doc()


def list_events(call: Call, params: EventList) -> dict[str, Any]:
    query = events.EventQuery(
        window=window_of(params),
        type=params.type,
        types=None if params.types is None else tuple(params.types),
        delivery_success=params.delivery_success,
    )
    return render_page(events.list_events(call.conn, call.actor, query), "/v1/events", render)


def retrieve(call: Call, params: Empty, id: str) -> dict[str, Any]:
    return render(events.retrieve(call.conn, call.actor, id))
