"""GET /v1/balance through the official SDK: what a platform and its connected accounts hold."""

from __future__ import annotations

import pytest
import stripe

from tests.conftest import LIVE_SECRET_KEY
from tests.contract.helpers import (
    CARD_AVAILABLE_ON,
    acting_as,
    advance,
    amount_in,
    as_dict,
    available,
    balance,
    card_fee,
    charge,
    checked,
    new_account_id,
    pending,
)


def test_a_fresh_platform_holds_nothing(stripe_client: stripe.StripeClient) -> None:
    fresh = balance(stripe_client)

    assert fresh["object"] == "balance"
    assert fresh["livemode"] is False
    assert [(e["amount"], e["currency"]) for e in fresh["available"]] == [(0, "usd")]
    assert [(e["amount"], e["currency"]) for e in fresh["pending"]] == [(0, "usd")]
    assert fresh["connect_reserved"] == [{"amount": 0, "currency": "usd"}]


def test_the_legacy_global_style_reads_the_same_balance(stripe_module: object) -> None:
    import stripe as sdk

    got = sdk.Balance.retrieve()

    assert isinstance(got, sdk.Balance)
    data = checked(got, "balance")
    assert amount_in(data["available"]) == 0
    assert data["livemode"] is False


def test_a_card_charge_is_pending_net_of_fees_until_available_on(
    stripe_client: stripe.StripeClient, http: object
) -> None:
    charge(stripe_client, 1000, "tok_visa")

    after_charge = balance(stripe_client)
    assert amount_in(after_charge["pending"]) == 1000 - 59 == 1000 - card_fee(1000)
    assert amount_in(after_charge["available"]) == 0
    assert after_charge["pending"][0]["source_types"] == {"card": 941}

    advance(http, to=CARD_AVAILABLE_ON - 1)  # type: ignore[arg-type]
    assert pending(stripe_client) == 941
    assert available(stripe_client) == 0

    advance(http, to=CARD_AVAILABLE_ON)  # type: ignore[arg-type]
    settled = balance(stripe_client)
    assert amount_in(settled["available"]) == 941
    assert amount_in(settled["pending"]) == 0
    assert settled["available"][0]["source_types"] == {"card": 941}


def test_tok_bypass_pending_is_available_at_once(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 2000, "tok_bypassPending")

    assert available(stripe_client) == 2000 - card_fee(2000)
    assert pending(stripe_client) == 0


def test_stripe_account_reads_a_connected_accounts_balance(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    charge(stripe_client, 1000, "tok_bypassPending", account=account)

    connected = balance(stripe_client, account)
    assert amount_in(connected["available"]) == 941
    assert "connect_reserved" not in connected  # the platform's alone
    # The platform's own balance is untouched by its connected account's direct charge.
    assert available(stripe_client) == 0
    assert pending(stripe_client) == 0


def test_the_legacy_style_passes_stripe_account_too(
    stripe_client: stripe.StripeClient, stripe_module: object
) -> None:
    import stripe as sdk

    account = new_account_id(stripe_client)
    charge(stripe_client, 5000, "tok_bypassPending", account=account)

    got = checked(sdk.Balance.retrieve(stripe_account=account), "balance")
    assert amount_in(got["available"]) == 5000 - card_fee(5000)


def test_each_source_type_and_currency_is_reported_apart(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 1000, "tok_visa")
    charge(stripe_client, 10_000, "btok_us_verified")  # legacy ACH: 0.8 %, capped at 5.00
    charge(stripe_client, 1000, "tok_fpx", currency="myr")  # FPX: 2.5 %

    got = balance(stripe_client)
    usd = next(e for e in got["pending"] if e["currency"] == "usd")
    assert usd["source_types"] == {"card": 941, "bank_account": 10_000 - 80}
    assert usd["amount"] == 941 + 9920
    assert amount_in(got["pending"], "myr") == 975
    assert next(e for e in got["pending"] if e["currency"] == "myr")["source_types"] == {"fpx": 975}


def test_a_live_key_sees_a_separate_empty_balance(stripe_client: stripe.StripeClient) -> None:
    charge(stripe_client, 1000, "tok_bypassPending")

    live = checked(stripe_client.v1.balance.retrieve(options={"api_key": LIVE_SECRET_KEY}), "balance")

    assert live["livemode"] is True
    assert amount_in(live["available"]) == 0
    assert amount_in(live["pending"]) == 0
    assert available(stripe_client) == 941  # test mode still holds its funds


def test_balance_answers_with_a_request_id(stripe_client: stripe.StripeClient) -> None:
    got = stripe_client.v1.balance.retrieve()
    assert got.last_response is not None
    assert got.last_response.request_id.startswith("req_")
    assert as_dict(got)["object"] == "balance"


def test_an_unknown_stripe_account_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as raised:
        stripe_client.v1.balance.retrieve(options=acting_as("acct_doesNotExist0001"))
    assert raised.value.http_status == 403
    body = raised.value.json_body  # the SDK does not copy `code` for a 403: read the body
    assert body is not None
    assert body["error"]["code"] == "account_invalid"
