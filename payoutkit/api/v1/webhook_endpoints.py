"""`/v1/webhook_endpoints`: the parameters, the handlers, and the endpoint rendered as Stripe's JSON."""

from __future__ import annotations

from typing import Any

from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Empty, Metadata, Params
from payoutkit.records.events import WebhookEndpoint
from payoutkit.services import webhook_endpoints as endpoints


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


def render(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return endpoint.doc()


def create(call: Call, params: EndpointCreate) -> dict[str, Any]:
    command = endpoints.CreateEndpoint(
        url=params.url,
        enabled_events=params.enabled_events,
        api_version=params.api_version,
        connect=bool(params.connect),
        description=params.description,
        metadata=params.metadata,
    )
    made = endpoints.create(call.conn, call.actor, command)
    # Stripe shows the secret in the create response only.
    return {**render(made.endpoint), "secret": made.secret}


def retrieve(call: Call, params: Empty, id: str) -> dict[str, Any]:
    return render(endpoints.retrieve(call.conn, call.actor, id))


def modify(call: Call, params: EndpointUpdate, id: str) -> dict[str, Any]:
    command = endpoints.UpdateEndpoint(
        id=id,
        url=params.url,
        enabled_events=params.enabled_events,
        description=params.description,
        disabled=params.disabled,
        metadata=params.metadata,
    )
    return render(endpoints.modify(call.conn, call.actor, command))


def delete(call: Call, params: Empty, id: str) -> dict[str, Any]:
    deleted = endpoints.delete(call.conn, call.actor, id)
    return {"id": deleted.id, "object": "webhook_endpoint", "deleted": True}


def list_endpoints(call: Call, params: ListParams) -> dict[str, Any]:
    found = endpoints.list_endpoints(call.conn, call.actor, window_of(params))
    return render_page(found, "/v1/webhook_endpoints", render)
