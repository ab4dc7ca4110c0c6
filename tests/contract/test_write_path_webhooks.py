"""The webhook deliveries a payout's and a charge's events queue, through the SDK.

A payout reads its platform's enabled endpoints with the account (store/payers.py) and a charge with
the account's payout delay (store/charges.py), not at the event: the event still goes to the endpoints
enabled at that request, and to each only if it takes the event (its types, `connect`), whatever was
read by the requests before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest
import stripe

from tests.contract.helpers import acting_as, as_dict, charge, fund_platform, new_account_id

if TYPE_CHECKING:
    from stripe.params import WebhookEndpointCreateParams

URL = "https://example.com/hooks"


def _endpoint(client: stripe.StripeClient, events: list[str], *, connect: bool = False) -> str:
    params: dict[str, Any] = {"url": URL, "enabled_events": events, "connect": connect}
    return str(as_dict(client.v1.webhook_endpoints.create(cast("WebhookEndpointCreateParams", params)))["id"])


def _last(client: stripe.StripeClient, event_type: str, account: str | None = None) -> dict[str, Any]:
    page = as_dict(client.v1.events.list({"limit": 5}, acting_as(account) if account else None))
    found = [e for e in page["data"] if e["type"] == event_type]
    assert found, [e["type"] for e in page["data"]]
    return found[0]


def _pending(client: stripe.StripeClient, event_type: str, account: str | None = None) -> int:
    return int(_last(client, event_type, account)["pending_webhooks"])


def _platform_payout(client: stripe.StripeClient) -> None:
    client.v1.payouts.create({"amount": 100, "currency": "usd"})


def test_a_payouts_event_goes_to_the_endpoints_enabled_at_its_request(
    stripe_client: stripe.StripeClient,
) -> None:
    client = stripe_client
    me = client.v1.accounts.retrieve_current().id
    client.v1.accounts.external_accounts.create(me, {"external_account": "btok_us_verified"})
    fund_platform(client, 100_000)
    _platform_payout(client)
    assert _pending(client, "payout.created") == 0  # no endpoint yet
    own = _endpoint(client, ["payout.created"])
    _endpoint(client, ["charge.succeeded"])  # takes other events
    _endpoint(client, ["*"], connect=True)  # takes connected accounts' events only
    _platform_payout(client)
    assert _pending(client, "payout.created") == 1
    _endpoint(client, ["payout.paid", "payout.created"])
    _platform_payout(client)
    assert _pending(client, "payout.created") == 2  # created since the last payout: counted
    client.v1.webhook_endpoints.update(own, {"disabled": True})
    _platform_payout(client)
    assert _pending(client, "payout.created") == 1

    # A connected account's payout goes to the platform's `connect` endpoints.
    account = new_account_id(client, settings={"payouts": {"schedule": {"interval": "manual"}}})
    client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
    client.v1.transfers.create({"amount": 3000, "currency": "usd", "destination": account})
    client.v1.payouts.create({"amount": 1000, "currency": "usd"}, acting_as(account))
    assert _pending(client, "payout.created", account) == 1
    _endpoint(client, ["payout.created"], connect=True)
    client.v1.payouts.create({"amount": 1000, "currency": "usd"}, acting_as(account))
    assert _pending(client, "payout.created", account) == 2


def test_a_charges_event_goes_to_the_endpoints_enabled_at_its_request(
    stripe_client: stripe.StripeClient,
) -> None:
    client = stripe_client
    charge(client, 1000, "tok_visa")
    assert _pending(client, "charge.succeeded") == 0
    first = _endpoint(client, ["charge.succeeded"])
    _endpoint(client, ["payout.created"])
    charge(client, 1000, "tok_visa")
    assert _pending(client, "charge.succeeded") == 1
    _endpoint(client, ["*"])
    charge(client, 1000, "tok_bypassPending")  # no delay read: available at once
    assert _pending(client, "charge.succeeded") == 2
    client.v1.webhook_endpoints.update(first, {"disabled": True})
    charge(client, 1000, "tok_visa")
    assert _pending(client, "charge.succeeded") == 1
    with pytest.raises(stripe.CardError):
        charge(client, 1000, "tok_chargeDeclined")
    assert _pending(client, "charge.failed") == 1
