"""Events, webhook endpoints and webhook deliveries as records: typed mirrors of what is stored.

An `Event` mirrors the stored event document (`events.data`, exactly Stripe's event object); a
`WebhookEndpoint` the stored endpoint document (`resources.data`) plus what it keeps in `internal`
(`connect`; the signing secret is read only by delivery, `Claimed`). `Claimed` and `Outcome` are one
delivery held by a worker and what its attempt came to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-07-29.dahlia"
WILDCARD = "*"


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created: int
    livemode: bool
    # The connected account the event is about; None for the platform's own objects.
    account: str | None
    # `data.object`: the snapshot of the object when the event was emitted.
    object: Mapping[str, Any]
    previous_attributes: Mapping[str, Any] | None = None
    pending_webhooks: int = 0
    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str = API_VERSION

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Event:
        data, request = d["data"], d.get("request") or {}
        return cls(
            id=d["id"],
            type=d["type"],
            created=d["created"],
            livemode=d["livemode"],
            account=d.get("account"),
            object=data["object"],
            previous_attributes=data.get("previous_attributes"),
            pending_webhooks=d["pending_webhooks"],
            request_id=request.get("id"),
            idempotency_key=request.get("idempotency_key"),
            api_version=d["api_version"],
        )

    def doc(self) -> dict[str, Any]:
        data: dict[str, Any] = {"object": self.object}
        if self.previous_attributes is not None:
            data["previous_attributes"] = self.previous_attributes
        d: dict[str, Any] = {"id": self.id, "object": "event"}
        if self.account is not None:
            d["account"] = self.account
        d.update(
            {
                "api_version": self.api_version,
                "created": self.created,
                "data": data,
                "livemode": self.livemode,
                "pending_webhooks": self.pending_webhooks,
                "request": {"id": self.request_id, "idempotency_key": self.idempotency_key},
                "type": self.type,
            }
        )
        return d


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    enabled_events: tuple[str, ...]
    status: str  # enabled | disabled
    livemode: bool
    created: int
    api_version: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    application: str | None = None
    # Not a field of Stripe's object: kept in `internal`.
    connect: bool = False

    @property
    def enabled(self) -> bool:
        return self.status == "enabled"

    def takes(self, type: str, *, connect: bool) -> bool:
        """Whether this endpoint receives events of `type` about the platform's own objects
        (`connect=False`) or about its connected accounts' (`connect=True`)."""
        return self.connect == connect and (type in self.enabled_events or WILDCARD in self.enabled_events)

    @classmethod
    def from_doc(cls, d: Mapping[str, Any], internal: Mapping[str, Any] | None = None) -> WebhookEndpoint:
        return cls(
            id=d["id"],
            url=d["url"],
            enabled_events=tuple(d["enabled_events"]),
            status=d["status"],
            livemode=d["livemode"],
            created=d["created"],
            api_version=d.get("api_version"),
            description=d.get("description"),
            metadata=d.get("metadata") or {},
            application=d.get("application"),
            connect=bool((internal or {}).get("connect")),
        )

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": self.api_version,
            "application": self.application,
            "created": self.created,
            "description": self.description,
            "enabled_events": list(self.enabled_events),
            "livemode": self.livemode,
            "metadata": dict(self.metadata),
            "status": self.status,
            "url": self.url,
        }


@dataclass(frozen=True)
class NewEndpoint:
    """A created endpoint and its signing secret (shown in the create response only, as on Stripe)."""

    endpoint: WebhookEndpoint
    secret: str


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds the lease of, with what the attempt needs."""

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


@dataclass(frozen=True)
class Verdict:
    """What an attempt's outcome does to its delivery: its attempts, its status and next attempt."""

    attempts: int
    status: str  # pending | delivered | failed
    next_attempt_at: int | None
