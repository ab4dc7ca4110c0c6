"""Every object every route returns matches Stripe's schema, expanded and nested ones included.

One scenario makes an object of every type Payoutkit renders (charges, destination payments and
their refunds, disputes, application fees and their refunds, transfers and reversals, top-ups,
payouts with and without fees, accounts, external accounts, events, webhook endpoints). Every
response of the run is checked as it arrives: each object in it, however deeply nested, against the
schema named by its `object`. Then every list and every object is read back as its owner and as the
platform, and every field that names another object is expanded, level after level, and checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from payoutkit.api.expand import EXPANDABLE, MAX_DEPTH
from tests.contract.helpers import advance
from tests.support.openapi import load_spec, schema_errors
from tests.support.server import RunningServer

# `object` → the schema it must match; objects of our own extensions (`payoutkit.*`) have none.
SCHEMAS = {
    name
    for name, schema in load_spec()["components"]["schemas"].items()
    if "x-resourceId" in schema and name not in {"external_account"}
}
SCHEMALESS = {"payoutkit.instant_payout_pricing", "payoutkit.test_clock", "list"}

LISTS = [
    "/v1/balance_transactions",
    "/v1/charges",
    "/v1/refunds",
    "/v1/disputes",
    "/v1/transfers",
    "/v1/topups",
    "/v1/payouts",
    "/v1/events",
]
PLATFORM_LISTS = ["/v1/accounts", "/v1/webhook_endpoints"]
RETRIEVE = {
    "balance_transaction": "/v1/balance_transactions/{id}",
    "charge": "/v1/charges/{id}",
    "refund": "/v1/refunds/{id}",
    "dispute": "/v1/disputes/{id}",
    "transfer": "/v1/transfers/{id}",
    "topup": "/v1/topups/{id}",
    "payout": "/v1/payouts/{id}",
    "event": "/v1/events/{id}",
    "webhook_endpoint": "/v1/webhook_endpoints/{id}",
    "account": "/v1/accounts/{id}",
}


def objects_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict with an `object` inside `value`, outermost first."""
    if isinstance(value, dict):
        if isinstance(value.get("object"), str):  # not an event's `data`, whose `object` is the object
            yield value
        for item in value.values():
            yield from objects_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects_in(item)


def check_all(body: Any, seen: set[str], problems: set[str]) -> None:
    """Check every object in `body`; note the types seen and each distinct way one breaks its schema."""
    for obj in objects_in(body):
        kind = obj["object"]
        if kind in SCHEMALESS or obj.get("deleted"):
            continue
        if kind not in SCHEMAS:
            problems.add(f"an object of type {kind!r} has no schema to check it against")
            continue
        seen.add(kind)
        problems.update(f"{kind} {obj['id'][:4]}…: {error}" for error in schema_errors(obj, kind))


def expandable_ids(obj: dict[str, Any], prefix: str = "") -> list[str]:
    """The paths of `obj`'s declared expandable fields that hold an id (or ids inside a hash)."""
    paths = []
    for field, nested in EXPANDABLE.get(obj.get("object", ""), {}).items():
        value = obj.get(field)
        if isinstance(value, str):
            paths.append(prefix + field)
        elif isinstance(value, dict) and nested and "object" not in value:
            for sub in EXPANDABLE[nested]:
                if isinstance(value.get(sub), str):
                    paths.append(f"{prefix}{field}.{sub}")
    return paths


