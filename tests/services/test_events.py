"""Events, webhook endpoints and the delivery queue as use cases: called with an actor, no HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.lists import Window
from payoutkit.records.events import Outcome
from payoutkit.services import events, webhook_endpoints, webhooks
from payoutkit.services.actor import Actor, Moment
from payoutkit.store.db import Database
from tests.conftest import CLOCK_START

PLATFORM = "acct_platform0000000000000"
CONNECTED = "acct_connected000000000000"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=2)
    yield database
    database.dispose()


def _actor(account: str = PLATFORM, *, now: int = CLOCK_START) -> Actor:
    return Actor(account_id=account, platform_id=PLATFORM, livemode=False, now=now, request_id="req_1")


def _endpoint(db: Database, *, connect: bool, enabled: tuple[str, ...]) -> str:
    command = webhook_endpoints.CreateEndpoint("https://example.com/hook", enabled, connect=connect)
    made = db.transaction(webhook_endpoints.create, _actor(), command)
    assert made.secret.startswith("whsec_")
    return made.endpoint.id


def test_an_event_is_queued_for_the_endpoints_that_take_it(db: Database) -> None:
    own = _endpoint(db, connect=False, enabled=("charge.succeeded",))
    connect = _endpoint(db, connect=True, enabled=("*",))
    actor = _actor()
    mine = db.transaction(events.emit_request, actor, "charge.succeeded", {"id": "ch_1", "object": "charge"})
    theirs = db.transaction(
        events.emit_request, actor, "charge.succeeded", {"id": "ch_2"}, account_id=CONNECTED
    )
    skipped = db.transaction(events.emit_request, actor, "charge.refunded", {"id": "ch_1"})

    assert db.transaction(events.retrieve, actor, mine).pending_webhooks == 1
    assert db.transaction(events.retrieve, actor, skipped).pending_webhooks == 0
    event = db.transaction(events.retrieve, _actor(CONNECTED), theirs)
    assert (event.account, event.pending_webhooks, event.request_id) == (CONNECTED, 1, "req_1")
    with pytest.raises(ResourceMissing):
        db.transaction(events.retrieve, actor, theirs)  # the platform's own events only

    claimed = db.transaction(webhooks.claim, 10**13, 60_000)
    assert {c.event_id for c in claimed} == {mine, theirs}
    assert {c.url for c in claimed} == {"https://example.com/hook"}
    assert db.transaction(webhooks.claim, 10**13, 60_000) == []  # leased
    settings = Settings(database_url=db.url)
    for c in claimed:
        db.transaction(webhooks.record, c, Outcome(10**13, 200, None, 5), settings)
    assert db.transaction(events.retrieve, actor, mine).pending_webhooks == 0
    assert {own, connect}


def test_events_are_listed_by_type_and_group(db: Database) -> None:
    actor = _actor()
    for type in ("charge.succeeded", "charge.refunded", "payout.paid"):
        db.transaction(events.emit_request, actor, type, {"id": "x"})
    window = Window(limit=10)
    found = db.transaction(events.list_events, actor, events.EventQuery(window, type="charge.*"))
    assert [e.type for e in found.items] == ["charge.refunded", "charge.succeeded"]
    found = db.transaction(events.list_events, actor, events.EventQuery(window, types=("payout.paid",)))
    assert [e.type for e in found.items] == ["payout.paid"]
    with pytest.raises(InvalidRequest):
        db.transaction(events.list_events, actor, events.EventQuery(window, type="a", types=("b",)))
    later = _actor(now=CLOCK_START + events.RETENTION)
    assert db.transaction(events.list_events, later, events.EventQuery(window)).items == []


def test_a_job_s_event_carries_no_request(db: Database) -> None:
    emission = events.Emission("balance.available", {"object": "balance"}, PLATFORM, None)
    [event_id] = db.transaction(events.emit_all, Moment(livemode=False, now=CLOCK_START), [emission])
    event = db.transaction(events.retrieve, _actor(), event_id)
    assert (event.request_id, event.idempotency_key, event.account) == (None, None, None)


def test_only_the_platform_manages_endpoints_and_deleting_gives_up_deliveries(db: Database) -> None:
    endpoint_id = _endpoint(db, connect=False, enabled=("*",))
    with pytest.raises(PermissionDenied):
        db.transaction(webhook_endpoints.retrieve, _actor(CONNECTED), endpoint_id)
    update = webhook_endpoints.UpdateEndpoint(endpoint_id, disabled=True, metadata={"k": "v"})
    changed = db.transaction(webhook_endpoints.modify, _actor(), update)
    assert (changed.status, dict(changed.metadata)) == ("disabled", {"k": "v"})
    listed = db.transaction(webhook_endpoints.list_endpoints, _actor(), Window(limit=10))
    assert [e.id for e in listed.items] == [endpoint_id]
    db.transaction(
        webhook_endpoints.modify, _actor(), webhook_endpoints.UpdateEndpoint(endpoint_id, disabled=False)
    )
    db.transaction(events.emit_request, _actor(), "payout.paid", {"id": "po_1"})
    db.transaction(webhook_endpoints.delete, _actor(), endpoint_id)
    assert db.transaction(webhooks.claim, 10**13, 60_000) == []
    with pytest.raises(ResourceMissing):
        db.transaction(webhook_endpoints.retrieve, _actor(), endpoint_id)


def test_previous_attributes_are_the_changed_fields_nested() -> None:
    before = {"a": 1, "m": {"x": "1", "y": "2"}, "same": True}
    after = {"a": 2, "m": {"x": "1", "y": "3"}, "same": True, "new": "n"}
    assert events.previous_attributes(before, after) == {"a": 1, "m": {"y": "2"}, "new": None}


def test_the_records_give_back_the_documents_they_were_read_from() -> None:
    from payoutkit.records.events import Event, WebhookEndpoint

    event = {
        "id": "evt_1",
        "object": "event",
        "account": CONNECTED,
        "api_version": events.API_VERSION,
        "created": CLOCK_START,
        "data": {"object": {"id": "po_1"}, "previous_attributes": {"status": "pending"}},
        "livemode": False,
        "pending_webhooks": 2,
        "request": {"id": None, "idempotency_key": None},
        "type": "payout.paid",
    }
    assert Event.from_doc(event).doc() == event
    assert list(Event.from_doc(event).doc()) == list(event)
    endpoint: dict[str, Any] = {
        "id": "we_1",
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": CLOCK_START,
        "description": "d",
        "enabled_events": ["*"],
        "livemode": False,
        "metadata": {},
        "status": "enabled",
        "url": "https://example.com",
    }
    assert WebhookEndpoint.from_doc(endpoint, {"connect": True, "secret": "s"}).doc() == endpoint


def test_an_emitted_event_is_a_whole_record_equal_to_one_built_by_its_init() -> None:
    """`_event` sets every field at once (`made_whole`): the record `Event(...)` would build."""
    from dataclasses import fields, replace

    from payoutkit.records.events import Event

    made = events._event(_actor(), events.Emission("payout.created", {"id": "po_1"}, PLATFORM, CONNECTED), 2)
    assert vars(made).keys() == {f.name for f in fields(Event)}
    assert made == replace(made) == Event.from_doc(made.doc())
    assert (made.account, made.pending_webhooks, made.request_id) == (CONNECTED, 2, "req_1")


def test_an_emitted_object_is_copied_unless_it_is_handed_over() -> None:
    obj = {"id": "po_1", "metadata": {"k": "v"}}
    kept = events._event(_actor(), events.Emission("payout.created", obj, PLATFORM, None), 0)
    assert kept.object == obj
    assert kept.object is not obj
    assert kept.object["metadata"] is not obj["metadata"]
    given = events._event(
        _actor(), events.Emission("payout.created", obj, PLATFORM, None, handed_over=True), 0
    )
    assert given.object is obj
