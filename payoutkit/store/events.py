"""Events: recording them with their webhook deliveries, finding them, listing them.

An event row keeps the rendered event object (`data`) and the columns its lists filter on. The
platform's enabled webhook endpoints are read at each emission (one indexed query on a handful of
rows), so an endpoint created, changed or deleted by any process counts at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, exists, insert, select

from payoutkit.lists import Page, Window
from payoutkit.records.events import WILDCARD, Event, WebhookEndpoint
from payoutkit.store import paging
from payoutkit.store.among import among
from payoutkit.store.fast import Query, Write
from payoutkit.store.schema import events, object_is, resources, webhook_deliveries
from payoutkit.store.units import ENDPOINTS_READ


def _endpoints(platforms: ColumnElement[bool]) -> Select[Any]:
    return (
        select(resources.c.account_id, resources.c.data, resources.c.internal)
        .where(
            platforms,
            resources.c.livemode == bindparam("livemode"),
            object_is("webhook_endpoint"),
            resources.c.status == "enabled",
        )
        .order_by(resources.c.seq)
    )


_ENDPOINTS = _endpoints(among(resources.c.account_id, "platforms"))
# The usual case, one platform: an equality, which (unlike an expanding IN) is compiled once.
_ENDPOINTS_OF_ONE = Query(_endpoints(resources.c.account_id == bindparam("platform")))
_INSERT_EVENTS = Write(insert(events), deferred=True)
_INSERT_DELIVERIES = Write(insert(webhook_deliveries), deferred=True)

# For a statement that reads one platform's enabled endpoints along with something else (a `UNION ALL`
# part: store/payers.py): the rows' `data` and `internal`, by `seq`, of `platform_id` and `livemode`.
ENDPOINTS_PART = (
    resources.c.account_id == bindparam("platform_id"),
    resources.c.livemode == bindparam("livemode"),
    object_is("webhook_endpoint"),
    resources.c.status == "enabled",
)


def prime_endpoints(
    conn: Connection, platform_id: str, livemode: bool, rows: Iterable[Sequence[Any]]
) -> None:
    """Keep, for the rest of the unit of work, a platform's enabled endpoints (`(data, internal)` rows,
    oldest first) that a statement of the unit read along with something else: its events are then
    recorded without reading them again. Dropped when the unit ends (store/db.py UNIT_STATE)."""
    read = conn.info.setdefault(ENDPOINTS_READ, {})
    endpoints = [WebhookEndpoint.from_doc(data, internal) for data, internal in rows]
    read[(platform_id, bool(livemode))] = endpoints


def enabled_endpoints(
    conn: Connection, platform_ids: Iterable[str], livemode: bool
) -> dict[str, list[WebhookEndpoint]]:
    """The enabled endpoints of each platform in this mode, oldest first, in one query (none when the
    unit has read them already: `prime_endpoints`)."""
    found: dict[str, list[WebhookEndpoint]] = {p: [] for p in platform_ids}
    if not found:
        return found
    if len(found) == 1:
        [platform] = found
        primed = conn.info.get(ENDPOINTS_READ)
        if primed is not None and (platform, bool(livemode)) in primed:
            found[platform] = list(primed[(platform, bool(livemode))])
            return found
        one = {"platform": platform, "livemode": livemode}
        rows: Iterable[Sequence[Any]] = _ENDPOINTS_OF_ONE.rows(conn, one)
    else:
        rows = conn.execute(_ENDPOINTS, {"platforms": sorted(found), "livemode": livemode})
    for account_id, data, internal in rows:
        found[account_id].append(WebhookEndpoint.from_doc(data, internal))
    return found


@dataclass(frozen=True)
class Recorded:
    """An event to insert, the platform it belongs to, and the endpoints it is to be delivered to."""

    event: Event
    platform_id: str
    endpoint_ids: Sequence[str]


def record(conn: Connection, recorded: Sequence[Recorded], now_ms: int) -> None:
    """Insert the events, and one pending delivery per endpoint of each, due at `now_ms` (wall clock)."""
    event_rows = [
        {
            "id": r.event.id,
            "platform_id": r.platform_id,
            "account_id": r.event.account,
            "livemode": r.event.livemode,
            "type": r.event.type,
            "created": r.event.created,
            "data": r.event.doc(),
        }
        for r in recorded
    ]
    delivery_rows = [
        {
            "event_id": r.event.id,
            "endpoint_id": endpoint_id,
            "livemode": r.event.livemode,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now_ms,
            "created": now_ms,
        }
        for r in recorded
        for endpoint_id in r.endpoint_ids
    ]
    _INSERT_EVENTS.run(conn, event_rows)
    _INSERT_DELIVERIES.run(conn, delivery_rows)


@dataclass(frozen=True)
class Scope:
    """The events an account sees: the platform's own (`account_id` None) or one connected account's,
    in one mode, created after `since`."""

    platform_id: str
    account_id: str | None
    livemode: bool
    since: int


@dataclass(frozen=True)
class EventFilter:
    type: str | None = None  # a type, or a group of them with `*` (`charge.*`)
    types: Sequence[str] | None = None
    delivery_success: bool | None = None


def _scope(scope: Scope) -> list[ColumnElement[bool]]:
    return [
        events.c.platform_id == scope.platform_id,
        events.c.account_id.is_(None)
        if scope.account_id is None
        else events.c.account_id == scope.account_id,
        events.c.livemode == scope.livemode,
        events.c.created > scope.since,
    ]


_GET_PLATFORMS = select(events.c.data).where(
    events.c.id == bindparam("event_id"),
    events.c.platform_id == bindparam("platform_id"),
    events.c.account_id.is_(None),
    events.c.livemode == bindparam("livemode"),
    events.c.created > bindparam("since"),
)
_GET_CONNECTED = select(events.c.data).where(
    events.c.id == bindparam("event_id"),
    events.c.platform_id == bindparam("platform_id"),
    events.c.account_id == bindparam("account_id"),
    events.c.livemode == bindparam("livemode"),
    events.c.created > bindparam("since"),
)


def get(conn: Connection, scope: Scope, event_id: str) -> Event | None:
    """The event, if it is within the scope."""
    stmt = _GET_PLATFORMS if scope.account_id is None else _GET_CONNECTED
    params: dict[str, Any] = {
        "event_id": event_id,
        "platform_id": scope.platform_id,
        "livemode": scope.livemode,
        "since": scope.since,
    }
    if scope.account_id is not None:
        params["account_id"] = scope.account_id
    data = conn.execute(stmt, params).scalar()
    return None if data is None else Event.from_doc(data)


def _type_filter(pattern: str) -> ColumnElement[bool]:
    if WILDCARD not in pattern:
        return events.c.type == pattern
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return events.c.type.like(escaped.replace(WILDCARD, "%"), escape="\\")


def page(conn: Connection, scope: Scope, filter: EventFilter, window: Window) -> Page[Event]:
    """A page of the scope's events, newest first."""
    where = _scope(scope)
    if filter.type is not None:
        where.append(_type_filter(filter.type))
    if filter.types is not None:
        where.append(events.c.type.in_(list(filter.types)))
    if filter.delivery_success is not None:
        undelivered = exists().where(
            and_(webhook_deliveries.c.event_id == events.c.id, webhook_deliveries.c.status != "delivered")
        )
        where.append(~undelivered if filter.delivery_success else undelivered)
    return paging.page(conn, events, where, window).map(lambda r: Event.from_doc(r.data))


