"""Webhook endpoints (documents in `resources`, object `webhook_endpoint`) and the delivery queue
(`webhook_deliveries`, each attempt kept in `webhook_attempts`).

The signing secret and `connect` are kept in the endpoint's `internal` column: they are not fields of
Stripe's object. Deliveries are claimed by the worker with a lease (`claim`): on PostgreSQL with `FOR
UPDATE SKIP LOCKED`, so several workers share the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from payoutkit.lists import Page, Window
from payoutkit.records.events import Claimed, Outcome, Verdict, WebhookEndpoint
from payoutkit.store import paging
from payoutkit.store import resources as objects
from payoutkit.store.among import among
from payoutkit.store.schema import events, object_is, resources, webhook_attempts, webhook_deliveries

_d = webhook_deliveries
_ENDPOINT = "webhook_endpoint"

# -- endpoints -------------------------------------------------------------------------------------

_COUNT = select(func.count()).where(
    resources.c.account_id == bindparam("account_id"),
    resources.c.livemode == bindparam("livemode"),
    object_is(_ENDPOINT),
)
_GET = select(resources.c.account_id, resources.c.data, resources.c.internal).where(
    resources.c.id == bindparam("endpoint_id"), object_is(_ENDPOINT)
)
_SAVE = (
    update(resources)
    .where(resources.c.id == bindparam("endpoint_id"))
    .values(data=bindparam("doc"), status=bindparam("new_status"))
)
_DELETE = delete(resources).where(resources.c.id == bindparam("endpoint_id"))
_GIVE_UP = (
    update(_d)
    .where(_d.c.endpoint_id == bindparam("gone_endpoint"), _d.c.status == "pending")
    .values(status="failed", next_attempt_at=None)
)


def count(conn: Connection, account_id: str, livemode: bool) -> int:
    """How many endpoints the account has in this mode."""
    return int(conn.execute(_COUNT, {"account_id": account_id, "livemode": livemode}).scalar_one())


def create(conn: Connection, endpoint: WebhookEndpoint, *, account_id: str, secret: str) -> None:
    internal = {"secret": secret, "connect": endpoint.connect}
    objects.create(conn, endpoint.doc(), account_id=account_id, status=endpoint.status, internal=internal)


@dataclass(frozen=True)
class Owned:
    endpoint: WebhookEndpoint
    account_id: str


def get(conn: Connection, endpoint_id: str) -> Owned | None:
    """The endpoint and the account that owns it."""
    row = conn.execute(_GET, {"endpoint_id": endpoint_id}).first()
    if row is None:
        return None
    return Owned(WebhookEndpoint.from_doc(row.data, row.internal), row.account_id)


def save(conn: Connection, endpoint: WebhookEndpoint) -> None:
    conn.execute(_SAVE, {"endpoint_id": endpoint.id, "doc": endpoint.doc(), "new_status": endpoint.status})


def delete_endpoint(conn: Connection, endpoint_id: str) -> None:
    """Delete the endpoint and give up its pending deliveries."""
    conn.execute(_DELETE, {"endpoint_id": endpoint_id})
    conn.execute(_GIVE_UP, {"gone_endpoint": endpoint_id})


def page(conn: Connection, account_id: str, livemode: bool, window: Window) -> Page[WebhookEndpoint]:
    """A page of the account's endpoints in this mode, newest first."""
    where = [
        resources.c.account_id == account_id,
        resources.c.livemode == livemode,
        object_is(_ENDPOINT),
    ]
    found = paging.page(conn, resources, where, window)
    return found.map(lambda r: WebhookEndpoint.from_doc(r.data, r.internal))


# -- deliveries ------------------------------------------------------------------------------------

