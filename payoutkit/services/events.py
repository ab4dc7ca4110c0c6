"""Events: a record of every state change Stripe emits one for, written in the same unit of work.

`emit` is called by services and worker jobs; it stores the rendered event object (`evt_…`) and, in
the same transaction, one `webhook_deliveries` row per enabled endpoint subscribed to it. The event
commits or rolls back with the change it describes; delivery happens later, in the worker, outside
any transaction (services/webhooks.py), so a slow or absent receiver never blocks or rolls back the
operation.

Who receives what, as on Stripe: an event about the platform's own objects (no `account`) goes to its
endpoints with `connect=false`; an event about a connected account's objects (`account` set) goes to
the platform's `connect=true` endpoints. Endpoints are read from the database at each emit (one
indexed query on a handful of rows), so an endpoint created, changed or deleted by any process counts
at once.

`GET /v1/events` shows the platform its own events and, with `Stripe-Account`, that connected
account's; events older than 30 days are no longer served (Stripe keeps 30 days).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, Connection, and_, bindparam, exists, insert, select

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Bool, Params
from payoutkit.clock import wall_ms
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.services.actor import Moment
from payoutkit.services.event_types import WILDCARD
from payoutkit.store.schema import events, resources, webhook_deliveries

API_VERSION = "2026-07-29.dahlia"
RETENTION = 30 * 86_400  # seconds an event stays listable and retrievable
MAX_TYPES = 20


_ENDPOINTS = (
    select(resources.c.id, resources.c.account_id, resources.c.data, resources.c.internal)
    .where(
        resources.c.account_id.in_(bindparam("platforms", expanding=True)),
        resources.c.livemode == bindparam("livemode"),
        resources.c.object == "webhook_endpoint",
        resources.c.status == "enabled",
    )
    .order_by(resources.c.seq)
)


@dataclass(frozen=True)
class Endpoint:
    id: str
    connect: bool
    enabled_events: frozenset[str]

    def takes(self, type: str, *, connect: bool) -> bool:
        """Whether this endpoint receives events of `type` about the platform's own objects
        (`connect=False`) or about its connected accounts' (`connect=True`)."""
        return self.connect == connect and (type in self.enabled_events or WILDCARD in self.enabled_events)


def enabled_endpoints(
    conn: Connection, platform_ids: Iterable[str], livemode: bool
) -> dict[str, list[Endpoint]]:
    """The enabled endpoints of each platform in this mode, oldest first, in one query."""
    found: dict[str, list[Endpoint]] = {p: [] for p in platform_ids}
    if not found:
        return found
    rows = conn.execute(_ENDPOINTS, {"platforms": sorted(found), "livemode": livemode})
    for r in rows:
        endpoint = Endpoint(
            r.id, bool((r.internal or {}).get("connect")), frozenset(r.data["enabled_events"])
        )
        found[r.account_id].append(endpoint)
    return found


@dataclass(frozen=True)
class Emission:
    """One event to record: `type` about `obj` (snapshotted when emitted). `account_id` is the
    connected account the event is about, or None (or the platform's own id) for the platform's
    objects. `request_id` and `idempotency_key` are None for events no request caused (settlement,
    the worker); an event recorded with a request's `Ctx` as its moment always carries that
    request's id and Idempotency-Key, so no emitter can forget one."""

    type: str
    obj: dict[str, Any]
    platform_id: str
    account_id: str | None
    previous_attributes: dict[str, Any] | None = None
    request_id: str | None = None
    idempotency_key: str | None = None


