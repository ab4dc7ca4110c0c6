"""External accounts through the official SDK: where payouts go, and which payout methods they take."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.contract.helpers import as_dict, checked, error_of, new_account_id


def add(client: stripe.StripeClient, account: str, external_account: Any, **params: Any) -> dict[str, Any]:
    created = as_dict(
        client.v1.accounts.external_accounts.create(account, {"external_account": external_account, **params})
    )
    return checked(created, created["object"])


def bank(account_number: str = "000123456789", **extra: str) -> dict[str, str]:
    return {
        "object": "bank_account",
        "country": "US",
        "currency": "usd",
        "routing_number": "110000000",
        "account_number": account_number,
        **extra,
    }


def listed(client: stripe.StripeClient, account: str, **params: Any) -> list[dict[str, Any]]:
    page = as_dict(client.v1.accounts.external_accounts.list(account, params or None))
    assert page["url"] == f"/v1/accounts/{account}/external_accounts"
    data: list[dict[str, Any]] = page["data"]
    return data


def defaults(client: stripe.StripeClient, account: str) -> list[str]:
    return [e["id"] for e in listed(client, account) if e["default_for_currency"]]


def test_a_bank_account_by_token(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)

    ba = add(stripe_client, account, "btok_us_verified")

    assert ba["object"] == "bank_account"
    assert ba["id"].startswith("ba_")
    assert ba["account"] == account
    assert (ba["country"], ba["currency"], ba["last4"]) == ("US", "usd", "6789")
    assert ba["routing_number"] == "110000000"
    assert ba["default_for_currency"] is True
    assert ba["available_payout_methods"] == ["standard", "instant"]
    assert "livemode" not in ba


def test_a_bank_account_by_details(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)

    ba = add(
        stripe_client,
        account,
        bank(account_holder_name="Jenny Rosen", account_holder_type="individual"),
        metadata={"purpose": "payouts"},
    )

    assert ba["last4"] == "6789"
    assert ba["account_holder_name"] == "Jenny Rosen"
    assert ba["account_holder_type"] == "individual"
    assert ba["metadata"] == {"purpose": "payouts"}
    same = checked(stripe_client.v1.accounts.external_accounts.retrieve(account, ba["id"]), "bank_account")
    assert same == ba


def test_a_bank_number_that_is_not_instant_eligible(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    ba = add(stripe_client, account, bank("000888888883"))
    assert ba["available_payout_methods"] == ["standard"]
    assert ba["last4"] == "8883"


@pytest.mark.parametrize(
    ("token", "brand", "last4", "methods"),
    [
        ("tok_visa_debit", "Visa", "5556", ["standard", "instant"]),
        ("tok_mastercard_debit", "MasterCard", "8210", ["standard", "instant"]),
        ("tok_visa_debit_us_instantPayoutUnsupported", "Visa", "5555", ["standard"]),
    ],
)
def test_a_debit_card_by_token(
    stripe_client: stripe.StripeClient, token: str, brand: str, last4: str, methods: list[str]
) -> None:
    account = new_account_id(stripe_client)

    card = add(stripe_client, account, token)

    assert card["object"] == "card"
    assert card["id"].startswith("card_")
    assert (card["brand"], card["last4"], card["funding"]) == (brand, last4, "debit")
    assert card["available_payout_methods"] == methods
    assert card["currency"] == "usd"
    assert card["account"] == account
    assert card["default_for_currency"] is True


def test_the_first_per_currency_is_the_default_and_another_can_take_over(
    stripe_client: stripe.StripeClient,
) -> None:
    account = new_account_id(stripe_client)
    first = add(stripe_client, account, "btok_us_verified")
    second = add(stripe_client, account, "tok_visa_debit")
    assert first["default_for_currency"] is True
    assert second["default_for_currency"] is False
    assert defaults(stripe_client, account) == [first["id"]]

    third = add(stripe_client, account, bank("000999999991"), default_for_currency=True)
    assert third["default_for_currency"] is True
    assert defaults(stripe_client, account) == [third["id"]]

    moved = checked(
        stripe_client.v1.accounts.external_accounts.update(
            account, second["id"], {"default_for_currency": True}
        ),
        "card",
    )
    assert moved["default_for_currency"] is True
    assert defaults(stripe_client, account) == [second["id"]]


def test_the_default_cannot_be_unset_directly(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = new_account_id(stripe_client)
    ba = add(stripe_client, account, "btok_us_verified")

    response = http.post(
        f"/v1/accounts/{account}/external_accounts/{ba['id']}", data={"default_for_currency": "false"}
    )

    assert error_of(response, 400)["param"] == "default_for_currency"
    assert defaults(stripe_client, account) == [ba["id"]]


def test_delete_rules(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    account = new_account_id(stripe_client)
    default = add(stripe_client, account, "btok_us_verified")
    other = add(stripe_client, account, "tok_visa_debit")

    error = error_of(http.delete(f"/v1/accounts/{account}/external_accounts/{default['id']}"), 400)
    assert error["type"] == "invalid_request_error"

    deleted = as_dict(stripe_client.v1.accounts.external_accounts.delete(account, other["id"]))
    assert deleted == {"id": other["id"], "object": "card", "deleted": True}
    assert [e["id"] for e in listed(stripe_client, account)] == [default["id"]]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.accounts.external_accounts.retrieve(account, other["id"])
    assert raised.value.http_status == 404


def test_payouts_are_enabled_once_there_is_an_external_account(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    assert as_dict(stripe_client.v1.accounts.retrieve(account))["payouts_enabled"] is False

    ba = add(stripe_client, account, "btok_us_verified")

    after = checked(stripe_client.v1.accounts.retrieve(account), "account")
    assert after["payouts_enabled"] is True
    assert [e["id"] for e in after["external_accounts"]["data"]] == [ba["id"]]


def test_the_list_filters_by_object(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    ba = add(stripe_client, account, "btok_us_verified")
    card = add(stripe_client, account, "tok_visa_debit")

    assert [e["id"] for e in listed(stripe_client, account)] == [card["id"], ba["id"]]
    assert [e["id"] for e in listed(stripe_client, account, object="bank_account")] == [ba["id"]]
    assert [e["id"] for e in listed(stripe_client, account, object="card")] == [card["id"]]


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"external_account": "btok_nope"}, "external_account"),
        (
            {
                "external_account[object]": "bank_account",
                "external_account[country]": "US",
                "external_account[currency]": "usd",
                "external_account[routing_number]": "1100",
                "external_account[account_number]": "000123456789",
            },
            "external_account[routing_number]",
        ),
        (
            {
                "external_account[object]": "bank_account",
                "external_account[country]": "US",
                "external_account[currency]": "usd",
                "external_account[routing_number]": "110000000",
                "external_account[account_number]": "12ab",
            },
            "external_account[account_number]",
        ),
    ],
    ids=["unknown-token", "bad-routing", "bad-account-number"],
)
def test_bad_external_accounts_name_the_param(
    stripe_client: stripe.StripeClient, http: httpx.Client, form: dict[str, str], param: str
) -> None:
    account = new_account_id(stripe_client)
    error = error_of(http.post(f"/v1/accounts/{account}/external_accounts", data=form), 400)
    assert error["param"] == param
    assert listed(stripe_client, account) == []


def test_another_accounts_external_account_is_404(stripe_client: stripe.StripeClient) -> None:
    owner = new_account_id(stripe_client)
    stranger = new_account_id(stripe_client)
    ba = add(stripe_client, owner, "btok_us_verified")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.accounts.external_accounts.retrieve(stranger, ba["id"])
    assert raised.value.http_status == 404
