"""Webhook delivery to a real receiver on 127.0.0.1, driven by the server's own worker.

The receiver is a small threaded `http.server` that can fail its first requests, hang, or be absent.
Every delivered payload must pass the official SDK's `stripe.Webhook.construct_event`; every attempt
must be in `webhook_attempts`; retries must wait at least the exponential backoff; and no receiver,
however slow or absent, may hold up the API. Waits are bounded; nothing here asserts on speed.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
import pytest
import stripe
from sqlalchemy import Connection, select

from payoutkit.config import Settings
from payoutkit.services.webhooks import retry_delay_ms, signature_header
from payoutkit.store.engines import READONLY, make_engine
from payoutkit.store.schema import events, webhook_attempts, webhook_deliveries
from tests.contract.helpers import as_dict, charge
from tests.support import waiting
from tests.support.server import RunningServer

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams

T = TypeVar("T")

RETRY_BASE = 0.1  # seconds: retries after 0.1, 0.2, 0.4, … s
WAIT = 30.0  # the longest any test waits for something that should happen
WORKER = {"worker": True, "worker_interval": 0.02, "webhook_retry_base": RETRY_BASE, "webhook_timeout": 5.0}


# -- a receiver ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    signature: str
    content_type: str
    body: bytes


class _Listener(ThreadingHTTPServer):
    # The worker posts a batch of deliveries at once: with the default backlog (5) a loaded machine
    # drops connection attempts, which then fail as timeouts and wait a minute for their retry.
    request_queue_size = 128


class Receiver:
    """Answers 500 to its first `fail_first` requests and holds its first `hang_first` until released
    (`release`, or the end of the block); answers 200 to the rest."""

    def __init__(self, port: int = 0, *, fail_first: int = 0, hang_first: int = 0) -> None:
        self.port = port
        self.fail_first = fail_first
        self.hang_first = hang_first
        self.received: list[Received] = []
        self.entered = threading.Event()  # a request has reached the handler
        self.answered = 0  # requests answered (or given up on by the sender)
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        with self._lock:
            index = len(self.received)
            self.received.append(
                Received(
                    handler.headers.get("Stripe-Signature", ""), handler.headers.get("Content-Type", ""), body
                )
            )
        self.entered.set()
        if index < self.hang_first:
            self.released.wait(WAIT)
        status = 500 if index < self.fail_first else 200
        with contextlib.suppress(OSError):  # the sender may have given up (a timeout)
            handler.send_response(status)
            handler.send_header("Content-Type", "text/plain")
            handler.end_headers()
            handler.wfile.write(b"nope" if status == 500 else b"ok")
        with self._lock:
            self.answered += 1

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _Listener(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(WAIT)

    def count(self) -> int:
        with self._lock:
            return len(self.received)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- reading what the server stored ------------------------------------------------------------


@pytest.fixture
def read(server: RunningServer) -> Iterator[Callable[[Callable[[Connection], T]], T]]:
    """`read(fn)` runs `fn(conn)` in one read transaction on the server's database."""
    engine = make_engine(server.settings.database_url, pool_size=1)

    def run(fn: Callable[[Connection], T]) -> T:
        with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            return fn(conn)

    yield run
    engine.dispose()


def deliveries(conn: Connection) -> list[Any]:
    return list(conn.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.seq)).all())


def attempts_of(conn: Connection, delivery_seq: int) -> list[Any]:
    return list(
        conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_seq == delivery_seq)
            .order_by(webhook_attempts.c.seq)
        ).all()
    )


def all_attempts(conn: Connection) -> list[Any]:
    return list(conn.execute(select(webhook_attempts).order_by(webhook_attempts.c.seq)).all())


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT) -> T:
    return waiting.wait_for(what, check, timeout, poll=0.02)


def new_endpoint(client: stripe.StripeClient, url: str, *events_: str) -> tuple[str, str]:
    params = {"url": url, "enabled_events": list(events_) or ["*"]}
    created = as_dict(client.v1.webhook_endpoints.create(cast("WebhookEndpointCreateParams", params)))
    return created["id"], created["secret"]


