"""`POST /v1/account_sessions` through the official SDK (docs/embedded.md §1), on SQLite and PostgreSQL.

Each session validates against Stripe's `account_session` schema; its components' defaults follow the
account's controller; each refusal has Stripe's status, type, code and param, and writes nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import LIVE_SECRET_KEY, PUBLISHABLE_KEY
from tests.contract.helpers import acting_as, checked, error_of, new_account_id
from tests.support.server import RunningServer

SERVED = {"balances", "payouts", "payouts_list", "payout_details"}
PAYOUT_FEATURES = {
    "disable_stripe_user_authentication",
    "edit_payout_schedule",
    "external_account_collection",
    "instant_payouts",
    "standard_payouts",
}


def create(client: stripe.StripeClient, account: str, components: Any, **options: Any) -> dict[str, Any]:
    created = client.v1.account_sessions.create(
        {"account": account, "components": components},
        options or None,  # type: ignore[arg-type]
    )
    return checked(created, "account_session")


def sessions_stored(server: RunningServer) -> int:
    from sqlalchemy import func, select

    from payoutkit.store.engines import make_engine
    from payoutkit.store.schema import account_sessions

    engine = make_engine(server.settings.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(account_sessions)).scalar_one())
    finally:
        engine.dispose()


def test_a_session_echoes_every_component_with_the_defaults_of_a_stripe_liable_account(
    stripe_client: stripe.StripeClient, http: httpx.Client
) -> None:
    account = new_account_id(stripe_client, type="standard")  # Stripe liable, Stripe collects
    now = http.get("/v1/test_helpers/clock").json()["now"]

    session = create(stripe_client, account, {"balances": {"enabled": True}})

    assert session["object"] == "account_session"
    assert session["account"] == account
    assert session["livemode"] is False
    assert session["expires_at"] == now + 30 * 60
    secret = session["client_secret"]
    assert secret.startswith("accs_secret__")
    assert len(secret) == len("accs_secret__") + 48
    components = session["components"]
    assert components["balances"] == {
        "enabled": True,
        "features": {
            "disable_stripe_user_authentication": False,
            "edit_payout_schedule": True,
            "external_account_collection": True,
            "instant_payouts": True,
            "standard_payouts": True,
        },
    }
    # Not asked for: disabled, with their defaults resolved all the same.
    assert components["payouts"] == {**components["balances"], "enabled": False}
    assert components["payouts_list"] == {"enabled": False, "features": {}}
    assert components["payout_details"] == {"enabled": False, "features": {}}
    # Every component of Stripe's schema, those Payoutkit does not serve disabled with features off.
    assert len(components) == 21
    for name, config in components.items():
        if name not in SERVED:
            assert config["enabled"] is False
            assert not any(config["features"].values()), name
    # Another session for the same account has another secret.
    assert create(stripe_client, account, {"balances": {"enabled": True}})["client_secret"] != secret


@pytest.mark.parametrize("account_type", ["express", "custom"])
def test_standard_payouts_and_schedule_edits_are_off_by_default_where_the_platform_is_liable(
    stripe_client: stripe.StripeClient, account_type: str
) -> None:
    account = new_account_id(stripe_client, type=account_type)

    default = create(stripe_client, account, {"payouts": {"enabled": True}})["components"]["payouts"]
    explicit = create(
        stripe_client,
        account,
        {"payouts": {"enabled": True, "features": {"standard_payouts": True, "edit_payout_schedule": True}}},
    )["components"]["payouts"]

    assert default["features"] == {
        "disable_stripe_user_authentication": False,
        "edit_payout_schedule": False,
        "external_account_collection": True,
        "instant_payouts": True,
        "standard_payouts": False,
    }
    assert explicit["features"]["standard_payouts"] is True
    assert explicit["features"]["edit_payout_schedule"] is True


def test_stripe_user_authentication_may_be_disabled_only_where_the_platform_collects_requirements(
    stripe_client: stripe.StripeClient, http: httpx.Client, server: RunningServer
) -> None:
    custom = new_account_id(stripe_client, type="custom")  # requirement_collection: application
    express = new_account_id(stripe_client, type="express")  # requirement_collection: stripe

    # Its default is the opposite of external_account_collection, where it may be true at all.
    no_collection = {"balances": {"enabled": True, "features": {"external_account_collection": False}}}
    features = create(stripe_client, custom, no_collection)["components"]["balances"]["features"]
    assert features["disable_stripe_user_authentication"] is True
    features = create(stripe_client, express, no_collection)["components"]["balances"]["features"]
    assert features["disable_stripe_user_authentication"] is False
    disabled = {"balances": {"enabled": True, "features": {"disable_stripe_user_authentication": True}}}
    features = create(stripe_client, custom, disabled)["components"]["balances"]["features"]
    assert features["disable_stripe_user_authentication"] is True
    assert features["external_account_collection"] is True

    before = sessions_stored(server)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        create(stripe_client, express, disabled)
    assert raised.value.http_status == 400
    assert raised.value.param == "components[balances][features][disable_stripe_user_authentication]"
    assert sessions_stored(server) == before


# -- refusals ------------------------------------------------------------------------------------


BAD_COMPONENTS = [
    # (form, status, code, param)
    ({"components[custom_thing][enabled]": "true"}, "parameter_unknown", "components[custom_thing]"),
    (
        {"components[balances][enabled]": "true", "components[balances][features][x]": "true"},
        "parameter_unknown",
        "components[balances][features][x]",
    ),
    (
        {"components[payouts_list][enabled]": "true", "components[payouts_list][features][x]": "true"},
        "parameter_unknown",
        "components[payouts_list][features][x]",
    ),
    ({"components[payments][enabled]": "true"}, None, "components[payments]"),
    (
        {"components[balances][enabled]": "true", "components[account_onboarding][enabled]": "true"},
        None,
        "components[account_onboarding]",
    ),
    ({"components[balances][enabled]": "false"}, None, "components"),
    (
        {"components[balances][features][instant_payouts]": "true"},
        "parameter_missing",
        "components[balances][enabled]",
    ),
    ({"components[balances][enabled]": "yes"}, "parameter_invalid_string", "components[balances][enabled]"),
    ({}, "parameter_missing", "components"),
]


@pytest.mark.parametrize(("form", "code", "param"), BAD_COMPONENTS)
def test_bad_components_are_refused_and_nothing_is_written(
    http: httpx.Client, server: RunningServer, form: dict[str, str], code: str | None, param: str
) -> None:
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    before = sessions_stored(server)

    error = error_of(http.post("/v1/account_sessions", data={"account": account, **form}), 400)

    assert error["type"] == "invalid_request_error"
    assert error.get("code") == code
    assert error["param"] == param
    if code == "parameter_unknown":
        assert error["message"] == f"Received unknown parameter: {param}"
    assert sessions_stored(server) == before


def test_unserved_components_may_be_sent_disabled(stripe_client: stripe.StripeClient) -> None:
    account = new_account_id(stripe_client, type="custom")
    session = create(
        stripe_client,
        account,
        {
            "payouts_list": {"enabled": True},
            "payments": {"enabled": False, "features": {"refund_management": True}},
        },
    )
    assert session["components"]["payouts_list"]["enabled"] is True
    assert session["components"]["payments"]["enabled"] is False
    assert session["components"]["payments"]["features"]["refund_management"] is True


def test_only_a_connected_account_of_the_platform_in_the_keys_mode(
    stripe_client: stripe.StripeClient, http: httpx.Client, server: RunningServer
) -> None:
    platform = http.get("/v1/account").json()["id"]
    live_account = http.post("/v1/accounts", data={"type": "custom"}, auth=(LIVE_SECRET_KEY, "")).json()["id"]
    before = sessions_stored(server)
    for account in (platform, live_account, "acct_" + "1" * 16):
        with pytest.raises(stripe.InvalidRequestError) as raised:
            create(stripe_client, account, {"balances": {"enabled": True}})
        assert raised.value.http_status == 404
        assert raised.value.code == "resource_missing"
        assert raised.value.param == "account"
        assert raised.value.user_message == f"No such account: '{account}'"
    error = error_of(http.post("/v1/account_sessions", data={"account": "nope"}), 400)
    assert (error["code"], error["param"]) == ("parameter_missing", "components")
    error = error_of(
        http.post("/v1/account_sessions", data={"account": "nope", "components[balances][enabled]": "true"}),
        400,
    )
    assert error["param"] == "account"
    assert sessions_stored(server) == before


def test_only_the_platforms_secret_key_acting_as_itself(
    stripe_client: stripe.StripeClient, http: httpx.Client, server: RunningServer
) -> None:
    account = new_account_id(stripe_client, type="custom")
    components = {"balances": {"enabled": True}}
    before = sessions_stored(server)

    with pytest.raises(stripe.PermissionError) as raised:
        create(stripe_client, account, components, **acting_as(account))
    assert raised.value.http_status == 403
    assert raised.value.error is not None
    assert raised.value.error.type == "invalid_request_error"  # as every 403 of the v1 API

    with pytest.raises(stripe.PermissionError) as raised:
        create(stripe_client, account, components, api_key=PUBLISHABLE_KEY)
    assert raised.value.http_status == 403
    assert "publishable API key" in str(raised.value.user_message)

    form = {"account": account, "components[balances][enabled]": "true"}
    error = error_of(httpx.post(server.url + "/v1/account_sessions", data=form, trust_env=False), 401)
    assert error["message"].startswith("You did not provide an API key")
    assert sessions_stored(server) == before


def test_a_retried_creation_makes_another_session(http: httpx.Client, server: RunningServer) -> None:
    """Not idempotent on purpose: a stored replay would keep the client secret, and only digests of
    secrets are kept. A retry makes a second session; the first expires unclaimed."""
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    form = {"account": account, "components[balances][enabled]": "true"}
    first = http.post("/v1/account_sessions", data=form, headers={"Idempotency-Key": "k"})
    second = http.post("/v1/account_sessions", data=form, headers={"Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 200
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["client_secret"] != second.json()["client_secret"]
    assert sessions_stored(server) == 2


def test_only_the_digest_of_the_secret_is_stored(http: httpx.Client, server: RunningServer) -> None:
    import hashlib

    from sqlalchemy import select

    from payoutkit.store.engines import make_engine
    from payoutkit.store.schema import account_sessions

    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    form = {"account": account, "components[payouts][enabled]": "true"}
    secret = http.post("/v1/account_sessions", data=form).json()["client_secret"]
    engine = make_engine(server.settings.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(account_sessions)).all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    assert rows[0].secret_digest == hashlib.sha256(secret.encode()).hexdigest()
    assert rows[0].id.startswith("accs_")
    assert rows[0].claimed_at is None
    assert secret not in repr(tuple(rows[0]))
