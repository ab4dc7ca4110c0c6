"""Events through the official SDK: what each operation emits, about whom, and how the list is read.

Every event is checked for Stripe's envelope (the fields of the SDK's `Event`) and Stripe's `event`
schema, and its `data.object` against the schema of its type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest
import stripe

from tests.conftest import CLOCK_START
from tests.contract.helpers import (
    CARD_AVAILABLE_ON,
    DAY,
    acting_as,
    advance,
    as_dict,
    balance,
    charge,
    checked,
    error_of,
    fund_platform,
    new_account_id,
)
from tests.support.openapi import assert_matches_schema

if TYPE_CHECKING:
    from stripe.params import EventListParams

API_VERSION = "2026-07-29.dahlia"
ENVELOPE = {
    "id",
    "object",
    "api_version",
    "created",
    "data",
    "livemode",
    "pending_webhooks",
    "request",
    "type",
}
# `data.object["object"]` → the schema of the subset it must match.
SCHEMAS = {
    "topup": "topup",
    "transfer": "transfer",
    "account": "account",
    "bank_account": "bank_account",
    "card": "card",
    "balance": "balance",
    "payout": "payout",
    "charge": "charge",
    "refund": "refund",
    "dispute": "dispute",
    "transfer_reversal": "transfer_reversal",
}


def checked_event(obj: Any) -> dict[str, Any]:
    event = as_dict(obj)
    assert set(event) - {"account"} == ENVELOPE, sorted(event)
    assert event["id"].startswith("evt_")
    assert (event["object"], event["api_version"], event["livemode"]) == ("event", API_VERSION, False)
    assert isinstance(event["created"], int)
    assert isinstance(event["pending_webhooks"], int)
    assert event["pending_webhooks"] >= 0
    assert set(event["request"]) == {"id", "idempotency_key"}
    assert set(event["data"]) <= {"object", "previous_attributes"}
    assert_matches_schema(event, "event")
    schema = SCHEMAS.get(event["data"]["object"].get("object"))
    if schema is not None:
        assert_matches_schema(event["data"]["object"], schema)
    return event


def events(client: stripe.StripeClient, account: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """One page of events (newest first), as the platform or, given `account`, as that account."""
    listed = client.v1.events.list(cast("EventListParams", params), acting_as(account) if account else None)
    page = as_dict(listed)
    assert page["object"] == "list"
    assert page["url"] == "/v1/events"
    return [checked_event(e) for e in page["data"]]


def types_of(found: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in found]


def only(found: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    matching = [e for e in found if e["type"] == event_type]
    assert len(matching) == 1, types_of(found)
    return matching[0]


# -- what is emitted ---------------------------------------------------------------------------


def test_a_top_up_emits_created_then_succeeded_with_the_request(http: httpx.Client) -> None:
    response = http.post(
        "/v1/topups", data={"amount": 5000, "currency": "usd"}, headers={"Idempotency-Key": "float-1"}
    )
    assert response.status_code == 200, response.text
    topup = response.json()

    listed = [checked_event(e) for e in http.get("/v1/events").json()["data"]]

    assert types_of(listed) == ["topup.succeeded", "topup.created"]  # newest first
    for event in listed:
        assert "account" not in event  # the platform's own object
        assert event["data"]["object"] == topup
        assert event["created"] == CLOCK_START
        assert event["request"] == {"id": response.headers["Request-Id"], "idempotency_key": "float-1"}
        assert event["pending_webhooks"] == 0  # no endpoints


def test_a_failed_top_up_emits_topup_failed(stripe_client: stripe.StripeClient) -> None:
    stripe_client.v1.topups.create(
        {"amount": 5000, "currency": "usd", "source": "btok_us_verified_accountClosed"}
    )
    found = events(stripe_client)
    assert types_of(found) == ["topup.failed", "topup.created"]
    assert found[0]["data"]["object"]["failure_code"] == "account_closed"


def test_charges_emit_succeeded_failed_updated_and_refunded(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 2000)
    with pytest.raises(stripe.CardError):
        charge(stripe_client, 2000, "tok_chargeDeclined")
    stripe_client.v1.charges.update(ch["id"], {"metadata": {"order": "42"}, "description": "two widgets"})
    stripe_client.v1.refunds.create({"charge": ch["id"], "amount": 500})

    found = events(stripe_client)

    assert types_of(found) == [
        "charge.refunded",
        "refund.created",
        "charge.updated",
        "charge.failed",
        "charge.succeeded",
    ]
    assert found[4]["data"]["object"]["id"] == ch["id"]
    assert found[4]["data"]["object"]["status"] == "succeeded"
    failed = found[3]["data"]["object"]
    assert (failed["status"], failed["failure_code"]) == ("failed", "card_declined")
    updated = found[2]
    assert updated["data"]["object"]["metadata"] == {"order": "42"}
    assert updated["data"]["previous_attributes"] == {"description": None, "metadata": {"order": None}}
    refund = found[1]["data"]["object"]
    assert (refund["object"], refund["amount"], refund["charge"]) == ("refund", 500, ch["id"])
    refunded = found[0]
    assert refunded["data"]["object"]["amount_refunded"] == 500
    assert refunded["data"]["previous_attributes"]["amount_refunded"] == 0
    assert "previous_attributes" not in found[4]["data"]


def test_a_dispute_emits_charge_dispute_created(stripe_client: stripe.StripeClient) -> None:
    ch = charge(stripe_client, 3000, "tok_createDispute")
    found = events(stripe_client)
    assert types_of(found) == ["charge.dispute.created", "charge.succeeded"]
    dispute = found[0]["data"]["object"]
    assert (dispute["object"], dispute["charge"], dispute["amount"]) == ("dispute", ch["id"], 3000)


def test_transfers_emit_created_updated_and_reversed(stripe_client: stripe.StripeClient) -> None:
    fund_platform(stripe_client)
    account = new_account_id(stripe_client)
    tr = checked(
        stripe_client.v1.transfers.create({"amount": 1000, "currency": "usd", "destination": account}),
        "transfer",
    )
    stripe_client.v1.transfers.update(tr["id"], {"description": "week 1"})
    stripe_client.v1.transfers.reversals.create(tr["id"], {"amount": 400})

    found = events(stripe_client, types=["transfer.created", "transfer.updated", "transfer.reversed"])

    assert types_of(found) == ["transfer.reversed", "transfer.updated", "transfer.created"]
    assert all("account" not in e for e in found)  # the platform's transfer
    assert found[2]["data"]["object"] == tr
    assert found[1]["data"]["previous_attributes"] == {"description": None}
    reversed_ = found[0]["data"]
    assert reversed_["object"]["amount_reversed"] == 400
    assert reversed_["previous_attributes"]["amount_reversed"] == 0
    # None of this is the connected account's own event.
    assert events(stripe_client, account, type="transfer.*") == []


def test_a_destination_charge_emits_its_transfer(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    ch = charge(stripe_client, 5000, transfer_data={"destination": account})
    found = events(stripe_client)
    assert types_of(found) == ["transfer.created", "charge.succeeded"]
    assert found[0]["data"]["object"]["id"] == ch["transfer"]
    assert found[0]["data"]["object"]["destination"] == account


def test_account_updated_is_the_connected_accounts_event(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    stripe_client.v1.accounts.update(
        account,
        {"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}}},
    )

    found = events(stripe_client, account)

    event = only(found, "account.updated")
    assert event["account"] == account
    assert event["data"]["object"]["id"] == account
    assert event["data"]["object"]["settings"]["payouts"]["schedule"]["interval"] == "weekly"
    previous = event["data"]["previous_attributes"]["settings"]["payouts"]["schedule"]
    assert previous["interval"] == "daily"
    assert previous["weekly_anchor"] is None
    assert "account.updated" not in types_of(events(stripe_client))  # not the platform's own


def test_an_update_that_changes_nothing_emits_nothing(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client, email="a@example.com")
    stripe_client.v1.accounts.update(account, {"email": "a@example.com"})
    assert "account.updated" not in types_of(events(stripe_client, account))


def test_external_account_events(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    first = as_dict(
        stripe_client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us"})
    )
    second = as_dict(
        stripe_client.v1.accounts.external_accounts.create(
            account, {"external_account": "tok_visa_debit", "metadata": {"k": "v"}}
        )
    )
    stripe_client.v1.accounts.external_accounts.update(account, first["id"], {"metadata": {"note": "main"}})
    stripe_client.v1.accounts.external_accounts.delete(account, second["id"])

    found = events(stripe_client, account, type="account.external_account.*")

    assert types_of(found) == [
        "account.external_account.deleted",
        "account.external_account.updated",
        "account.external_account.created",
        "account.external_account.created",
    ]
    assert all(e["account"] == account for e in found)
    assert found[3]["data"]["object"] == first
    assert found[2]["data"]["object"] == second
    assert found[1]["data"]["object"]["metadata"] == {"note": "main"}
    assert found[1]["data"]["previous_attributes"] == {"metadata": {"note": None}}
    assert found[0]["data"]["object"]["id"] == second["id"]


def test_balance_available_once_per_account_when_funds_settle(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = new_account_id(stripe_client)
    charge(stripe_client, 1000, account=account)
    charge(stripe_client, 3000, account=account)
    charge(stripe_client, 2000)  # the platform's own
    assert events(stripe_client, account, type="balance.available") == []

    advance(http, to=CARD_AVAILABLE_ON)

    connected = events(stripe_client, account, type="balance.available")
    assert len(connected) == 1  # one per account per settlement, not one per charge
    event = connected[0]
    assert event["account"] == account
    assert event["created"] == CARD_AVAILABLE_ON
    assert event["request"] == {"id": None, "idempotency_key": None}
    now = balance(stripe_client, account)
    assert event["data"]["object"]["available"] == now["available"]
    assert event["data"]["object"]["pending"] == now["pending"]
    assert event["data"]["object"]["available"][0]["amount"] > 0

    platform = events(stripe_client, type="balance.available")
    assert len(platform) == 1
    assert "account" not in platform[0]
    assert platform[0]["data"]["object"]["available"] == balance(stripe_client)["available"]
    assert "connect_reserved" in platform[0]["data"]["object"]


def test_nothing_settling_emits_no_balance_available(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    charge(stripe_client, 2000)
    advance(http, seconds=DAY)  # Friday: nothing is due before Monday
    assert events(stripe_client, type="balance.available") == []


# -- reading the list --------------------------------------------------------------------------


def test_type_types_and_wildcards_filter(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    charge(stripe_client, 2000)
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})

    assert types_of(events(stripe_client, type="charge.succeeded")) == ["charge.succeeded"]
    assert types_of(events(stripe_client, type="topup.*")) == ["topup.succeeded", "topup.created"]
    assert types_of(events(stripe_client, type="*.created")) == ["topup.created"]
    assert types_of(events(stripe_client, types=["charge.succeeded", "topup.created"])) == [
        "topup.created",
        "charge.succeeded",
    ]
    assert events(stripe_client, type="charge_succeeded") == []  # `_` is not a LIKE wildcard here
    error = error_of(http.get("/v1/events", params={"type": "charge.succeeded", "types[]": "x"}), 400)
    assert error["param"] == "types"
    too_many = {f"types[{i}]": f"t{i}" for i in range(21)}
    assert error_of(http.get("/v1/events", params=too_many), 400)["param"] == "types"


def test_created_range_filter(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd", "description": "first"})
    later = advance(http, seconds=3600)
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd", "description": "second"})

    def descriptions(**params: Any) -> list[str]:
        found = events(stripe_client, type="topup.created", **params)
        return [e["data"]["object"]["description"] for e in found]

    assert descriptions() == ["second", "first"]
    assert descriptions(created={"gte": later}) == ["second"]
    assert descriptions(created={"lt": later}) == ["first"]
    assert descriptions(created={"gt": CLOCK_START, "lte": later}) == ["second"]
    assert descriptions(created=CLOCK_START) == ["first"]


def test_pagination_walks_every_event_once(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    for _ in range(3):
        stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})
    everything = [e["id"] for e in events(stripe_client, limit=100)]
    assert len(everything) == 6

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["starting_after"] = cursor
        page = as_dict(stripe_client.v1.events.list(cast("EventListParams", params)))
        seen += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = seen[-1]
    assert seen == everything

    before = as_dict(stripe_client.v1.events.list({"ending_before": everything[3], "limit": 2}))
    assert [e["id"] for e in before["data"]] == everything[1:3]
    assert before["has_more"] is True
    assert error_of(http.get("/v1/events", params={"limit": "0"}), 400)["param"] == "limit"
    missing = http.get("/v1/events", params={"starting_after": "evt_" + "x" * 24})
    assert error_of(missing, 404)["param"] == "starting_after"


def test_stripe_account_scopes_events(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = new_account_id(stripe_client)
    other = new_account_id(stripe_client)
    stripe_client.v1.topups.create({"amount": 700, "currency": "usd"}, acting_as(account))
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})

    theirs = events(stripe_client, account)
    ours = events(stripe_client)

    assert types_of(theirs) == ["topup.succeeded", "topup.created"]
    assert all(e["account"] == account and e["data"]["object"]["amount"] == 700 for e in theirs)
    assert types_of(ours) == ["topup.succeeded", "topup.created"]
    assert all("account" not in e and e["data"]["object"]["amount"] == 100 for e in ours)
    assert events(stripe_client, other) == []

    theirs_id, ours_id = theirs[0]["id"], ours[0]["id"]
    got = checked_event(stripe_client.v1.events.retrieve(theirs_id, options=acting_as(account)))
    assert got == theirs[0]
    assert checked_event(stripe_client.v1.events.retrieve(ours_id)) == ours[0]
    # Each is invisible from the other's side, and from another account.
    assert error_of(http.get(f"/v1/events/{theirs_id}"), 404)["code"] == "resource_missing"
    assert error_of(http.get(f"/v1/events/{ours_id}", headers={"Stripe-Account": account}), 404)
    assert error_of(http.get(f"/v1/events/{theirs_id}", headers={"Stripe-Account": other}), 404)
    assert error_of(http.get("/v1/events/nope"), 400)["param"] == "id"


def test_live_and_test_events_are_apart(stripe_client: stripe.StripeClient, server: Any) -> None:
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})
    with httpx.Client(
        base_url=server.url, auth=(server.settings.live_secret_key, ""), trust_env=False
    ) as live:
        assert live.get("/v1/events").json()["data"] == []


def test_events_older_than_30_days_are_gone(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd", "description": "old"})
    old = events(stripe_client, type="topup.created")[0]["id"]

    advance(http, seconds=29 * DAY)
    assert [e["id"] for e in events(stripe_client, type="topup.created")] == [old]
    advance(http, seconds=2 * DAY)
    stripe_client.v1.topups.create({"amount": 100, "currency": "usd", "description": "new"})

    listed = events(stripe_client, type="topup.created")
    assert [e["data"]["object"]["description"] for e in listed] == ["new"]
    assert error_of(http.get(f"/v1/events/{old}"), 404)["code"] == "resource_missing"


# -- payouts ----------------------------------------------------------------------------------------


def _payout_account(client: stripe.StripeClient, bank: str, interval: str = "manual") -> str:
    client.v1.charges.create({"amount": 20_000, "currency": "usd", "source": "tok_bypassPending"})
    account = new_account_id(client, settings={"payouts": {"schedule": {"interval": interval}}})
    client.v1.accounts.external_accounts.create(account, {"external_account": bank})
    client.v1.transfers.create({"amount": 3000, "currency": "usd", "destination": account})
    return account


def test_a_payout_emits_each_step_of_its_life_as_the_accounts_events(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = _payout_account(stripe_client, "btok_us_verified")
    po = as_dict(stripe_client.v1.payouts.create({"amount": 1000, "currency": "usd"}, acting_as(account)))
    advance(http, to=po["arrival_date"])
    found = [
        e for e in reversed(events(stripe_client, account, limit=100)) if e["type"].startswith("payout.")
    ]
    assert types_of(found) == ["payout.created", "payout.updated", "payout.updated", "payout.paid"]
    assert {e["account"] for e in found} == {account}
    assert [e["data"]["object"]["status"] for e in found] == ["pending", "in_transit", "paid", "paid"]
    assert [e["data"].get("previous_attributes") for e in found[1:3]] == [
        {"status": "pending"},
        {"status": "in_transit"},
    ]
    assert found[0]["request"]["id"] is not None  # created by a request; the rest by the worker
    assert found[-1]["request"]["id"] is None
    assert found[1]["created"] == po["created"] + 3600  # stamped when it happened
    # The platform's own event list does not carry the connected account's payout events.
    assert not [e for e in events(stripe_client, limit=100) if e["type"].startswith("payout.")]


def test_a_failed_payout_emits_payout_failed_and_the_bank_account_update(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = _payout_account(stripe_client, "btok_us_verified_noAccount")
    po = as_dict(stripe_client.v1.payouts.create({"amount": 1000, "currency": "usd"}, acting_as(account)))
    advance(http, to=po["arrival_date"])
    found = events(stripe_client, account, limit=100)
    failed = only(found, "payout.failed")
    assert failed["data"]["object"]["failure_code"] == "no_account"
    updated = only(found, "account.external_account.updated")
    assert updated["data"]["object"]["status"] == "errored"
    assert updated["data"]["previous_attributes"] == {"status": "new"}


def test_cancel_and_automatic_payouts_emit_their_events(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = _payout_account(stripe_client, "btok_us_verified")
    po = as_dict(stripe_client.v1.payouts.create({"amount": 500, "currency": "usd"}, acting_as(account)))
    stripe_client.v1.payouts.cancel(po["id"], options=acting_as(account))
    assert (
        only(events(stripe_client, account, limit=100), "payout.canceled")["data"]["object"]["id"] == po["id"]
    )

    daily = _payout_account(stripe_client, "btok_us_verified", interval="daily")
    advance(http, to=CLOCK_START + 5 * 86400)
    found = events(stripe_client, daily, limit=100)
    created = only(found, "payout.created")["data"]["object"]
    assert created["automatic"] is True
    done = only(found, "payout.reconciliation_completed")["data"]["object"]
    assert (done["id"], done["reconciliation_status"]) == (created["id"], "completed")
