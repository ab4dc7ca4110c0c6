"""Webhook delivery: the worker POSTs each queued event to its endpoint, signed, and retries failures.

A request only inserts `webhook_deliveries` rows (services/events.py); each worker tick then

1. claims due deliveries in one short unit of work (`claim`): on PostgreSQL with `FOR UPDATE SKIP
   LOCKED`, so several workers share the queue, and pushes each one's `next_attempt_at` forward by a
   lease longer than an attempt can take, so no other worker picks it up meanwhile (and a worker that
   dies mid-attempt leaves it to be retried when the lease ends);
2. POSTs the events concurrently with httpx, outside any transaction, each attempt bounded by
   `Settings.webhook_timeout`;
3. records each attempt in its own unit (`record`): a `webhook_attempts` row, and the delivery marked
   `delivered` (a 2xx answer; redirects are not followed) or scheduled again after
   `webhook_retry_base · 2^(n-1)` seconds, until `webhook_max_attempts` attempts have failed
   (`failed`). A delivered event's `pending_webhooks` goes down.

All times here are wall-clock milliseconds, whatever clock the mode runs on: the signature's `t` is
checked against the receiver's real clock. Signatures are Stripe's: `Stripe-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import orjson
from sqlalchemy import Connection, func, select, update

from payoutkit.clock import wall_ms
from payoutkit.store.schema import events, resources, webhook_attempts, webhook_deliveries

if TYPE_CHECKING:
    from payoutkit.runtime import Runtime

log = logging.getLogger("payoutkit.webhooks")

# Deliveries claimed (and attempted at once, concurrently) per tick.
BATCH = 64
# The lease outlasts an attempt (bounded by the timeout) by this much.
LEASE_MARGIN = 30.0
# What is kept of a failing endpoint's answer, in the attempt's `error`.
ERROR_BODY_BYTES = 500
USER_AGENT = "Payoutkit/0.1 (+webhooks)"

_d = webhook_deliveries


def signature_header(body: str, secret: str, timestamp: int) -> str:
    """Stripe's `Stripe-Signature` value for `body`, signed at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def retry_delay_ms(attempts: int, base: float) -> int:
    """How long to wait after the `attempts`-th failed attempt: base, 2·base, 4·base, …"""
    return round(base * 1000 * (1 << (attempts - 1)))


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease of, with what the attempt needs."""

    seq: int
    event_id: str
    url: str
    secret: str
    body: str
    attempts: int  # made before this one


@dataclass(frozen=True)
class Outcome:
    attempted_at: int
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(conn: Connection, now: int, lease_ms: int, limit: int = BATCH) -> list[Claimed]:
    """Take up to `limit` due deliveries and lease them until `now + lease_ms`.

    A delivery whose endpoint was deleted or disabled is given up here, without an attempt."""
    due = (
        select(_d.c.seq, _d.c.event_id, _d.c.endpoint_id, _d.c.attempts)
        .where(_d.c.status == "pending", _d.c.next_attempt_at <= now)
        .order_by(_d.c.next_attempt_at, _d.c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = conn.execute(due).all()
    if not rows:
        return []
    conn.execute(update(_d).where(_d.c.seq.in_([r.seq for r in rows])).values(next_attempt_at=now + lease_ms))
    endpoints = {
        r.id: r
        for r in conn.execute(
            select(resources.c.id, resources.c.data, resources.c.internal, resources.c.status).where(
                resources.c.id.in_({r.endpoint_id for r in rows}),
                resources.c.object == "webhook_endpoint",
            )
        )
    }
    bodies = {
        r.id: orjson.dumps(r.data).decode()
        for r in conn.execute(
            select(events.c.id, events.c.data).where(events.c.id.in_({r.event_id for r in rows}))
        )
    }
    claimed, gone = [], []
    for r in rows:
        endpoint = endpoints.get(r.endpoint_id)
        if endpoint is None or endpoint.status != "enabled" or r.event_id not in bodies:
            gone.append(r.seq)
            continue
        claimed.append(
            Claimed(
                seq=r.seq,
                event_id=r.event_id,
                url=endpoint.data["url"],
                secret=(endpoint.internal or {})["secret"],
                body=bodies[r.event_id],
                attempts=r.attempts,
            )
        )
    if gone:
        conn.execute(update(_d).where(_d.c.seq.in_(gone)).values(status="failed", next_attempt_at=None))
    return claimed


async def attempt(client: httpx.AsyncClient, delivery: Claimed, timeout: float) -> Outcome:
    """POST the event once; never raises for what the endpoint or the network does."""
    started_at = wall_ms()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature_header(delivery.body, delivery.secret, started_at // 1000),
        "User-Agent": USER_AGENT,
    }
    start = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        with anyio.fail_after(timeout):  # the whole exchange, a slowly trickling answer included
            body = delivery.body.encode()
            async with client.stream("POST", delivery.url, content=body, headers=headers) as r:
                status = r.status_code
                if not 200 <= status < 300:
                    head = b""
                    async for chunk in r.aiter_bytes():
                        head += chunk
                        if len(head) >= ERROR_BODY_BYTES:
                            break
                    error = f"HTTP {status}: " + head[:ERROR_BODY_BYTES].decode("utf-8", "replace")
    except TimeoutError:
        status, error = None, f"timed out after {timeout:g} s"
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # e.g. a URL httpx refuses: a failed attempt all the same, never a stuck one
        log.warning("webhook attempt to %s failed unexpectedly", delivery.url, exc_info=True)
        status, error = None, f"{type(exc).__name__}: {exc}"
    duration = round((time.monotonic() - start) * 1000)
    return Outcome(attempted_at=started_at, status_code=status, error=error, duration_ms=duration)


def record(
    conn: Connection, delivery: Claimed, outcome: Outcome, *, retry_base: float, max_attempts: int
) -> None:
    """Keep the attempt, and mark the delivery delivered, due again, or failed for good."""
    conn.execute(
        webhook_attempts.insert().values(
            delivery_seq=delivery.seq,
            attempted_at=outcome.attempted_at,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    )
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"attempts": attempts}
    if outcome.delivered:
        values.update(status="delivered", next_attempt_at=None)
    elif attempts >= max_attempts:
        values.update(status="failed", next_attempt_at=None)
    else:
        values["next_attempt_at"] = wall_ms() + retry_delay_ms(attempts, retry_base)
    # Only while still pending: an endpoint deleted meanwhile has already given it up.
    changed = conn.execute(
        update(_d).where(_d.c.seq == delivery.seq, _d.c.status == "pending").values(**values)
    ).rowcount
    if changed and outcome.delivered:
        _count_pending(conn, delivery.event_id)


def _count_pending(conn: Connection, event_id: str) -> None:
    """Store the event's `pending_webhooks`: its deliveries not yet successful. The event row is
    locked first, so concurrent deliveries of one event each count what the others committed."""
    read = select(events.c.data).where(events.c.id == event_id)
    if conn.dialect.name == "postgresql":
        read = read.with_for_update()
    row = conn.execute(read).first()
    if row is None:
        return
    pending = conn.execute(
        select(func.count()).where(_d.c.event_id == event_id, _d.c.status != "delivered")
    ).scalar_one()
    data = dict(row.data)
    data["pending_webhooks"] = pending
    conn.execute(update(events).where(events.c.id == event_id).values(data=data))


async def deliver_due(state: Runtime) -> int:
    """One round: claim what is due, attempt it all concurrently, record each outcome. Returns how
    many deliveries were attempted. Bounded in time by the timeout (plus the database's work)."""
    settings = state.settings
    lease_ms = round((settings.webhook_timeout + LEASE_MARGIN) * 1000)
    claimed = await state.db.run(claim, wall_ms(), lease_ms, BATCH)
    if not claimed:
        return 0

    async def one(client: httpx.AsyncClient, delivery: Claimed) -> None:
        outcome = await attempt(client, delivery, settings.webhook_timeout)
        try:
            await state.db.run(
                lambda conn: record(
                    conn,
                    delivery,
                    outcome,
                    retry_base=settings.webhook_retry_base,
                    max_attempts=settings.webhook_max_attempts,
                )
            )
        except Exception:  # the lease runs out and the delivery is attempted again
            log.exception("could not record webhook attempt for delivery %s", delivery.seq)

    # Proxy variables are ignored: endpoints are reached directly.
    async with (
        httpx.AsyncClient(
            timeout=settings.webhook_timeout,
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=BATCH),
        ) as client,
        anyio.create_task_group() as tg,
    ):
        for delivery in claimed:
            tg.start_soon(one, client, delivery)
    return len(claimed)
