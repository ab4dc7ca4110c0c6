"""Connected accounts through the official SDK: controller properties and payout settings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import LIVE_SECRET_KEY
from tests.contract.helpers import acting_as, as_dict, checked, error_of, new_account

SCHEDULE = "settings[payouts][schedule]"


def schedule_of(account: dict[str, Any]) -> dict[str, Any]:
    schedule: dict[str, Any] = account["settings"]["payouts"]["schedule"]
    return schedule


def test_a_custom_account_is_platform_controlled(stripe_client: stripe.StripeClient) -> None:
    account = new_account(stripe_client, type="custom", country="US")

    assert account["id"].startswith("acct_")
    assert account["object"] == "account"
    assert account["type"] == "custom"
    assert account["country"] == "US"
    assert account["default_currency"] == "usd"
    assert account["controller"] == {
        "fees": {"payer": "application_custom"},
        "is_controller": True,
        "losses": {"payments": "application"},
        "requirement_collection": "application",
        "stripe_dashboard": {"type": "none"},
        "type": "application",
    }
    payouts = account["settings"]["payouts"]
    assert payouts["debit_negative_balances"] is False  # requirement_collection=application
    assert payouts["schedule"] == {"delay_days": 2, "interval": "daily"}
    assert payouts["statement_descriptor"] is None
    assert account["external_accounts"]["data"] == []
    assert account["external_accounts"]["url"] == f"/v1/accounts/{account['id']}/external_accounts"
    assert account["payouts_enabled"] is False


@pytest.mark.parametrize(
    ("controller", "expected", "debit_negative_balances"),
    [
        (
            {
                "stripe_dashboard": {"type": "none"},
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "requirement_collection": "application",
            },
            {"dash": "none", "fees": "application", "losses": "application", "rc": "application"},
            False,
        ),
        (
            {"stripe_dashboard": {"type": "express"}, "losses": {"payments": "application"}},
            {"dash": "express", "fees": "application", "losses": "application", "rc": "stripe"},
            True,
        ),
        (
            {"stripe_dashboard": {"type": "full"}},
            {"dash": "full", "fees": "account", "losses": "stripe", "rc": "stripe"},
            True,
        ),
    ],
    ids=["no-dashboard", "express-dashboard", "full-dashboard"],
)
def test_an_account_created_by_controller_properties(
    stripe_client: stripe.StripeClient,
    controller: dict[str, Any],
    expected: dict[str, str],
    debit_negative_balances: bool,
) -> None:
    account = new_account(stripe_client, controller=controller)

    got = account["controller"]
    assert got["type"] == "application"
    assert got["is_controller"] is True
    assert got["stripe_dashboard"]["type"] == expected["dash"]
    assert got["fees"]["payer"] == expected["fees"]
    assert got["losses"]["payments"] == expected["losses"]
    assert got["requirement_collection"] == expected["rc"]
    assert account["type"] == "none"
    assert account["settings"]["payouts"]["debit_negative_balances"] is debit_negative_balances


def test_an_express_account(stripe_client: stripe.StripeClient) -> None:
    account = new_account(stripe_client, type="express")
    assert account["type"] == "express"
    assert account["controller"]["fees"]["payer"] == "application_express"
    assert account["controller"]["losses"]["payments"] == "application"
    assert account["controller"]["requirement_collection"] == "stripe"
    assert account["controller"]["stripe_dashboard"]["type"] == "express"
    assert account["settings"]["payouts"]["debit_negative_balances"] is True


def test_switching_interval_fills_the_new_anchor(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]
    weekly = as_dict(
        stripe_client.v1.accounts.update(
            account_id, {"settings": {"payouts": {"schedule": {"interval": "weekly"}}}}
        )
    )
    assert schedule_of(weekly) == {"delay_days": 2, "interval": "weekly", "weekly_anchor": "monday"}
    monthly = as_dict(
        stripe_client.v1.accounts.update(
            account_id, {"settings": {"payouts": {"schedule": {"interval": "monthly"}}}}
        )
    )
    assert schedule_of(monthly) == {"delay_days": 2, "interval": "monthly", "monthly_anchor": 1}


def test_an_account_needs_type_or_controller(http: httpx.Client) -> None:
    error = error_of(http.post("/v1/accounts", data={"country": "US"}), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "type"


def test_a_weekly_schedule_keeps_its_anchor(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]

    updated = stripe_client.v1.accounts.update(
        account_id,
        {"settings": {"payouts": {"schedule": {"interval": "weekly", "weekly_anchor": "friday"}}}},
    )

    assert schedule_of(checked(updated, "account")) == {
        "delay_days": 2,
        "interval": "weekly",
        "weekly_anchor": "friday",
    }
    assert schedule_of(as_dict(stripe_client.v1.accounts.retrieve(account_id)))["weekly_anchor"] == "friday"


def test_a_monthly_schedule_on_the_31st(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]
    updated = checked(
        stripe_client.v1.accounts.update(
            account_id,
            {"settings": {"payouts": {"schedule": {"interval": "monthly", "monthly_anchor": 31}}}},
        ),
        "account",
    )
    assert schedule_of(updated) == {"delay_days": 2, "interval": "monthly", "monthly_anchor": 31}

    back_to_daily = as_dict(
        stripe_client.v1.accounts.update(
            account_id, {"settings": {"payouts": {"schedule": {"interval": "daily"}}}}
        )
    )
    assert schedule_of(back_to_daily) == {"delay_days": 2, "interval": "daily"}


def test_delay_days_minimum_is_the_countrys_minimum(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client, country="GB")["id"]
    slower = as_dict(
        stripe_client.v1.accounts.update(
            account_id, {"settings": {"payouts": {"schedule": {"delay_days": 7}}}}
        )
    )
    assert schedule_of(slower)["delay_days"] == 7

    minimum = checked(
        stripe_client.v1.accounts.update(
            account_id, {"settings": {"payouts": {"schedule": {"delay_days": "minimum"}}}}
        ),
        "account",
    )
    assert schedule_of(minimum)["delay_days"] == 3
    assert minimum["default_currency"] == "gbp"


def test_a_manual_schedule_and_other_payout_settings(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]
    updated = checked(
        stripe_client.v1.accounts.update(
            account_id,
            {
                "settings": {
                    "payouts": {
                        "schedule": {"interval": "manual"},
                        "debit_negative_balances": True,
                        "statement_descriptor": "ACME PAYOUT",
                    }
                }
            },
        ),
        "account",
    )
    payouts = updated["settings"]["payouts"]
    assert payouts["schedule"]["interval"] == "manual"
    assert payouts["debit_negative_balances"] is True
    assert payouts["statement_descriptor"] == "ACME PAYOUT"


@pytest.mark.parametrize(
    ("schedule", "param"),
    [
        ({"interval": "yearly"}, f"{SCHEDULE}[interval]"),
        ({"interval": "daily", "weekly_anchor": "monday"}, f"{SCHEDULE}[weekly_anchor]"),
        ({"interval": "weekly", "weekly_anchor": "someday"}, f"{SCHEDULE}[weekly_anchor]"),
        ({"interval": "monthly", "monthly_anchor": "32"}, f"{SCHEDULE}[monthly_anchor]"),
        ({"interval": "monthly", "monthly_anchor": "0"}, f"{SCHEDULE}[monthly_anchor]"),
        ({"delay_days": "1"}, f"{SCHEDULE}[delay_days]"),
        ({"delay_days": "soon"}, f"{SCHEDULE}[delay_days]"),
    ],
)
def test_an_invalid_schedule_names_the_param(
    stripe_client: stripe.StripeClient, http: httpx.Client, schedule: dict[str, str], param: str
) -> None:
    account = new_account(stripe_client)
    form = {f"{SCHEDULE}[{k}]": v for k, v in schedule.items()}

    error = error_of(http.post(f"/v1/accounts/{account['id']}", data=form), 400)

    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.accounts.update(
            account["id"],
            {"settings": {"payouts": {"schedule": schedule}}},  # type: ignore[typeddict-item]
        )
    assert raised.value.param == param
    # Nothing changed.
    assert schedule_of(as_dict(stripe_client.v1.accounts.retrieve(account["id"]))) == schedule_of(account)


def test_list_accounts_newest_first(stripe_client: stripe.StripeClient) -> None:
    ids = [new_account(stripe_client)["id"] for _ in range(3)]

    page = as_dict(stripe_client.v1.accounts.list())
    assert page["object"] == "list"
    assert page["url"] == "/v1/accounts"
    assert [a["id"] for a in page["data"]] == ids[::-1]
    for account in page["data"]:
        checked(account, "account")

    short = as_dict(stripe_client.v1.accounts.list({"limit": 2}))
    assert short["has_more"] is True
    assert [a["id"] for a in short["data"]] == ids[:0:-1]


def test_get_account_is_the_acting_account(stripe_client: stripe.StripeClient) -> None:
    platform = checked(stripe_client.v1.accounts.retrieve_current(), "account")
    connected_id = new_account(stripe_client)["id"]

    acting = checked(stripe_client.v1.accounts.retrieve_current(options=acting_as(connected_id)), "account")

    assert platform["id"].startswith("acct_")
    assert platform["id"] != connected_id
    assert acting["id"] == connected_id
    assert platform["id"] not in [a["id"] for a in as_dict(stripe_client.v1.accounts.list())["data"]]


def test_an_unknown_account_is_404(stripe_client: stripe.StripeClient, http: httpx.Client) -> None:
    missing = "acct_" + "1" * 16
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.accounts.retrieve(missing)
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"

    error = error_of(http.get(f"/v1/accounts/{missing}"), 404)
    assert error["code"] == "resource_missing"
    assert error["param"] == "account"


def test_a_malformed_account_id_is_400(http: httpx.Client) -> None:
    error = error_of(http.get("/v1/accounts/not-an-account"), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "account"


def test_a_test_mode_account_is_invisible_to_the_live_key(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.accounts.retrieve(account_id, options={"api_key": LIVE_SECRET_KEY})
    assert raised.value.http_status == 404
    live_list = as_dict(stripe_client.v1.accounts.list(options={"api_key": LIVE_SECRET_KEY}))
    assert live_list["data"] == []


def test_metadata_is_set_and_unset(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client, metadata={"seller": "42", "tier": "gold"})["id"]
    updated = as_dict(stripe_client.v1.accounts.update(account_id, {"metadata": {"tier": ""}}))
    assert updated["metadata"] == {"seller": "42"}


def test_the_live_key_cannot_act_as_a_test_mode_account(stripe_client: stripe.StripeClient) -> None:
    account_id = new_account(stripe_client)["id"]
    # Stripe answers an invalid request naming the account's mode (not a permission error).
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.balance.retrieve(options={"api_key": LIVE_SECRET_KEY, "stripe_account": account_id})
    assert raised.value.http_status == 404
    assert raised.value.user_message == (
        f"The account {account_id} was a test account created with a testmode key, and therefore can "
        "only be used with testmode keys"
    )