def verified(received: Received, secret: str) -> stripe.Event:
    """The event, as the official SDK builds it after verifying the signature (or raises)."""
    event: stripe.Event = stripe.Webhook.construct_event(
        received.body, received.signature, secret, api_key="sk_test_x"
    )
    return event


def steady_delivered(rows: list[Any], endpoint_id: str) -> bool:
    return any(d.endpoint_id == endpoint_id and d.status == "delivered" for d in rows)


def pending_and_undelivered(conn: Connection, event_id: str) -> tuple[int, int]:
    """The event's stored `pending_webhooks` and its deliveries not delivered, in one snapshot."""
    data = conn.execute(select(events.c.data).where(events.c.id == event_id)).scalar_one()
    rows = conn.execute(select(webhook_deliveries.c.status).where(webhook_deliveries.c.event_id == event_id))
    return data["pending_webhooks"], sum(1 for r in rows if r.status != "delivered")


def event_json(http: httpx.Client, event_id: str) -> dict[str, Any]:
    response = http.get(f"/v1/events/{event_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# -- signatures ---------------------------------------------------------------------------------


def test_the_sdk_accepts_our_signature_and_rejects_a_wrong_secret_or_a_stale_one() -> None:
    body = '{"id": "evt_1", "object": "event", "type": "charge.succeeded", "data": {"object": {}}}'
    secret = "whsec_" + "s" * 32
    now = int(time.time())
    header = signature_header(body, secret, now)

    assert header == stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=now)
    assert stripe.WebhookSignature.verify_header(body, header, secret, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError, match="No signatures found matching"):
        stripe.WebhookSignature.verify_header(body, header, "whsec_" + "t" * 32, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError, match="No signatures found matching"):
        stripe.WebhookSignature.verify_header(body + " ", header, secret, tolerance=300)
    stale = signature_header(body, secret, now - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.WebhookSignature.verify_header(body, stale, secret, tolerance=300)


def test_retry_delays_double() -> None:
    assert [retry_delay_ms(n, 60.0) for n in (1, 2, 3, 4)] == [60_000, 120_000, 240_000, 480_000]
    assert retry_delay_ms(1, 0.1) == 100


def test_delivery_settings_come_from_the_environment() -> None:
    default = Settings.from_env({})
    assert (default.webhook_timeout, default.webhook_retry_base, default.webhook_max_attempts) == (
        10.0,
        60.0,
        12,
    )
    given = Settings.from_env(
        {
            "PAYOUTKIT_WEBHOOK_TIMEOUT": "2.5",
            "PAYOUTKIT_WEBHOOK_RETRY_BASE": "30",
            "PAYOUTKIT_WEBHOOK_MAX_ATTEMPTS": "5",
        }
    )
    assert (given.webhook_timeout, given.webhook_retry_base, given.webhook_max_attempts) == (2.5, 30.0, 5)
    with pytest.raises(ValueError, match="PAYOUTKIT_WEBHOOK_MAX_ATTEMPTS"):
        Settings.from_env({"PAYOUTKIT_WEBHOOK_MAX_ATTEMPTS": "0"})


# -- delivery -----------------------------------------------------------------------------------


@pytest.mark.parametrize("server_settings", [WORKER], indirect=True)
def test_failed_deliveries_are_retried_with_backoff_until_accepted(
    stripe_client: stripe.StripeClient,
    http: httpx.Client,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    with Receiver(fail_first=3) as flaky, Receiver() as steady:
        flaky_id, flaky_secret = new_endpoint(stripe_client, flaky.url, "topup.succeeded")
        steady_id, steady_secret = new_endpoint(
            stripe_client, steady.url, "topup.succeeded", "charge.succeeded"
        )
        topup = as_dict(stripe_client.v1.topups.create({"amount": 5000, "currency": "usd"}))

        listed = as_dict(stripe_client.v1.events.list({"type": "topup.succeeded"}))["data"]
        assert len(listed) == 1
        event_id = listed[0]["id"]
        assert listed[0]["pending_webhooks"] in (1, 2)  # the flaky one cannot have succeeded yet

        # Once the steady endpoint has it, the stored count is what is left to deliver.
        wait_for("the steady endpoint's delivery", lambda: steady_delivered(read(deliveries), steady_id))
        pending, undelivered = read(lambda conn: pending_and_undelivered(conn, event_id))
        assert pending == undelivered >= 0
        wait_for("the flaky endpoint to accept", lambda: flaky.count() >= 4)
        wait_for("pending_webhooks to reach 0", lambda: event_json(http, event_id)["pending_webhooks"] == 0)

    # Every payload the receivers got is the event, signed with their endpoint's secret.
    assert flaky.count() == 4
    for received in flaky.received:
        assert received.content_type.startswith("application/json")
        event = verified(received, flaky_secret)
        assert (event.id, event.type) == (event_id, "topup.succeeded")
        assert event.data.object.id == topup["id"]
        with pytest.raises(stripe.SignatureVerificationError):
            verified(received, steady_secret)
    assert [verified(r, steady_secret).id for r in steady.received] == [event_id]

    rows = read(deliveries)
    by_endpoint = {row.endpoint_id: row for row in rows}
    assert set(by_endpoint) == {flaky_id, steady_id}
    flaky_row, steady_row = by_endpoint[flaky_id], by_endpoint[steady_id]
    assert (flaky_row.status, flaky_row.attempts, flaky_row.next_attempt_at) == ("delivered", 4, None)
    assert (steady_row.status, steady_row.attempts) == ("delivered", 1)

    tried = read(lambda conn: attempts_of(conn, flaky_row.seq))
    assert [a.status_code for a in tried] == [500, 500, 500, 200]
    assert all(a.error.startswith("HTTP 500") for a in tried[:3])
    assert tried[3].error is None
    assert all(a.duration_ms >= 0 for a in tried)
    # Each retry waited at least its backoff, and the backoffs grow: 0.1 s, 0.2 s, 0.4 s.
    gaps = [later.attempted_at - earlier.attempted_at for earlier, later in itertools.pairwise(tried)]
    assert [retry_delay_ms(n, RETRY_BASE) for n in (1, 2, 3)] == [100, 200, 400]
    for n, gap in enumerate(gaps, start=1):
        assert gap >= retry_delay_ms(n, RETRY_BASE), gaps
    assert len(read(lambda conn: attempts_of(conn, steady_row.seq))) == 1


@pytest.mark.parametrize("server_settings", [{**WORKER, "webhook_max_attempts": 3}], indirect=True)
def test_a_delivery_fails_for_good_after_the_last_attempt(
    stripe_client: stripe.StripeClient,
    http: httpx.Client,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    with Receiver(fail_first=1000) as broken:
        new_endpoint(stripe_client, broken.url, "charge.succeeded")
        charge(stripe_client, 1000)
        row = wait_for(
            "the delivery to fail", lambda: next((d for d in read(deliveries) if d.status == "failed"), None)
        )

    assert (row.attempts, row.next_attempt_at) == (3, None)
    assert broken.count() == 3
    assert [a.status_code for a in read(lambda conn: attempts_of(conn, row.seq))] == [500, 500, 500]
    event = event_json(http, row.event_id)
    assert event["pending_webhooks"] == 1  # never delivered
    undelivered = http.get("/v1/events", params={"delivery_success": "false"}).json()["data"]
    assert [e["id"] for e in undelivered] == [row.event_id]
    assert http.get("/v1/events", params={"delivery_success": "true"}).json()["data"] == []


@pytest.mark.parametrize("server_settings", [WORKER], indirect=True)
def test_an_absent_endpoint_does_not_stop_the_operation_and_gets_it_later(
    stripe_client: stripe.StripeClient,
    http: httpx.Client,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    port = free_port()
    _, secret = new_endpoint(stripe_client, f"http://127.0.0.1:{port}/hooks", "charge.succeeded")

    ch = charge(stripe_client, 1000)  # nothing listens, and the charge is made all the same
    assert ch["status"] == "succeeded"
    unreachable = wait_for(
        "an attempt that could not connect",
        lambda: read(all_attempts),
    )
    assert unreachable[0].status_code is None
    assert unreachable[0].error

    with Receiver(port) as late:
        wait_for("the late receiver to get the event", lambda: late.count() >= 1)
        event = verified(late.received[0], secret)
    assert event.type == "charge.succeeded"
    assert event.data.object.id == ch["id"]
    wait_for("pending_webhooks to reach 0", lambda: event_json(http, event.id)["pending_webhooks"] == 0)
    row = read(deliveries)[0]
    tried = read(lambda conn: attempts_of(conn, row.seq))
    assert row.status == "delivered"
    assert [a.status_code for a in tried][-1] == 200
    assert all(a.status_code is None for a in tried[:-1])


@pytest.mark.parametrize("server_settings", [{**WORKER, "webhook_timeout": 60.0}], indirect=True)
def test_a_hanging_receiver_does_not_hold_up_requests(
    stripe_client: stripe.StripeClient,
    server: RunningServer,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    with Receiver(hang_first=1) as hanging:
        new_endpoint(stripe_client, hanging.url)
        stripe_client.v1.topups.create({"amount": 5000, "currency": "usd"})
        assert hanging.entered.wait(WAIT), "the worker never reached the receiver"

        # While the worker waits on the receiver (its timeout is a minute), the API answers: reads,
        # and writes that need the database's write lock and queue new deliveries. Each request may
        # take at most 10 s, far less than the attempt is allowed.
        with httpx.Client(
            base_url=server.url, auth=(server.settings.secret_key or "", ""), trust_env=False, timeout=10
        ) as quick:
            for _ in range(3):
                made = quick.post(
                    "/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"}
                )
                assert made.status_code == 200, made.text
            assert quick.get("/v1/balance").status_code == 200
            assert len(quick.get("/v1/events", params={"limit": 100}).json()["data"]) == 5
        with hanging._lock:
            assert hanging.answered < len(hanging.received)  # the first is still held, unanswered
        assert all(a.status_code is not None for a in read(all_attempts))  # no attempt timed out

        hanging.released.set()
        wait_for(
            "every event to be delivered", lambda: all(d.status == "delivered" for d in read(deliveries))
        )
    assert hanging.count() == 5  # 2 top-up events and 3 charges, each once


@pytest.mark.parametrize("server_settings", [{**WORKER, "webhook_timeout": 0.5}], indirect=True)
def test_an_attempt_that_takes_too_long_is_a_failure_and_is_retried(
    stripe_client: stripe.StripeClient,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    with Receiver(hang_first=1) as slow:
        _, secret = new_endpoint(stripe_client, slow.url, "charge.succeeded")
        charge(stripe_client, 1000)
        row = wait_for(
            "the retry to be delivered",
            lambda: next((d for d in read(deliveries) if d.status == "delivered"), None),
        )
        tried = read(lambda conn: attempts_of(conn, row.seq))
    assert [a.status_code for a in tried] == [None, 200]
    assert "timed out" in tried[0].error
    assert slow.count() == 2
    assert verified(slow.received[1], secret).type == "charge.succeeded"


@pytest.mark.parametrize("server_settings", [WORKER], indirect=True)
def test_deleting_an_endpoint_gives_up_its_deliveries(
    stripe_client: stripe.StripeClient,
    read: Callable[[Callable[[Connection], Any]], Any],
) -> None:
    with Receiver(fail_first=1000) as broken:
        endpoint_id, _ = new_endpoint(stripe_client, broken.url, "charge.succeeded")
        charge(stripe_client, 1000)
        wait_for("a first attempt", broken.count)
        stripe_client.v1.webhook_endpoints.delete(endpoint_id)
        row = read(deliveries)[0]
        assert (row.status, row.next_attempt_at) == ("failed", None)
        # An attempt in flight at the deletion is still recorded; then nothing more is sent.
        wait_for(
            "every attempt to be recorded",
            lambda: broken.count() == len(read(lambda c: attempts_of(c, row.seq))),
        )
        assert read(deliveries)[0].status == "failed"
    stored = read(
        lambda conn: conn.execute(select(events.c.data).where(events.c.id == row.event_id)).scalar_one()
    )
    assert stored["pending_webhooks"] == 1
