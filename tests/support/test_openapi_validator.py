"""The schema validator catches what contract tests rely on it to catch and passes valid objects."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.support.openapi import (
    SPEC_PATH,
    assert_matches_response,
    assert_matches_schema,
    schema_errors,
    schema_names,
)


def balance() -> dict[str, Any]:
    return {
        "object": "balance",
        "livemode": False,
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "pending": [{"amount": 9420, "currency": "usd", "source_types": {"card": 9420}}],
        "instant_available": [
            {
                "amount": 0,
                "currency": "usd",
                "source_types": {"card": 0},
                "net_available": [{"amount": 0, "destination": "ba_1Q0pK2", "source_types": {}}],
            }
        ],
        "refund_and_dispute_prefunding": {"available": [], "pending": []},
    }


def balance_transaction() -> dict[str, Any]:
    return {
        "id": "txn_1Q0pK2LkdIwHu7ix",
        "object": "balance_transaction",
        "amount": 10000,
        "available_on": 1767484800,
        "balance_type": "payments",
        "created": 1767261600,
        "currency": "usd",
        "description": None,
        "exchange_rate": None,
        "fee": 320,
        "fee_details": [
            {
                "amount": 320,
                "application": None,
                "currency": "usd",
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ],
        "net": 9680,
        "reporting_category": "charge",
        "source": "ch_1Q0pK2LkdIwHu7ix",
        "status": "pending",
        "type": "charge",
    }


def test_the_spec_is_stripes_openapi_subset() -> None:
    spec = json.loads(SPEC_PATH.read_text())
    assert spec["openapi"] == "3.0.0"
    assert spec["_source"]["repository"] == "github.com/stripe/openapi"


def test_every_schema_in_the_subset_converts() -> None:
    for name in schema_names():
        schema_errors({}, name)  # builds (and checks) the converted schema


@pytest.mark.parametrize(
    ("obj", "name"),
    [(balance(), "balance"), (balance_transaction(), "balance_transaction")],
    ids=["balance", "balance_transaction"],
)
def test_passes_a_valid_object(obj: dict[str, Any], name: str) -> None:
    assert_matches_schema(obj, name)


def test_passes_the_minimal_balance() -> None:
    minimal = {"object": "balance", "livemode": False, "available": [], "pending": []}
    assert_matches_schema(minimal, "balance")


def test_fails_on_a_missing_required_field() -> None:
    txn = balance_transaction()
    del txn["net"]
    with pytest.raises(AssertionError, match=r"\$: 'net' is a required property"):
        assert_matches_schema(txn, "balance_transaction")


def test_fails_on_a_missing_required_field_in_a_nested_object() -> None:
    bal = balance()
    del bal["available"][0]["currency"]
    with pytest.raises(AssertionError, match=r"\$\.available\[0\]: 'currency' is a required"):
        assert_matches_schema(bal, "balance")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "10000"),  # money is an integer of minor units, never a string
        ("amount", 100.0),  # nor a float
        ("fee_details", {}),
        ("object", "charge"),  # enum
        ("type", "bogus_type"),  # enum
        ("created", -1),  # unix-time
        ("currency", "USD"),  # lowercase ISO code
        ("id", None),  # not nullable
    ],
)
def test_fails_on_a_wrong_type_or_value(field: str, value: object) -> None:
    txn = balance_transaction()
    txn[field] = value
    with pytest.raises(AssertionError, match=rf"\$\.{field}: "):
        assert_matches_schema(txn, "balance_transaction")


def test_nullable_fields_accept_null_and_their_type() -> None:
    txn = balance_transaction()
    txn["exchange_rate"] = 1.234
    txn["description"] = "Charge for order 42"
    txn["source"] = None
    assert_matches_schema(txn, "balance_transaction")


def test_fails_on_a_field_stripe_does_not_have() -> None:
    txn = balance_transaction()
    txn["settled"] = True
    with pytest.raises(AssertionError, match=r"'settled' was unexpected.*not a field of Stripe"):
        assert_matches_schema(txn, "balance_transaction")


def test_fails_on_an_unknown_field_deep_inside() -> None:
    bal = balance()
    bal["pending"][0]["source_types"]["ach"] = 5
    with pytest.raises(AssertionError, match=r"\$\.pending\[0\]\.source_types: .*'ach'"):
        assert_matches_schema(bal, "balance")


def test_reports_every_problem_at_once() -> None:
    txn = balance_transaction()
    del txn["fee"]
    txn["net"] = "9680"
    txn["extra"] = 1
    errors = schema_errors(txn, "balance_transaction")
    assert len(errors) == 3, errors


def test_an_expandable_field_takes_the_id_or_the_object() -> None:
    txn = balance_transaction()
    # `reserve_transaction` is outside the subset: any object with a string id will do.
    txn["source"] = {"id": "rtx_1", "object": "reserve_transaction", "amount": 10000}
    assert_matches_schema(txn, "balance_transaction")
    txn["source"] = {"object": "reserve_transaction"}
    with pytest.raises(AssertionError, match=r"\$\.source: 'id' is a required property"):
        assert_matches_schema(txn, "balance_transaction")
    txn["source"] = 42
    with pytest.raises(AssertionError, match=r"\$\.source: "):
        assert_matches_schema(txn, "balance_transaction")


def test_schemas_added_from_the_2024_spec_are_inside_the_subset() -> None:
    txn = balance_transaction()
    # `charge` came in with the 2024-04-10 schemas: an expanded charge is checked in full.
    txn["source"] = {"id": "ch_1", "object": "charge", "amount": 10000}
    with pytest.raises(AssertionError, match=r"\$\.source: 'billing_details' is a required property"):
        assert_matches_schema(txn, "balance_transaction")


def test_an_expanded_object_inside_the_subset_is_checked_in_full() -> None:
    txn = balance_transaction()
    # `payout` is in the subset, so its required fields are required here too.
    txn["source"] = {"id": "po_1", "object": "payout"}
    with pytest.raises(AssertionError, match=r"\$\.source: 'amount' is a required property"):
        assert_matches_schema(txn, "balance_transaction")


def test_pruned_schemas_allow_fields_the_subset_left_out() -> None:
    account = {
        "id": "acct_1Q0pK2",
        "object": "account",
        "type": "custom",
        "charges_enabled": True,  # on the real `account`, pruned from the subset
        "email": "owner@example.com",
    }
    assert_matches_schema(account, "account")
    # ...but what the subset kept is still checked.
    with pytest.raises(AssertionError, match=r"\$\.type: "):
        assert_matches_schema({**account, "type": "premium"}, "account")


def test_objects_nested_in_a_pruned_schema_are_still_closed() -> None:
    account = {
        "id": "acct_1",
        "object": "account",
        "external_accounts": {"object": "list", "data": [], "has_more": False, "url": "/x", "n": 1},
    }
    with pytest.raises(AssertionError, match=r"'n' was unexpected"):
        assert_matches_schema(account, "account")


def test_validates_a_list_envelope_from_the_paths() -> None:
    envelope: dict[str, Any] = {
        "object": "list",
        "data": [balance_transaction()],
        "has_more": False,
        "url": "/v1/balance_transactions",
    }
    assert_matches_response(envelope, "GET", "/v1/balance_transactions")
    broken = copy.deepcopy(envelope)
    broken["data"][0]["amount"] = 1.5
    with pytest.raises(AssertionError, match=r"\$\.data\[0\]\.amount: "):
        assert_matches_response(broken, "GET", "/v1/balance_transactions")


def test_validates_the_error_envelope() -> None:
    body = {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_missing",
            "message": "Missing required param: amount.",
            "param": "amount",
        }
    }
    assert_matches_schema(body, "error")
    assert_matches_response(body, "POST", "/v1/payouts", status="default")
    with pytest.raises(AssertionError, match=r"\$\.error\.type: "):
        assert_matches_schema({"error": {"type": "bad_error"}}, "error")


def test_an_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no schema 'balanse'"):
        assert_matches_schema({}, "balanse")
