"""Builders and readers shared by the contract tests.

Every object the official SDK hands back is turned into a plain dict (`as_dict`) and, where Stripe's
schema subset has it, validated against that schema (`checked`): the tests then read plain JSON.
"""

from __future__ import annotations

from typing import Any

import httpx
import stripe

from tests.conftest import CLOCK_START
from tests.support.openapi import assert_matches_response, assert_matches_schema

DAY = 86_400
# 2026-01-01 is a Thursday; card funds (2 business days) settle on Monday 2026-01-05 00:00 UTC.
MIDNIGHT_JAN_1 = CLOCK_START - 10 * 3600
CARD_AVAILABLE_ON = MIDNIGHT_JAN_1 + 4 * DAY
DISPUTE_FEE = 1500


def card_fee(amount: int) -> int:
    """The default card processing fee: 2.9 % (rounded half up) + 30."""
    return (amount * 290 + 5_000) // 10_000 + 30


def as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    assert isinstance(obj, dict), obj
    return obj


def checked(obj: Any, schema: str) -> dict[str, Any]:
    """`obj` as a dict, after asserting it matches Stripe's schema `schema`."""
    data = as_dict(obj)
    assert_matches_schema(data, schema)
    return data


def acting_as(account: str) -> stripe.RequestOptions:
    """SDK request options that act as a connected account (the `Stripe-Account` header)."""
    return {"stripe_account": account}


def advance(http: httpx.Client, *, seconds: int | None = None, to: int | None = None) -> int:
    """Advance the simulated clock; returns the new now."""
    data = {"seconds": seconds} if seconds is not None else {"to": to}
    response = http.post("/v1/test_helpers/clock/advance", data=data)
    assert response.status_code == 200, response.text
    now: int = response.json()["now"]
    return now


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The `error` of a raw error response, after checking its status and Stripe's error envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert_matches_schema(body, "error")
    assert response.headers.get("Request-Id", "").startswith("req_")
    error: dict[str, Any] = body["error"]
    return error


def new_account(client: stripe.StripeClient, **params: Any) -> dict[str, Any]:
    """A connected account (custom unless `type` or `controller` is given), checked against `account`."""
    if "controller" not in params:
        params.setdefault("type", "custom")
    return checked(client.v1.accounts.create(params), "account")


def new_account_id(client: stripe.StripeClient, **params: Any) -> str:
    account_id: str = new_account(client, **params)["id"]
    return account_id


def charge(
    client: stripe.StripeClient,
    amount: int,
    source: str = "tok_visa",
    *,
    account: str | None = None,
    currency: str = "usd",
    **params: Any,
) -> dict[str, Any]:
    options = acting_as(account) if account else None
    created = client.v1.charges.create(
        {"amount": amount, "currency": currency, "source": source, **params}, options
    )
    return checked(created, "charge")


def balance(client: stripe.StripeClient, account: str | None = None) -> dict[str, Any]:
    options = acting_as(account) if account else None
    return checked(client.v1.balance.retrieve(options=options), "balance")


def amount_in(entries: list[dict[str, Any]], currency: str = "usd") -> int:
    """The amount of `currency` in a balance's `available`/`pending`/… list (exactly one entry)."""
    found = [e for e in entries if e["currency"] == currency]
    assert len(found) == 1, f"expected one {currency} entry in {entries}"
    amount: int = found[0]["amount"]
    return amount


def available(client: stripe.StripeClient, account: str | None = None, currency: str = "usd") -> int:
    return amount_in(balance(client, account)["available"], currency)


def pending(client: stripe.StripeClient, account: str | None = None, currency: str = "usd") -> int:
    return amount_in(balance(client, account)["pending"], currency)


def txn(client: stripe.StripeClient, txn_id: str, account: str | None = None) -> dict[str, Any]:
    options = acting_as(account) if account else None
    found = checked(client.v1.balance_transactions.retrieve(txn_id, options=options), "balance_transaction")
    for fee in found["fee_details"]:
        assert_matches_schema(fee, "fee")
    return found


def txn_list(client: stripe.StripeClient, account: str | None = None, **params: Any) -> dict[str, Any]:
    options = acting_as(account) if account else None
    page = as_dict(client.v1.balance_transactions.list(params, options))
    assert_matches_response(page, "GET", "/v1/balance_transactions")
    return page


def fund_platform(client: stripe.StripeClient, amount: int = 10_000) -> int:
    """Make `amount` available on the platform at once (a tok_bypassPending charge); returns the net."""
    charge(client, amount, "tok_bypassPending")
    return amount - card_fee(amount)
