"""The wire layer over real HTTP: authentication, the error envelope, idempotency and modes.

Every test runs against a real server on loopback, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import threading
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LIVE_SECRET_KEY, PUBLISHABLE_KEY, SECRET_KEY
from tests.support.server import RunningServer


def _error(
    response: httpx.Response, status: int, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["request-id"].startswith("req_")
    error = response.json()["error"]
    assert error["type"]
    assert error["message"]
    if param is not None:
        assert error.get("param") == param, error
    if code is not None:
        assert error.get("code") == code, error
    return error


def _count(http: httpx.Client, path: str, **params: Any) -> int:
    return len(http.get(path, params={"limit": 100, **params}).json()["data"])


# -- authentication --------------------------------------------------------------------------


def test_missing_key_is_401_with_envelope_and_request_id(server: RunningServer) -> None:
    response = httpx.get(server.url + "/v1/balance", trust_env=False)
    _error(response, 401)


def test_unknown_key_is_401_and_never_echoed_whole(server: RunningServer) -> None:
    key = "sk_test_" + "x" * 24 + "SECRETTAIL"
    response = httpx.get(
        server.url + "/v1/balance", headers={"Authorization": f"Bearer {key}"}, trust_env=False
    )
    error = _error(response, 401)
    assert key not in error["message"]


def test_bearer_and_basic_auth_both_work(server: RunningServer) -> None:
    basic = base64.b64encode(f"{SECRET_KEY}:".encode()).decode()
    for header in (f"Bearer {SECRET_KEY}", f"Basic {basic}"):
        response = httpx.get(server.url + "/v1/balance", headers={"Authorization": header}, trust_env=False)
        assert response.status_code == 200
        assert response.json()["object"] == "balance"


def test_publishable_key_cannot_call_the_api(server: RunningServer) -> None:
    response = httpx.get(
        server.url + "/v1/balance", headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}"}, trust_env=False
    )
    _error(response, 403)


def test_stripe_version_header_is_accepted(http: httpx.Client) -> None:
    response = http.get("/v1/balance", headers={"Stripe-Version": "2026-07-29.dahlia"})
    assert response.status_code == 200


def test_stripe_account_acts_as_a_connected_account_and_nothing_else(http: httpx.Client) -> None:
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    own = http.get("/v1/account", headers={"Stripe-Account": account}).json()
    assert own["id"] == account
    _error(
        http.get("/v1/balance", headers={"Stripe-Account": "acct_doesnotexist1234"}),
        403,
        code="account_invalid",
    )
    # A connected account cannot list the platform's accounts.
    _error(http.get("/v1/accounts", headers={"Stripe-Account": account}), 403)


def test_live_and_test_modes_are_separate_data_spaces(server: RunningServer, http: httpx.Client) -> None:
    http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_bypassPending"})
    with httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False) as live:
        balance = live.get("/v1/balance").json()
        assert balance["livemode"] is True
        assert balance["available"][0]["amount"] == 0
        assert live.get("/v1/charges").json()["data"] == []
        live_account = live.post("/v1/accounts", data={"type": "custom"}).json()
        # The test key cannot see a live connected account.
        _error(http.get(f"/v1/accounts/{live_account['id']}"), 404, code="resource_missing")
        # The simulated clock is a test-mode helper.
        _error(live.post("/v1/test_helpers/clock/advance", data={"seconds": 60}), 403)
    assert http.get("/v1/balance").json()["available"][0]["amount"] == 941


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"amount": "0", "currency": "usd", "source": "tok_visa"}, "amount", None),
        ({"amount": "-100", "currency": "usd", "source": "tok_visa"}, "amount", None),
        ({"amount": "100000000", "currency": "usd", "source": "tok_visa"}, "amount", "amount_too_large"),
        ({"amount": "12.5", "currency": "usd", "source": "tok_visa"}, "amount", "parameter_invalid_integer"),
        ({"amount": "1000", "currency": "xyz", "source": "tok_visa"}, "currency", None),
        (
            {"amount": "1000", "currency": "usd", "source": "tok_visa", "colour": "red"},
            "colour",
            "parameter_unknown",
        ),
        ({"currency": "usd", "source": "tok_visa"}, "amount", "parameter_missing"),
        ({"amount": "1000", "currency": "usd", "source": "tok_visa", "metadata": "x"}, "metadata", None),
        (
            {"amount": "1000", "currency": "usd", "transfer_data[destination]": "nope"},
            "transfer_data[destination]",
            None,
        ),
    ],
)
def test_bad_charge_input_is_400_naming_the_param_and_changes_nothing(
    http: httpx.Client, data: dict[str, str], param: str, code: str | None
) -> None:
    _error(http.post("/v1/charges", data=data), 400, param=param, code=code)
    assert _count(http, "/v1/charges") == 0
    assert _count(http, "/v1/balance_transactions") == 0


def test_unknown_object_is_404_resource_missing(http: httpx.Client) -> None:
    _error(http.get("/v1/charges/ch_000000000000000000000000"), 404, code="resource_missing")
    _error(http.get("/v1/balance_transactions/txn_000000000000000000000000"), 404, code="resource_missing")


def test_malformed_id_is_400(http: httpx.Client) -> None:
    _error(http.get("/v1/charges/not-an-id"), 400, param="charge")


def test_unknown_route_and_json_bodies_get_the_envelope(http: httpx.Client) -> None:
    _error(http.get("/v1/nothing_here"), 404)
    _error(
        http.post("/v1/charges", content=b'{"amount": 1}', headers={"Content-Type": "application/json"}), 400
    )


form_values = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.sampled_from(["", "true", "false", "usd", "tok_visa", "acct_", "1e3", "NaN", "[]"]),
)
form_keys = st.one_of(
    st.sampled_from(
        [
            "amount",
            "currency",
            "source",
            "metadata[k]",
            "expand[]",
            "expand[0]",
            "transfer_data[destination]",
            "application_fee_amount",
            "limit",
            "starting_after",
            "created[gte]",
            "a[b][c]",
            "[",
            "a[]]",
            "type",
            "controller[losses][payments]",
            "settings[payouts][schedule][delay_days]",
        ]
    ),
    st.text(min_size=1, max_size=10),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        [
            "/v1/charges",
            "/v1/accounts",
            "/v1/transfers",
            "/v1/topups",
            "/v1/refunds",
            "/v1/balance_transactions",
        ]
    ),
    body=st.lists(st.tuples(form_keys, form_values), max_size=6),
)
def test_no_input_produces_a_server_error(http: httpx.Client, path: str, body: list[tuple[str, str]]) -> None:
    encoded = urlencode(body)
    if path == "/v1/balance_transactions":
        response = http.get(f"{path}?{encoded}")
    else:
        response = http.post(
            path, content=encoded, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert response.status_code < 500, response.text
    assert response.headers["request-id"]
    payload = response.json()
    assert "error" in payload or "object" in payload


# -- idempotency -----------------------------------------------------------------------------


CHARGE = {"amount": "2500", "currency": "usd", "source": "tok_visa"}


def test_idempotent_replay_returns_the_first_response_and_one_effect(http: httpx.Client) -> None:
    first = http.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "order-1"})
    second = http.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert _count(http, "/v1/charges") == 1


def test_same_key_with_other_parameters_is_an_idempotency_error(http: httpx.Client) -> None:
    http.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "order-2"})
    error = _error(
        http.post("/v1/charges", data={**CHARGE, "amount": "2600"}, headers={"Idempotency-Key": "order-2"}),
        400,
    )
    assert error["type"] == "idempotency_error"
    assert _count(http, "/v1/charges") == 1


def test_an_operation_error_is_stored_and_replayed_but_validation_errors_are_not(http: httpx.Client) -> None:
    declined = {"amount": "2500", "currency": "usd", "source": "tok_chargeDeclined"}
    first = http.post("/v1/charges", data=declined, headers={"Idempotency-Key": "order-3"})
    again = http.post("/v1/charges", data=declined, headers={"Idempotency-Key": "order-3"})
    assert first.status_code == again.status_code == 402
    assert first.json() == again.json()
    # A request that fails validation stores nothing: the key stays free for the corrected request.
    _error(
        http.post("/v1/charges", data={**CHARGE, "amount": "x"}, headers={"Idempotency-Key": "order-4"}), 400
    )
    assert http.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "order-4"}).status_code == 200


def test_concurrent_requests_with_one_key_cause_exactly_one_effect(server: RunningServer) -> None:
    results: list[httpx.Response] = []
    barrier = threading.Barrier(12)

    def attempt() -> None:
        with httpx.Client(base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False, timeout=30) as client:
            barrier.wait()
            results.append(client.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "race-1"}))

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.status_code == 200]
    assert ok, [r.text for r in results]
    assert all(r.status_code in (200, 409) for r in results), [r.text for r in results]
    assert len({r.json()["id"] for r in ok}) == 1
    with httpx.Client(base_url=server.url, auth=(SECRET_KEY, ""), trust_env=False) as client:
        assert _count(client, "/v1/charges") == 1
        balance = client.get("/v1/balance").json()
    assert balance["pending"][0]["amount"] == 2500 - 103  # one charge, fee 2.9% + 30


def test_keys_are_scoped_to_the_acting_account(http: httpx.Client) -> None:
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    http.post("/v1/charges", data=CHARGE, headers={"Idempotency-Key": "shared"})
    other = http.post(
        "/v1/charges", data=CHARGE, headers={"Idempotency-Key": "shared", "Stripe-Account": account}
    )
    assert other.status_code == 200
    assert other.headers.get("idempotent-replayed") is None
    assert (
        _count(
            http,
            "/v1/charges",
        )
        == 1
    )
    assert len(http.get("/v1/charges", headers={"Stripe-Account": account}).json()["data"]) == 1
