"""Webhook endpoints: where the platform's events are delivered, signed with the endpoint's secret.

Only the platform manages endpoints; `connect=true` ones receive its connected accounts' events. The
signing secret is shown once, in the create response, as on Stripe (`NewEndpoint`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id, new_secret
from payoutkit.lists import Page, Window
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.events import NewEndpoint, WebhookEndpoint
from payoutkit.services.actor import Actor
from payoutkit.services.event_types import is_known
from payoutkit.services.policy import require_platform
from payoutkit.store import Tx
from payoutkit.store import webhooks as stored

MAX_ENDPOINTS = 16  # per mode, as on Stripe
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
_WHAT = "manage webhook endpoints"


@dataclass(frozen=True)
class CreateEndpoint:
    url: str
    enabled_events: Sequence[str]
    api_version: str | None = None
    connect: bool = False
    description: str | None = None
    metadata: MetadataChange = None


@dataclass(frozen=True)
class UpdateEndpoint:
    id: str
    url: str | None = None
    enabled_events: Sequence[str] | None = None
    description: str | None = None
    disabled: bool | None = None
    metadata: MetadataChange = None


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


def _check_events(enabled: Sequence[str]) -> tuple[str, ...]:
    if not enabled:
        raise InvalidRequest("Missing required param: enabled_events.", param="enabled_events")
    for i, event_type in enumerate(enabled):
        if not is_known(event_type):
            raise InvalidRequest(
                f"Invalid enabled_events[{i}]: '{event_type}' is not an event type (use '*' for all).",
                param=f"enabled_events[{i}]",
                code="parameter_invalid_string",
            )
    return tuple(dict.fromkeys(enabled))


def create(tx: Tx, actor: Actor, command: CreateEndpoint) -> NewEndpoint:
    require_platform(actor, _WHAT)
    url = _check_url(command.url)
    enabled = _check_events(command.enabled_events)
    if command.api_version is not None and not _API_VERSION.match(command.api_version):
        raise InvalidRequest(f"Invalid API version: {command.api_version}", param="api_version")
    if stored.count(tx, actor.account_id, actor.livemode) >= MAX_ENDPOINTS:
        mode = "live" if actor.livemode else "test"
        raise InvalidRequest(f"You have reached the maximum of {MAX_ENDPOINTS} {mode} webhook endpoints.")
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        url=url,
        enabled_events=enabled,
        status="enabled",
        livemode=actor.livemode,
        created=actor.now,
        api_version=command.api_version,
        description=command.description,
        metadata=merge_metadata({}, command.metadata),
        connect=command.connect,
    )
    secret = new_secret("whsec")
    stored.create(tx, endpoint, account_id=actor.account_id, secret=secret)
    return NewEndpoint(endpoint, secret)


def retrieve(tx: Tx, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    """The acting platform's endpoint, in its mode, or 404."""
    require_platform(actor, _WHAT)
    check_id(endpoint_id, ("we",), "id", "webhook endpoint")
    found = stored.get(tx, endpoint_id)
    if found is None or found.account_id != actor.account_id or found.endpoint.livemode != actor.livemode:
        raise ResourceMissing.for_id("webhook_endpoint", endpoint_id)
    return found.endpoint


def modify(tx: Tx, actor: Actor, command: UpdateEndpoint) -> WebhookEndpoint:
    endpoint = retrieve(tx, actor, command.id)
    if command.url is not None:
        endpoint = replace(endpoint, url=_check_url(command.url))
    if command.enabled_events is not None:
        endpoint = replace(endpoint, enabled_events=_check_events(command.enabled_events))
    if command.description is not None:
        endpoint = replace(endpoint, description=command.description)
    if command.disabled is not None:
        endpoint = replace(endpoint, status="disabled" if command.disabled else "enabled")
    endpoint = replace(endpoint, metadata=merge_metadata(endpoint.metadata, command.metadata))
    stored.save(tx, endpoint)
    return endpoint


def delete(tx: Tx, actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    """Delete the endpoint; its pending deliveries are given up. Returns what was deleted."""
    endpoint = retrieve(tx, actor, endpoint_id)
    stored.delete_endpoint(tx, endpoint_id)
    return endpoint


def list_endpoints(tx: Tx, actor: Actor, window: Window) -> Page[WebhookEndpoint]:
    require_platform(actor, _WHAT)
    return stored.page(tx, actor.account_id, actor.livemode, window)