_DUE = (
    select(_d.c.seq, _d.c.event_id, _d.c.endpoint_id, _d.c.attempts)
    .where(_d.c.status == "pending", _d.c.next_attempt_at <= bindparam("now"))
    .order_by(_d.c.next_attempt_at, _d.c.seq)
    .limit(bindparam("batch"))
)
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)
_LEASE = update(_d).where(among(_d.c.seq, "seqs")).values(next_attempt_at=bindparam("until"))
_TARGETS = select(resources.c.id, resources.c.data, resources.c.internal, resources.c.status).where(
    among(resources.c.id, "endpoint_ids"), object_is(_ENDPOINT)
)
_BODIES = select(events.c.id, events.c.data).where(among(events.c.id, "event_ids"))
_GONE = update(_d).where(among(_d.c.seq, "seqs")).values(status="failed", next_attempt_at=None)


def claim(conn: Connection, now: int, lease_ms: int, limit: int) -> list[Claimed]:
    """Take up to `limit` due deliveries and lease them until `now + lease_ms` (wall-clock ms).

    A delivery whose endpoint was deleted or disabled is given up here, without an attempt."""
    due = _DUE_SKIP_LOCKED if conn.dialect.name == "postgresql" else _DUE
    rows = conn.execute(due, {"now": now, "batch": limit}).all()
    if not rows:
        return []
    conn.execute(_LEASE, {"seqs": [r.seq for r in rows], "until": now + lease_ms})
    targets = {
        r.id: r for r in conn.execute(_TARGETS, {"endpoint_ids": sorted({r.endpoint_id for r in rows})})
    }
    bodies = {
        r.id: orjson.dumps(r.data).decode()
        for r in conn.execute(_BODIES, {"event_ids": sorted({r.event_id for r in rows})})
    }
    claimed, gone = [], []
    for r in rows:
        target = targets.get(r.endpoint_id)
        if target is None or target.status != "enabled" or r.event_id not in bodies:
            gone.append(r.seq)
            continue
        secret = (target.internal or {})["secret"]
        claimed.append(Claimed(r.seq, r.event_id, target.data["url"], secret, bodies[r.event_id], r.attempts))
    if gone:
        conn.execute(_GONE, {"seqs": gone})
    return claimed


_ATTEMPT = insert(webhook_attempts)
_SETTLE = (
    update(_d)
    .where(_d.c.seq == bindparam("delivery_seq"), _d.c.status == "pending")
    .values(
        attempts=bindparam("new_attempts"),
        status=bindparam("new_status"),
        next_attempt_at=bindparam("next_at"),
    )
)
_EVENT = select(events.c.data).where(events.c.id == bindparam("event_id"))
_EVENT_LOCKED = _EVENT.with_for_update()
_PENDING = select(func.count()).where(_d.c.event_id == bindparam("event_id"), _d.c.status != "delivered")
_SAVE_EVENT = update(events).where(events.c.id == bindparam("event_id")).values(data=bindparam("doc"))


def record(conn: Connection, delivery: Claimed, outcome: Outcome, verdict: Verdict) -> None:
    """Keep the attempt, and apply its verdict to the delivery — only while it is still pending: an
    endpoint deleted meanwhile has already given it up. A delivered event's `pending_webhooks` goes down."""
    conn.execute(
        _ATTEMPT,
        {
            "delivery_seq": delivery.seq,
            "attempted_at": outcome.attempted_at,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "duration_ms": outcome.duration_ms,
        },
    )
    changed = conn.execute(
        _SETTLE,
        {
            "delivery_seq": delivery.seq,
            "new_attempts": verdict.attempts,
            "new_status": verdict.status,
            "next_at": verdict.next_attempt_at,
        },
    ).rowcount
    if changed and verdict.status == "delivered":
        _count_pending(conn, delivery.event_id)


def _count_pending(conn: Connection, event_id: str) -> None:
    """Store the event's `pending_webhooks`: its deliveries not yet successful. The event row is
    locked first, so concurrent deliveries of one event each count what the others committed."""
    read = _EVENT_LOCKED if conn.dialect.name == "postgresql" else _EVENT
    data = conn.execute(read, {"event_id": event_id}).scalar()
    if data is None:
        return
    pending = conn.execute(_PENDING, {"event_id": event_id}).scalar_one()
    conn.execute(_SAVE_EVENT, {"event_id": event_id, "doc": {**data, "pending_webhooks": pending}})