# A payout's events (`payout.created`, `payout.updated`, `payout.paid`, …), found by the id of the
# object they carry among the account's events of the mode since the payout was created.
_PAYOUT_EVENTS = (
    select(events.c.data)
    .where(
        events.c.platform_id == bindparam("platform_id"),
        events.c.livemode == bindparam("livemode"),
        events.c.created >= bindparam("since"),
        events.c.type.like("payout.%"),
        events.c.data[("data", "object", "id")].as_string() == bindparam("payout_id"),
    )
    .order_by(events.c.seq)
)
_PAYOUT_EVENTS_PLATFORM = _PAYOUT_EVENTS.where(events.c.account_id.is_(None))
_PAYOUT_EVENTS_CONNECTED = _PAYOUT_EVENTS.where(events.c.account_id == bindparam("account_id"))


def payout_events(conn: Connection, scope: Scope, payout_id: str) -> list[Event]:
    """The events about one payout within the scope (its account's, or the platform's own), oldest
    first. `scope.since`: the payout's creation."""
    params: dict[str, Any] = {
        "platform_id": scope.platform_id,
        "livemode": scope.livemode,
        "since": scope.since,
        "payout_id": payout_id,
    }
    if scope.account_id is None:
        rows = conn.execute(_PAYOUT_EVENTS_PLATFORM, params)
    else:
        rows = conn.execute(_PAYOUT_EVENTS_CONNECTED, {**params, "account_id": scope.account_id})
    return [Event.from_doc(r.data) for r in rows]
