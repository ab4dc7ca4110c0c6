"""Webhook endpoints: where the platform's events are delivered, signed with the endpoint's secret.

Stored as documents (`resources`, object `webhook_endpoint`, owned by the platform): the rendered
Stripe object, with the signing secret and `connect` (not fields of Stripe's object) kept in the
`internal` column. The secret is shown once, in the create response, as on Stripe. Only the platform
manages endpoints; `connect=true` ones receive its connected accounts' events.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, func, select, update

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams
from payoutkit.api.params import Bool, Metadata, Params, metadata_update
from payoutkit.errors import InvalidRequest
from payoutkit.ids import check_id, new_id, new_secret
from payoutkit.services.access import list_owned, owned
from payoutkit.services.event_types import is_known
from payoutkit.services.policy import require_platform
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources, webhook_deliveries

MAX_ENDPOINTS = 16  # per mode, as on Stripe
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


class EndpointCreate(Params):
    url: str
    enabled_events: list[str]
    api_version: str | None = None
    connect: Bool | None = None
    description: str | None = None
    metadata: Metadata = None


class EndpointUpdate(Params):
    url: str | None = None
    enabled_events: list[str] | None = None
    description: str | None = None
    disabled: Bool | None = None
    metadata: Metadata = None


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # e.g. an unclosed IPv6 bracket, a port out of range
        valid = False
    if not valid:
        raise InvalidRequest(
            f"Invalid URL: {url}. URLs must begin with http:// or https:// and name a host.",
            param="url",
            code="url_invalid",
        )
    return url


def _check_events(enabled: list[str]) -> list[str]:
    if not enabled:
        raise InvalidRequest("Missing required param: enabled_events.", param="enabled_events")
    for i, event_type in enumerate(enabled):
        if not is_known(event_type):
            raise InvalidRequest(
                f"Invalid enabled_events[{i}]: '{event_type}' is not an event type (use '*' for all).",
                param=f"enabled_events[{i}]",
                code="parameter_invalid_string",
            )
    return list(dict.fromkeys(enabled))


def create(conn: Connection, ctx: Ctx, p: EndpointCreate) -> dict[str, Any]:
    require_platform(ctx, "manage webhook endpoints")
    url = _check_url(p.url)
    enabled = _check_events(p.enabled_events)
    if p.api_version is not None and not _API_VERSION.match(p.api_version):
        raise InvalidRequest(f"Invalid API version: {p.api_version}", param="api_version")
    count = conn.execute(
        select(func.count()).where(
            resources.c.account_id == ctx.account_id,
            resources.c.livemode == ctx.livemode,
            resources.c.object == "webhook_endpoint",
        )
    ).scalar_one()
    if count >= MAX_ENDPOINTS:
        mode = "live" if ctx.livemode else "test"
        raise InvalidRequest(f"You have reached the maximum of {MAX_ENDPOINTS} {mode} webhook endpoints.")
    secret = new_secret("whsec")
    endpoint: dict[str, Any] = {
        "id": new_id("we"),
        "object": "webhook_endpoint",
        "api_version": p.api_version,
        "application": None,
        "created": ctx.now,
        "description": p.description,
        "enabled_events": enabled,
        "livemode": ctx.livemode,
        "metadata": metadata_update({}, p.metadata),
        "status": "enabled",
        "url": url,
    }
    objects.create(
        conn,
        endpoint,
        account_id=ctx.account_id,
        status="enabled",
        internal={"secret": secret, "connect": bool(p.connect)},
    )
    # Stripe shows the secret in the create response only.
    return {**endpoint, "secret": secret}


def _owned(conn: Connection, ctx: Ctx, id: str) -> dict[str, Any]:
    require_platform(ctx, "manage webhook endpoints")
    check_id(id, ("we",), "id", "webhook endpoint")
    return owned(conn, ctx, id, "webhook_endpoint")


def retrieve(conn: Connection, ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    return _owned(conn, ctx, id)


def modify(conn: Connection, ctx: Ctx, p: EndpointUpdate, id: str) -> dict[str, Any]:
    endpoint = _owned(conn, ctx, id)
    if p.url is not None:
        endpoint["url"] = _check_url(p.url)
    if p.enabled_events is not None:
        endpoint["enabled_events"] = _check_events(p.enabled_events)
    if p.description is not None:
        endpoint["description"] = p.description
    if p.disabled is not None:
        endpoint["status"] = "disabled" if p.disabled else "enabled"
    endpoint["metadata"] = metadata_update(endpoint["metadata"], p.metadata)
    return objects.save(conn, endpoint, status=endpoint["status"])


def _give_up_deliveries(conn: Connection, endpoint_id: str) -> None:
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.endpoint_id == endpoint_id, webhook_deliveries.c.status == "pending")
        .values(status="failed", next_attempt_at=None)
    )


def delete(conn: Connection, ctx: Ctx, p: Params, id: str) -> dict[str, Any]:
    _owned(conn, ctx, id)
    conn.execute(resources.delete().where(resources.c.id == id))
    _give_up_deliveries(conn, id)
    return {"id": id, "object": "webhook_endpoint", "deleted": True}


def list_endpoints(conn: Connection, ctx: Ctx, p: ListParams) -> dict[str, Any]:
    require_platform(ctx, "manage webhook endpoints")
    return list_owned(conn, ctx, "webhook_endpoint", p, "/v1/webhook_endpoints")
