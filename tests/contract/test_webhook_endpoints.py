"""Webhook endpoints through the official SDK: managing them, and which events each one is sent.

Delivery itself (signatures, retries, a real receiver) is in tests/test_webhooks.py; here the worker is
off, and an event's `pending_webhooks` shows how many endpoints it was queued for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
import stripe

from tests.contract.helpers import acting_as, as_dict, charge, error_of, new_account_id

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams

FIELDS = {
    "id",
    "object",
    "api_version",
    "application",
    "created",
    "description",
    "enabled_events",
    "livemode",
    "metadata",
    "status",
    "url",
}
URL = "https://example.com/hooks"


def endpoint(client: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    params.setdefault("url", URL)
    params.setdefault("enabled_events", ["*"])
    created = as_dict(client.v1.webhook_endpoints.create(cast("WebhookEndpointCreateParams", params)))
    assert set(created) == FIELDS | {"secret"}
    return created


def last_event(client: stripe.StripeClient, account: str | None = None) -> dict[str, Any]:
    page = as_dict(client.v1.events.list({"limit": 1}, acting_as(account) if account else None))
    found: dict[str, Any] = page["data"][0]
    return found


def test_create_shows_the_secret_once(stripe_client: stripe.StripeClient) -> None:
    created = endpoint(
        stripe_client,
        enabled_events=["charge.succeeded", "payout.paid"],
        description="ledger sync",
        metadata={"team": "finance"},
        api_version="2026-07-29.dahlia",
    )

    assert created["id"].startswith("we_")
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > len("whsec_") + 20
    assert created["object"] == "webhook_endpoint"
    assert created["enabled_events"] == ["charge.succeeded", "payout.paid"]
    assert (created["status"], created["url"], created["livemode"]) == ("enabled", URL, False)
    assert (created["description"], created["metadata"]) == ("ledger sync", {"team": "finance"})
    assert (created["api_version"], created["application"]) == ("2026-07-29.dahlia", None)

    got = as_dict(stripe_client.v1.webhook_endpoints.retrieve(created["id"]))
    assert set(got) == FIELDS  # no secret after creation
    assert got == {k: v for k, v in created.items() if k != "secret"}
    listed = as_dict(stripe_client.v1.webhook_endpoints.list())
    assert listed["url"] == "/v1/webhook_endpoints"
    assert listed["data"] == [got]


def test_update_disable_and_delete(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    created = endpoint(stripe_client)
    updated = as_dict(
        stripe_client.v1.webhook_endpoints.update(
            created["id"],
            {
                "url": "http://127.0.0.1:9/other",
                "enabled_events": ["topup.created", "topup.created", "topup.failed"],
                "disabled": True,
                "metadata": {"a": "1"},
            },
        )
    )
    assert updated["url"] == "http://127.0.0.1:9/other"
    assert updated["enabled_events"] == ["topup.created", "topup.failed"]
    assert (updated["status"], updated["metadata"]) == ("disabled", {"a": "1"})
    assert "secret" not in updated
    again = as_dict(stripe_client.v1.webhook_endpoints.update(created["id"], {"disabled": False}))
    assert again["status"] == "enabled"

    deleted = as_dict(stripe_client.v1.webhook_endpoints.delete(created["id"]))
    assert deleted == {"id": created["id"], "object": "webhook_endpoint", "deleted": True}
    assert error_of(http.get(f"/v1/webhook_endpoints/{created['id']}"), 404)["code"] == "resource_missing"
    assert as_dict(stripe_client.v1.webhook_endpoints.list())["data"] == []


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"enabled_events[]": "*"}, "url"),
        ({"url": URL}, "enabled_events"),
        ({"url": "ftp://example.com/x", "enabled_events[]": "*"}, "url"),
        ({"url": "not a url", "enabled_events[]": "*"}, "url"),
        ({"url": "http://[::1/hooks", "enabled_events[]": "*"}, "url"),
        ({"url": "http://example.com:99999/hooks", "enabled_events[]": "*"}, "url"),
        ({"url": URL, "enabled_events[0]": "*", "enabled_events[1]": "charge.nope"}, "enabled_events[1]"),
        ({"url": URL, "enabled_events[]": "*", "api_version": "yesterday"}, "api_version"),
        ({"url": URL, "enabled_events[]": "*", "connect": "maybe"}, "connect"),
        ({"url": URL, "enabled_events[]": "*", "disabled": "true"}, "disabled"),  # an update param only
    ],
)
def test_bad_input_names_the_param(http: httpx.Client, data: dict[str, str], param: str) -> None:
    error = error_of(http.post("/v1/webhook_endpoints", data=data), 400)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert http.get("/v1/webhook_endpoints").json()["data"] == []


def test_bad_updates_are_refused(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    created = endpoint(stripe_client)
    path = f"/v1/webhook_endpoints/{created['id']}"
    assert error_of(http.post(path, data={"url": "mailto:a@b.c"}), 400)["param"] == "url"
    assert error_of(http.post(path, data={"enabled_events[]": "nope"}), 400)["param"] == "enabled_events[0]"
    assert error_of(http.get("/v1/webhook_endpoints/we_" + "x" * 24), 404)["code"] == "resource_missing"
    assert error_of(http.get("/v1/webhook_endpoints/evt_123456789"), 400)["param"] == "id"


def test_only_the_platform_manages_endpoints(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = new_account_id(stripe_client)
    created = endpoint(stripe_client)
    acting = {"Stripe-Account": account}
    error_of(
        http.post("/v1/webhook_endpoints", data={"url": URL, "enabled_events[]": "*"}, headers=acting), 403
    )
    error_of(http.get("/v1/webhook_endpoints", headers=acting), 403)
    error_of(http.get(f"/v1/webhook_endpoints/{created['id']}", headers=acting), 403)
    error_of(http.delete(f"/v1/webhook_endpoints/{created['id']}", headers=acting), 403)


def test_at_most_16_endpoints_per_mode(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    for _ in range(16):
        endpoint(stripe_client)
    error = error_of(http.post("/v1/webhook_endpoints", data={"url": URL, "enabled_events[]": "*"}), 400)
    assert "16" in error["message"]


def test_events_are_queued_for_the_endpoints_that_take_them(stripe_client: stripe.StripeClient) -> None:
    endpoint(stripe_client, enabled_events=["charge.succeeded"])
    endpoint(stripe_client, enabled_events=["*"])
    endpoint(stripe_client, enabled_events=["topup.created"])
    disabled = endpoint(stripe_client, enabled_events=["*"])
    stripe_client.v1.webhook_endpoints.update(disabled["id"], {"disabled": True})
    endpoint(stripe_client, enabled_events=["*"], connect=True)  # connected accounts' events only

    charge(stripe_client, 1000)
    assert (last_event(stripe_client)["type"], last_event(stripe_client)["pending_webhooks"]) == (
        "charge.succeeded",
        2,  # the charge.succeeded endpoint and the first `*`
    )
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})
    assert last_event(stripe_client)["pending_webhooks"] == 1  # topup.succeeded: only `*`


def test_connect_endpoints_take_connected_accounts_events(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    endpoint(stripe_client, enabled_events=["topup.succeeded"], connect=True)
    endpoint(stripe_client, enabled_events=["topup.succeeded"], connect=True)
    endpoint(stripe_client, enabled_events=["topup.succeeded"])

    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"}, acting_as(account))
    theirs = last_event(stripe_client, account)
    assert (theirs["type"], theirs["account"], theirs["pending_webhooks"]) == ("topup.succeeded", account, 2)

    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})
    assert last_event(stripe_client)["pending_webhooks"] == 1


def test_a_deleted_endpoint_gets_no_more_events(stripe_client: stripe.StripeClient) -> None:
    created = endpoint(stripe_client)
    stripe_client.v1.webhook_endpoints.delete(created["id"])
    charge(stripe_client, 1000)
    assert last_event(stripe_client)["pending_webhooks"] == 0
