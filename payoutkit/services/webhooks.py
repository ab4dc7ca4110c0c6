"""Webhook delivery: the worker POSTs each queued event to its endpoint, signed, and retries failures.

A request only queues deliveries (services/events.py); each worker round (`deliver_due`) then

1. claims due deliveries in one short unit of work (`store.webhooks.claim`): on PostgreSQL with `FOR
   UPDATE SKIP LOCKED`, so several workers share the queue, and pushes each one's next attempt forward
   by a lease longer than an attempt can take, so no other worker picks it up meanwhile (and a worker
   that dies mid-attempt leaves it to be retried when the lease ends);
2. POSTs the events concurrently with httpx, outside any transaction, each attempt bounded by
   `Settings.webhook_timeout`;
3. records each attempt in its own unit (`record`): the attempt kept, and the delivery marked
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

import anyio
import httpx

from payoutkit.clock import wall_ms
from payoutkit.config import Settings
from payoutkit.records.events import Claimed, Outcome, Verdict
from payoutkit.store import Tx
from payoutkit.store import webhooks as stored
from payoutkit.store.db import Database

__all__ = [
    "Claimed",
    "Outcome",
    "attempt",
    "claim",
    "deliver_due",
    "record",
    "retry_delay_ms",
    "signature_header",
]

log = logging.getLogger("payoutkit.webhooks")

# Deliveries claimed (and attempted at once, concurrently) per round.
BATCH = 64
# The lease outlasts an attempt (bounded by the timeout) by this much.
LEASE_MARGIN = 30.0
# What is kept of a failing endpoint's answer, in the attempt's `error`.
ERROR_BODY_BYTES = 500
USER_AGENT = "Payoutkit/0.1 (+webhooks)"


def signature_header(body: str, secret: str, timestamp: int) -> str:
    """Stripe's `Stripe-Signature` value for `body`, signed at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def retry_delay_ms(attempts: int, base: float) -> int:
    """How long to wait after the `attempts`-th failed attempt: base, 2·base, 4·base, …"""
    return round(base * 1000 * (1 << (attempts - 1)))


def claim(tx: Tx, now: int, lease_ms: int, limit: int = BATCH) -> list[Claimed]:
    """Take up to `limit` due deliveries and lease them until `now + lease_ms`."""
    return stored.claim(tx, now, lease_ms, limit)


def verdict(delivery: Claimed, outcome: Outcome, settings: Settings) -> Verdict:
    """What the attempt does to the delivery: delivered, due again after a backoff, or failed."""
    attempts = delivery.attempts + 1
    if outcome.delivered:
        return Verdict(attempts, "delivered", None)
    if attempts >= settings.webhook_max_attempts:
        return Verdict(attempts, "failed", None)
    return Verdict(attempts, "pending", wall_ms() + retry_delay_ms(attempts, settings.webhook_retry_base))


def record(tx: Tx, delivery: Claimed, outcome: Outcome, settings: Settings) -> None:
    """Keep the attempt, and mark the delivery delivered, due again, or failed for good."""
    stored.record(tx, delivery, outcome, verdict(delivery, outcome, settings))


async def _error_of(response: httpx.Response, status: int) -> str:
    head = b""
    async for chunk in response.aiter_bytes():
        head += chunk
        if len(head) >= ERROR_BODY_BYTES:
            break
    return f"HTTP {status}: " + head[:ERROR_BODY_BYTES].decode("utf-8", "replace")


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
                    error = await _error_of(r, status)
    except TimeoutError:
        status, error = None, f"timed out after {timeout:g} s"
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # e.g. a URL httpx refuses: a failed attempt all the same, never a stuck one
        log.warning("webhook attempt to %s failed unexpectedly", delivery.url, exc_info=True)
        status, error = None, f"{type(exc).__name__}: {exc}"
    duration = round((time.monotonic() - start) * 1000)
    return Outcome(attempted_at=started_at, status_code=status, error=error, duration_ms=duration)


async def deliver_due(db: Database, settings: Settings) -> int:
    """One round: claim what is due, attempt it all concurrently, record each outcome. Returns how
    many deliveries were attempted. Bounded in time by the timeout (plus the database's work)."""
    lease_ms = round((settings.webhook_timeout + LEASE_MARGIN) * 1000)
    claimed = await db.run(claim, wall_ms(), lease_ms, BATCH)
    if not claimed:
        return 0

    async def one(client: httpx.AsyncClient, delivery: Claimed) -> None:
        outcome = await attempt(client, delivery, settings.webhook_timeout)
        try:
            await db.run(record, delivery, outcome, settings)
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
