"""Events: a record of every state change Stripe emits one for, written in the same unit of work.

`emit` is called by services and worker jobs; it stores the rendered event object (`evt_…`). The
event commits or rolls back with the change it describes; webhook delivery happens later, outside
that transaction, so delivery never blocks or rolls back the operation.
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from sqlalchemy import Connection, insert

from payoutkit.ids import new_id
from payoutkit.store.schema import events

API_VERSION = "2026-07-29.dahlia"


class Moment(Protocol):
    @property
    def livemode(self) -> bool: ...
    @property
    def now(self) -> int: ...


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
    """Record event `type` about `obj` (a snapshot is taken now). `account_id` is the connected account
    the event is about, or None for the platform's own objects."""
    event_id = new_id("evt")
    data: dict[str, Any] = {"object": copy.deepcopy(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": moment.now,
        "data": data,
        "livemode": moment.livemode,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type,
    }
    if account_id is not None and account_id != platform_id:
        event["account"] = account_id
    conn.execute(
        insert(events).values(
            id=event_id,
            platform_id=platform_id,
            account_id=event.get("account"),
            livemode=moment.livemode,
            type=type,
            created=moment.now,
            data=event,
        )
    )
    return event_id