def emit_all(conn: Connection, moment: Moment, emissions: Sequence[Emission]) -> list[str]:
    """Record these events and queue their webhook deliveries: one query for the endpoints of every
    platform involved, one insert of the events, one of the deliveries. Returns the event ids."""
    if not emissions:
        return []
    endpoints = enabled_endpoints(conn, {e.platform_id for e in emissions}, moment.livemode)
    event_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    now = wall_ms()
    for e in emissions:
        event_id = new_id("evt")
        connected = e.account_id if e.account_id is not None and e.account_id != e.platform_id else None
        takers = [ep.id for ep in endpoints[e.platform_id] if ep.takes(e.type, connect=connected is not None)]
        request = {"id": e.request_id, "idempotency_key": e.idempotency_key}
        if isinstance(moment, Ctx):
            # Recorded while a request is served: the request caused it, whoever emitted it.
            request = {"id": moment.request_id, "idempotency_key": moment.idempotency_key}
        data: dict[str, Any] = {"object": copy.deepcopy(e.obj)}
        if e.previous_attributes is not None:
            data["previous_attributes"] = e.previous_attributes
        event: dict[str, Any] = {"id": event_id, "object": "event"}
        if connected is not None:
            event["account"] = connected
        event.update(
            {
                "api_version": API_VERSION,
                "created": moment.now,
                "data": data,
                "livemode": moment.livemode,
                # Deliveries not yet successful; services/webhooks.py lowers it as they succeed.
                "pending_webhooks": len(takers),
                "request": request,
                "type": e.type,
            }
        )
        event_rows.append(
            {
                "id": event_id,
                "platform_id": e.platform_id,
                "account_id": connected,
                "livemode": moment.livemode,
                "type": e.type,
                "created": moment.now,
                "data": event,
            }
        )
        delivery_rows += [
            {
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "livemode": moment.livemode,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created": now,
            }
            for endpoint_id in takers
        ]
    conn.execute(insert(events), event_rows)
    if delivery_rows:
        conn.execute(insert(webhook_deliveries), delivery_rows)
    return [row["id"] for row in event_rows]


def emit(
    conn: Connection,
    moment: Moment,
    type: str,
    obj: dict[str, Any],
    *,
    platform_id: str,
    account_id: str | None,
    previous_attributes: dict[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> str:
    """Record one event (see `Emission`) and queue its webhook deliveries."""
    emission = Emission(type, obj, platform_id, account_id, previous_attributes, request_id, idempotency_key)
    return emit_all(conn, moment, [emission])[0]


def emit_request(
    conn: Connection,
    ctx: Ctx,
    type: str,
    obj: dict[str, Any],
    *,
    account_id: str | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> str:
    """`emit` for an event a request caused: about `account_id` (by default the acting account),
    carrying the request's id and idempotency key."""
    return emit(
        conn,
        ctx,
        type,
        obj,
        platform_id=ctx.platform_id,
        account_id=ctx.account_id if account_id is None else account_id,
        previous_attributes=previous_attributes,
        request_id=ctx.request_id,
        idempotency_key=ctx.idempotency_key,
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


# -- the API ---------------------------------------------------------------------------------------


class EventList(ListParams):
    type: str | None = None
    types: list[str] | None = Field(default=None)
    delivery_success: Bool | None = None


def _scope(ctx: Ctx) -> list[ColumnElement[bool]]:
    """The acting account's events: the platform's own, or (with Stripe-Account) a connected one's."""
    return [
        events.c.platform_id == ctx.platform_id,
        events.c.account_id.is_(None) if ctx.is_platform else events.c.account_id == ctx.account_id,
        events.c.livemode == ctx.livemode,
        events.c.created > ctx.now - RETENTION,
    ]


def _type_filter(pattern: str) -> ColumnElement[bool]:
    """A type, or a group of them with `*` as a wildcard (`charge.*`)."""
    if WILDCARD not in pattern:
        return events.c.type == pattern
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return events.c.type.like(escaped.replace(WILDCARD, "%"), escape="\\")


def list_events(conn: Connection, ctx: Ctx, p: EventList) -> dict[str, Any]:
    where = _scope(ctx)
    if p.type is not None and p.types is not None:
        raise InvalidRequest("You may pass either type or types, but not both.", param="types")
    if p.type is not None:
        where.append(_type_filter(p.type))
    if p.types is not None:
        if len(p.types) > MAX_TYPES:
            raise InvalidRequest(f"You may pass at most {MAX_TYPES} types.", param="types")
        where.append(events.c.type.in_(p.types))
    if p.delivery_success is not None:
        undelivered = exists().where(
            and_(webhook_deliveries.c.event_id == events.c.id, webhook_deliveries.c.status != "delivered")
        )
        where.append(~undelivered if p.delivery_success else undelivered)
    return page(conn, events, where, p, "/v1/events", lambda r: dict(r.data))


def retrieve(conn: Connection, ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    check_id(id, ("evt",), "id", "event")
    row = conn.execute(select(events.c.data).where(events.c.id == id, *_scope(ctx))).first()
    if row is None:
        raise ResourceMissing.for_id("event", id)
    return dict(row.data)