def resolve(item: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The objects at `path` (dot-separated, through lists) inside `item`."""
    nodes: list[Any] = [item]
    for part in path.split(".") if path else []:
        found: list[Any] = []
        for node in nodes:
            value = node.get(part) if isinstance(node, dict) else None
            found.extend(value if isinstance(value, list) else [value])
        nodes = found
    return [node for node in nodes if isinstance(node, dict)]


@pytest.fixture
def checking_http(server: RunningServer) -> Iterator[tuple[httpx.Client, set[str], set[str]]]:
    """The platform's raw client, checking every 2xx JSON body it receives."""
    seen: set[str] = set()
    problems: set[str] = set()

    def hook(response: httpx.Response) -> None:
        response.read()
        if response.status_code < 300 and response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            check_all(response.json(), seen, problems)

    assert server.settings.secret_key
    with httpx.Client(
        base_url=server.url,
        auth=(server.settings.secret_key, ""),
        trust_env=False,
        timeout=30,
        event_hooks={"response": [hook]},
    ) as client:
        yield client, seen, problems


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def scenario(http: httpx.Client) -> str:
    """Make an object of every type; returns the connected account that most of them concern."""
    post = lambda path, account=None, **data: ok(  # noqa: E731
        http.post(path, data=data, headers={"Stripe-Account": account} if account else {})
    )
    post("/v1/webhook_endpoints", url="https://example.com/hooks", **{"enabled_events[]": "*"})
    post("/v1/charges", amount=50_000, currency="usd", source="tok_bypassPending")
    account = post(
        "/v1/accounts",
        type="custom",
        country="US",
        **{
            "settings[payouts][schedule][interval]": "manual",
            "tos_acceptance[date]": "1767261600",
            "tos_acceptance[ip]": "203.0.113.9",
            "business_profile[estimated_worker_count]": "12",
            "business_profile[name]": "Shop",
        },
    )["id"]
    post(f"/v1/accounts/{account}/external_accounts", external_account="btok_us_verified")
    post(f"/v1/accounts/{account}/external_accounts", external_account="tok_visa_debit")
    post(
        "/v1/payoutkit/instant_payout_pricing",
        **{"currencies[usd][percent]": "1.5", "currencies[usd][minimum]": "50"},
    )
    # A destination charge with an application fee, refunded in part with its transfer and fee.
    dest = post(
        "/v1/charges",
        amount=10_000,
        currency="usd",
        source="tok_bypassPending",
        application_fee_amount=500,
        **{"transfer_data[destination]": account},
    )
    post(
        "/v1/refunds", charge=dest["id"], amount=4000, reverse_transfer="true", refund_application_fee="true"
    )
    # A direct charge on the account with an application fee, and a plain refund.
    direct = post(
        "/v1/charges",
        account,
        amount=3000,
        currency="usd",
        source="tok_bypassPending",
        application_fee_amount=100,
    )
    post("/v1/refunds", account, charge=direct["id"], amount=1000)
    post("/v1/charges", amount=2000, currency="usd", source="tok_createDispute")
    post("/v1/charges", amount=1500, currency="usd", source="tok_visa")
    post("/v1/charges", amount=1500, currency="usd", source="btok_us_verified")  # ach_debit
    post("/v1/charges", amount=1500, currency="myr", source="tok_fpx")
    transfer = post("/v1/transfers", amount=3000, currency="usd", destination=account)
    post(f"/v1/transfers/{transfer['id']}/reversals", amount=1000)
    post("/v1/topups", amount=5000, currency="usd", source="btok_us_verified")
    post("/v1/payouts", account, amount=1000, currency="usd", method="instant")
    failing = post(
        f"/v1/accounts/{account}/external_accounts", external_account="tok_visa_debit_us_transferFail"
    )
    post("/v1/payouts", account, amount=700, currency="usd", method="instant", destination=failing["id"])
    standard = post("/v1/payouts", account, amount=500, currency="usd")
    post(f"/v1/payouts/{standard['id']}/cancel", account)
    advance(http, seconds=3 * 86_400)
    return account


def walk(http: httpx.Client, path: str, account: str | None, *, listing: bool) -> dict[str, Any]:
    """GET `path`, then again with every field that names an object expanded, level after level."""
    headers = {"Stripe-Account": account} if account else {}
    params: dict[str, Any] = {"limit": 100} if listing else {}
    prefix = "data." if listing else ""
    body = ok(http.get(path, params=params, headers=headers))
    expanded: list[str] = []
    level = [""]
    while level:
        items = body["data"] if listing else [body]
        new: list[str] = []
        for base in level:
            for item in items:
                for node in resolve(item, base):
                    for found in expandable_ids(node, f"{base}." if base else ""):
                        if found not in new and found not in expanded and found.count(".") < MAX_DEPTH:
                            new.append(found)
        if new:
            expanded += new
            body = ok(
                http.get(path, params={**params, "expand[]": [prefix + p for p in expanded]}, headers=headers)
            )
        level = new
    return body


def test_every_object_of_every_route_matches_its_schema(
    checking_http: tuple[httpx.Client, set[str], set[str]],
) -> None:
    http, seen, problems = checking_http
    account = scenario(http)
    for who in (None, account):
        ok(http.get("/v1/balance", headers={"Stripe-Account": who} if who else {}))
        ok(http.get("/v1/account", headers={"Stripe-Account": who} if who else {}))
        for path in LISTS + (PLATFORM_LISTS if who is None else []):
            page = walk(http, path, who, listing=True)
            for item in page["data"]:
                if item["object"] in RETRIEVE:
                    walk(http, RETRIEVE[item["object"]].format(id=item["id"]), who, listing=False)
        external = f"/v1/accounts/{account}/external_accounts"
        for ea in walk(http, external, who, listing=True)["data"]:
            walk(http, f"{external}/{ea['id']}", who, listing=False)
    every = {
        "account",
        "application_fee",
        "balance",
        "balance_transaction",
        "bank_account",
        "card",
        "charge",
        "dispute",
        "event",
        "fee_refund",
        "payout",
        "refund",
        "topup",
        "transfer",
        "transfer_reversal",
        "webhook_endpoint",
    }
    assert every <= seen, f"the scenario never returned {sorted(every - seen)}"
    assert not problems, "objects that break Stripe's schemas:\n" + "\n".join(sorted(problems))


def test_account_numbers_given_in_a_form_are_stored_as_numbers(http: httpx.Client) -> None:
    """The subset prunes `account` to its payout fields, so the schema cannot see these two: Stripe
    has `tos_acceptance.date` (a Unix time) and `business_profile.estimated_worker_count` as integers."""
    data = {
        "type": "custom",
        "tos_acceptance[date]": "1767261600",
        "tos_acceptance[ip]": "203.0.113.9",
        "business_profile[estimated_worker_count]": "12",
    }
    created = ok(http.post("/v1/accounts", data=data))
    for account in (created, ok(http.get(f"/v1/accounts/{created['id']}"))):
        assert account["tos_acceptance"]["date"] == 1767261600
        assert account["tos_acceptance"]["ip"] == "203.0.113.9"
        assert account["business_profile"]["estimated_worker_count"] == 12
    updated = ok(http.post(f"/v1/accounts/{created['id']}", data={"tos_acceptance[date]": "1767300000"}))
    assert updated["tos_acceptance"] == {"date": 1767300000, "ip": "203.0.113.9", "user_agent": None}
    refused = http.post(f"/v1/accounts/{created['id']}", data={"tos_acceptance[date]": "yesterday"})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "tos_acceptance[date]"
