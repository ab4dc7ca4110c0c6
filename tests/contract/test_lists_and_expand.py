"""What every list and every `expand[]` share: bounds, cursors, ranges, and expansion depth."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.contract.helpers import advance, as_dict, charge, error_of, fund_platform, new_account_id

LISTS = [
    "/v1/balance_transactions",
    "/v1/balance/history",
    "/v1/accounts",
    "/v1/charges",
    "/v1/refunds",
    "/v1/disputes",
    "/v1/transfers",
    "/v1/topups",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "101", "-1"])
def test_limit_is_between_1_and_100(http: httpx.Client, path: str, limit: str) -> None:
    error = error_of(http.get(path, params={"limit": limit}), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "limit"


def test_limit_bounds_on_external_accounts(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = new_account_id(stripe_client)
    for limit in ("0", "101"):
        response = http.get(f"/v1/accounts/{account}/external_accounts", params={"limit": limit})
        assert error_of(response, 400)["param"] == "limit"


def test_limit_must_be_an_integer(http: httpx.Client) -> None:
    error = error_of(http.get("/v1/charges", params={"limit": "ten"}), 400)
    assert error["param"] == "limit"


def test_limit_1_and_100_are_accepted(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 1000)
    charge(stripe_client, 2000)
    one = as_dict(stripe_client.v1.charges.list({"limit": 1}))
    assert (len(one["data"]), one["has_more"]) == (1, True)
    hundred = as_dict(stripe_client.v1.charges.list({"limit": 100}))
    assert (len(hundred["data"]), hundred["has_more"]) == (2, False)
    assert hundred["url"] == "/v1/charges"


def test_default_limit_is_10(stripe_client: stripe.StripeClient) -> None:
    for _ in range(11):
        stripe_client.v1.topups.create({"amount": 100, "currency": "usd"})
    page = as_dict(stripe_client.v1.topups.list())
    assert (len(page["data"]), page["has_more"]) == (10, True)


def test_starting_after_and_ending_before_are_exclusive(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000)
    response = http.get("/v1/charges", params={"starting_after": ch["id"], "ending_before": ch["id"]})
    assert error_of(response, 400)["type"] == "invalid_request_error"


def test_an_unknown_cursor_is_refused(http: httpx.Client) -> None:
    response = http.get("/v1/charges", params={"starting_after": "ch_" + "3" * 24})
    assert response.status_code in (400, 404)
    assert error_of(response, response.status_code)["param"] == "starting_after"


def test_created_ranges_on_a_list(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    early = charge(stripe_client, 1000)
    noon = advance(http, seconds=7200)
    late = charge(stripe_client, 2000)

    def ids(**created: int) -> list[str]:
        page = as_dict(stripe_client.v1.charges.list({"created": created}))  # type: ignore[typeddict-item]
        return [c["id"] for c in page["data"]]

    assert ids(gte=noon) == [late["id"]]
    assert ids(gt=early["created"]) == [late["id"]]
    assert ids(lte=early["created"]) == [early["id"]]
    assert ids(lt=noon) == [early["id"]]
    assert ids(gte=early["created"], lte=noon) == [late["id"], early["id"]]


def test_expand_works_with_both_array_encodings(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000)
    for key in ("expand[]", "expand[0]"):
        got = http.get(f"/v1/charges/{ch['id']}", params={key: "balance_transaction"})
        assert got.status_code == 200, got.text
        assert got.json()["balance_transaction"]["id"] == ch["balance_transaction"]


def test_expand_on_a_list_uses_the_data_prefix(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 1000)
    page = as_dict(stripe_client.v1.charges.list({"expand": ["data.balance_transaction"]}))
    assert page["data"][0]["balance_transaction"]["object"] == "balance_transaction"


def test_expand_goes_four_levels_deep_and_no_deeper(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    fund_platform(stripe_client)
    account = new_account_id(stripe_client)
    ch = charge(stripe_client, 1000, transfer_data={"destination": account})
    deep = as_dict(
        stripe_client.v1.balance_transactions.retrieve(
            ch["balance_transaction"], {"expand": ["source.transfer.destination_payment.balance_transaction"]}
        )
    )
    payment_txn = deep["source"]["transfer"]["destination_payment"]["balance_transaction"]
    assert payment_txn["object"] == "balance_transaction"
    assert payment_txn["amount"] == 1000

    too_deep = http.get(
        f"/v1/balance_transactions/{ch['balance_transaction']}",
        params={"expand[]": "source.transfer.destination_payment.balance_transaction.source"},
    )
    assert error_of(too_deep, 400)["param"] == "expand"


def test_a_field_that_is_not_expandable_is_refused(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    ch = charge(stripe_client, 1000)
    for field in ("amount", "no_such_field"):
        response = http.get(f"/v1/charges/{ch['id']}", params={"expand[]": field})
        assert error_of(response, 400)["param"] == "expand"


def test_an_unknown_parameter_is_named(http: httpx.Client) -> None:
    error = error_of(http.get("/v1/charges", params={"colour": "blue"}), 400)
    assert error["param"] == "colour"
    assert error["code"] == "parameter_unknown"


def test_a_missing_required_parameter_is_named(http: httpx.Client) -> None:
    error = error_of(http.post("/v1/transfers", data={"amount": 100, "currency": "usd"}), 400)
    assert error["param"] == "destination"
    assert error["code"] == "parameter_missing"


def test_a_bad_key_is_an_authentication_error(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.AuthenticationError) as raised:
        stripe_client.v1.balance.retrieve(options={"api_key": "sk_test_" + "x" * 24})
    assert raised.value.http_status == 401


def test_an_idempotency_key_replays_the_first_charge(stripe_client: stripe.StripeClient) -> None:
    params = {"amount": 1000, "currency": "usd", "source": "tok_bypassPending"}
    first = stripe_client.v1.charges.create(params, {"idempotency_key": "order-1"})  # type: ignore[arg-type]
    again = stripe_client.v1.charges.create(params, {"idempotency_key": "order-1"})  # type: ignore[arg-type]

    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(as_dict(stripe_client.v1.charges.list())["data"]) == 1
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.charges.create({**params, "amount": 2000}, {"idempotency_key": "order-1"})  # type: ignore[arg-type]
