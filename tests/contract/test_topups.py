"""Top-ups through the official SDK: funds pulled in from the account's bank."""

from __future__ import annotations

import httpx
import pytest
import stripe

from tests.contract.helpers import (
    acting_as,
    amount_in,
    as_dict,
    available,
    balance,
    checked,
    error_of,
    new_account_id,
    txn,
    txn_list,
)


def test_a_top_up_succeeds_into_available(stripe_client: stripe.StripeClient) -> None:
    tu = checked(
        stripe_client.v1.topups.create(
            {
                "amount": 5000,
                "currency": "usd",
                "source": "btok_us_verified",
                "description": "float",
                "statement_descriptor": "TOPUP",
                "metadata": {"batch": "1"},
            }
        ),
        "topup",
    )

    assert tu["id"].startswith("tu_")
    assert (tu["status"], tu["amount"], tu["currency"]) == ("succeeded", 5000, "usd")
    assert (tu["failure_code"], tu["failure_message"]) == (None, None)
    assert tu["metadata"] == {"batch": "1"}
    assert tu["livemode"] is False
    got = balance(stripe_client)
    assert amount_in(got["available"]) == 5000
    assert amount_in(got["pending"]) == 0
    assert got["available"][0]["source_types"]["bank_account"] == 5000

    t = txn(stripe_client, tu["balance_transaction"])
    assert (t["type"], t["amount"], t["fee"], t["status"], t["source"]) == (
        "topup",
        5000,
        0,
        "available",
        tu["id"],
    )
    assert checked(stripe_client.v1.topups.retrieve(tu["id"]), "topup") == tu


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("btok_us_verified_noAccount", "no_account"),
        ("btok_us_verified_accountClosed", "account_closed"),
        ("btok_us_verified_insufficientFunds", "insufficient_funds"),
        ("btok_us_verified_debitNotAuthorized", "debit_not_authorized"),
        ("btok_us_verified_invalidCurrency", "invalid_currency"),
    ],
)
def test_a_failing_bank_gives_a_failed_top_up_and_no_money(
    stripe_client: stripe.StripeClient, token: str, code: str
) -> None:
    tu = checked(
        stripe_client.v1.topups.create({"amount": 5000, "currency": "usd", "source": token}), "topup"
    )

    assert tu["status"] == "failed"
    assert tu["failure_code"] == code
    assert tu["failure_message"]
    assert tu["balance_transaction"] is None
    assert available(stripe_client) == 0
    assert txn_list(stripe_client)["data"] == []


def test_an_issuing_top_up_shows_under_issuing(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    response = http.post(
        "/v1/topups",
        data={
            "amount": 3000,
            "currency": "usd",
            "source": "btok_us_verified",
            "destination_balance": "issuing",
        },
    )
    assert response.status_code == 200, response.text
    tu = checked(response.json(), "topup")

    got = balance(stripe_client)
    assert amount_in(got["issuing"]["available"]) == 3000
    assert amount_in(got["available"]) == 0  # not in payments
    assert txn(stripe_client, tu["balance_transaction"])["balance_type"] == "issuing"


def test_a_connected_account_tops_up_its_own_balance(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client)
    stripe_client.v1.topups.create(
        {"amount": 1200, "currency": "usd", "source": "btok_us_verified"}, acting_as(account)
    )
    assert available(stripe_client, account) == 1200
    assert available(stripe_client) == 0


def test_list_filters_by_status(stripe_client: stripe.StripeClient) -> None:
    ok = as_dict(stripe_client.v1.topups.create({"amount": 100, "currency": "usd"}))
    bad = as_dict(
        stripe_client.v1.topups.create(
            {"amount": 100, "currency": "usd", "source": "btok_us_verified_noAccount"}
        )
    )

    everything = as_dict(stripe_client.v1.topups.list())
    assert everything["url"] == "/v1/topups"
    assert [t["id"] for t in everything["data"]] == [bad["id"], ok["id"]]
    assert [t["id"] for t in as_dict(stripe_client.v1.topups.list({"status": "failed"}))["data"]] == [
        bad["id"]
    ]
    assert [t["id"] for t in as_dict(stripe_client.v1.topups.list({"status": "succeeded"}))["data"]] == [
        ok["id"]
    ]


def test_an_unknown_source_is_refused(http: httpx.Client, stripe_client: stripe.StripeClient) -> None:
    response = http.post("/v1/topups", data={"amount": 100, "currency": "usd", "source": "btok_nope"})
    assert response.status_code in (400, 404)
    assert error_of(response, response.status_code)["param"] == "source"
    assert available(stripe_client) == 0


def test_a_long_statement_descriptor_is_refused(http: httpx.Client) -> None:
    response = http.post(
        "/v1/topups", data={"amount": 100, "currency": "usd", "statement_descriptor": "X" * 16}
    )
    assert error_of(response, 400)["param"] == "statement_descriptor"
