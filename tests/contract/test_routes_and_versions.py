"""What every response shares whatever the route: operations that are not served answer 404
"Unrecognized request URL", and the API version is read from `Stripe-Version` and answered."""

from __future__ import annotations

import re

import httpx
import pytest
import stripe
from starlette.routing import Route

from payoutkit.api.routes import routes
from payoutkit.services.events import API_VERSION
from tests.contract.helpers import error_of

# Every served path whose last segment is an id: `/v1/charges/{charge}` → `/v1/charges`.
COLLECTIONS = sorted(
    {
        route.path.rsplit("/", 1)[0]
        for route in routes
        if isinstance(route, Route)
        and re.search(r"/\{\w+\}$", route.path)
        and "{collection}" not in route.path
    }
)


def test_the_collections_are_found() -> None:
    assert {"/v1/charges", "/v1/payouts", "/v1/balance_transactions", "/v1/events"} <= set(COLLECTIONS)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_is_not_served_and_is_not_an_id(http: httpx.Client, method: str) -> None:
    for collection in [*COLLECTIONS, "/v1/customers"]:
        path = collection.replace("{account}", "acct_1234567890abcdef") + "/search"
        response = http.request(method, path, params={"query": "amount>100"})
        error = error_of(response, 404)
        assert error["type"] == "invalid_request_error"
        assert error["message"] == f"Unrecognized request URL ({method}: {path}).", error


def test_the_sdks_charge_search_gets_a_404(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.charges.search({"query": "amount>100"})
    assert raised.value.http_status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/balance"),
        ("GET", "/v1/charges"),
        ("POST", "/v1/charges"),
        ("GET", "/v1/nowhere"),
        ("GET", "/v1/charges/search"),
        ("GET", "/v1/charges/ch_doesnotexist000000000000"),
    ],
)
def test_every_response_names_the_api_version(http: httpx.Client, method: str, path: str) -> None:
    response = http.request(method, path)
    assert response.headers["Stripe-Version"] == API_VERSION
    pinned = http.request(method, path, headers={"Stripe-Version": "2024-04-10"})
    assert pinned.headers["Stripe-Version"] == "2024-04-10"


def test_the_sdk_reads_its_own_version_back(stripe_client: stripe.StripeClient) -> None:
    got = stripe_client.v1.balance.retrieve()
    assert got.last_response is not None
    assert got.last_response.headers["Stripe-Version"] == stripe.api_version


@pytest.mark.parametrize(
    "version",
    ["banana", "2024-4-10", "2024-02-30", "2024-04-10.", "2024-04-10.Acacia", "20240410", "2024-04-10;x"],
)
@pytest.mark.parametrize("path", ["/v1/balance", "/v1/nowhere"])
def test_an_invalid_version_is_refused(http: httpx.Client, version: str, path: str) -> None:
    response = http.get(path, headers={"Stripe-Version": version})
    error = error_of(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["message"] == f"Invalid Stripe API version: {version}"
    assert "Stripe-Version" not in response.headers


def test_an_invalid_version_changes_nothing(http: httpx.Client) -> None:
    response = http.post(
        "/v1/topups",
        data={"amount": 500, "currency": "usd", "source": "btok_us_verified"},
        headers={"Stripe-Version": "banana"},
    )
    error_of(response, 400)
    assert http.get("/v1/topups").json()["data"] == []
