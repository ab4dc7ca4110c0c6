"""Events: a record of every state change Stripe emits one for, written in the same unit of work.

`emit_all` (and `emit`, `emit_request`) are called by the other use cases and by worker jobs; they
store the event object (`evt_…`) and, in the same transaction, one webhook delivery per enabled
endpoint subscribed to it. The event commits or rolls back with the change it describes; delivery
happens later, in the worker, outside any transaction (services/webhooks.py), so a slow or absent
receiver never blocks or rolls back the operation.

Who receives what, as on Stripe: an event about the platform's own objects (no `account`) goes to its
endpoints with `connect=false`; an event about a connected account's objects (`account` set) goes to
the platform's `connect=true` endpoints.

`GET /v1/events` shows the platform its own events and, with `Stripe-Account`, that connected
account's; events older than 30 days are no longer served (Stripe keeps 30 days).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from payoutkit.clock import wall_ms
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.frozen import made_whole
from payoutkit.lists import Page, Window
from payoutkit.records.events import API_VERSION, Event
from payoutkit.records.plain import json_copy
from payoutkit.services.actor import Actor, Moment
from payoutkit.store import Tx
from payoutkit.store import events as stored

__all__ = [
    "API_VERSION",
    "Emission",
    "EventQuery",
    "emit",
    "emit_all",
    "emit_request",
    "list_events",
    "previous_attributes",
    "retrieve",
]

RETENTION = 30 * 86_400  # seconds an event stays listable and retrievable
MAX_TYPES = 20


@dataclass(frozen=True)
class Emission:
    """One event to record: `type` about `obj` (a Stripe-JSON snapshot, copied when emitted).
    `account_id` is the connected account the event is about, or None (or the platform's own id) for
    the platform's objects. `request_id` and `idempotency_key` are None for events no request caused
    (settlement, the worker); an event recorded with a request's `Actor` as its moment always carries
    that request's id and Idempotency-Key, so no emitter can forget one."""

    type: str
    obj: dict[str, Any]
    platform_id: str
    account_id: str | None
    previous_attributes: dict[str, Any] | None = None
    request_id: str | None = None
    idempotency_key: str | None = None
    # The emitter made `obj` for this event (and its row) and keeps no hold on it: it is not copied.
    handed_over: bool = False


def _event(moment: Moment, e: Emission, pending: int) -> Event:
    connected = e.account_id if e.account_id is not None and e.account_id != e.platform_id else None
    request_id, idempotency_key = e.request_id, e.idempotency_key
    if isinstance(moment, Actor):
        # Recorded while a request is served: the request caused it, whoever emitted it.
        request_id, idempotency_key = moment.request_id, moment.idempotency_key
    return made_whole(  # every field at once: one event per change of every request
        Event,
        id=new_id("evt"),
        type=e.type,
        created=moment.now,
        livemode=moment.livemode,
        account=connected,
        object=e.obj if e.handed_over else json_copy(e.obj),
        previous_attributes=e.previous_attributes,
        # Deliveries not yet successful; services/webhooks.py lowers it as they succeed.
        pending_webhooks=pending,
        request_id=request_id,
        idempotency_key=idempotency_key,
        api_version=API_VERSION,
    )


def emit_all(tx: Tx, moment: Moment, emissions: Sequence[Emission]) -> list[str]:
    """Record these events and queue their webhook deliveries: one query for the endpoints of every
    platform involved, one insert of the events, one of the deliveries. Returns the event ids."""
    if not emissions:
        return []
    endpoints = stored.enabled_endpoints(tx, {e.platform_id for e in emissions}, moment.livemode)
    recorded = []
    for e in emissions:
        connected = e.account_id is not None and e.account_id != e.platform_id
        takers = [ep.id for ep in endpoints[e.platform_id] if ep.takes(e.type, connect=connected)]
        recorded.append(stored.Recorded(_event(moment, e, len(takers)), e.platform_id, takers))
    stored.record(tx, recorded, wall_ms())
    return [r.event.id for r in recorded]


class EmitFields(TypedDict, total=False):
    """What `emit` takes besides the type and the object (see `Emission`)."""

    platform_id: Required[str]
    account_id: Required[str | None]
    previous_attributes: dict[str, Any] | None
    request_id: str | None
    idempotency_key: str | None
    handed_over: bool


def emit(tx: Tx, moment: Moment, type: str, obj: dict[str, Any], **fields: Unpack[EmitFields]) -> str:
    """Record one event (see `Emission`) and queue its webhook deliveries."""
    return emit_all(tx, moment, [Emission(type, obj, **fields)])[0]


def emit_request(
    tx: Tx,
    actor: Actor,
    type: str,
    obj: dict[str, Any],
    *,
    account_id: str | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> str:
    """`emit` for an event a request caused: about `account_id` (by default the acting account),
    carrying the request's id and idempotency key."""
    return emit(
        tx,
        actor,
        type,
        obj,
        platform_id=actor.platform_id,
        account_id=actor.account_id if account_id is None else account_id,
        previous_attributes=previous_attributes,
        request_id=actor.request_id,
        idempotency_key=actor.idempotency_key,
    )


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields of `before` that `after` changed, nested as Stripe's `data.previous_attributes`:
    only the changed keys of a changed hash, and null for a key that did not exist before."""
    changed: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = copy.deepcopy(old)
    return dict(sorted(changed.items()))


# -- the use cases of the API ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventQuery:
    window: Window
    type: str | None = None
    types: tuple[str, ...] | None = None
    delivery_success: bool | None = None


def _scope(actor: Actor) -> stored.Scope:
    """The acting account's events: the platform's own, or (with Stripe-Account) a connected one's."""
    account = None if actor.is_platform else actor.account_id
    return stored.Scope(actor.platform_id, account, actor.livemode, actor.now - RETENTION)


def list_events(tx: Tx, actor: Actor, query: EventQuery) -> Page[Event]:
    if query.type is not None and query.types is not None:
        raise InvalidRequest("You may pass either type or types, but not both.", param="types")
    if query.types is not None and len(query.types) > MAX_TYPES:
        raise InvalidRequest(f"You may pass at most {MAX_TYPES} types.", param="types")
    found = stored.EventFilter(query.type, query.types, query.delivery_success)
    return stored.page(tx, _scope(actor), found, query.window)


def retrieve(tx: Tx, actor: Actor, event_id: str) -> Event:
    check_id(event_id, ("evt",), "id", "event")
    event = stored.get(tx, _scope(actor), event_id)
    if event is None:
        raise ResourceMissing.for_id("event", event_id)
    return event
