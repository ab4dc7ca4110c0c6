"""The embedded API's endpoints (docs/embedded.md §2) over real HTTP on loopback, on SQLite and on
PostgreSQL: a session made with the official SDK, claimed for a token, and the components' calls made
with that token as a browser's connect.js makes them (JSON bodies, `Authorization: Bearer ekt_…`).

The stories: the balance's shape; an instant payout whose previewed fee the payout then has, and the
balance after it; a manual payout on a manual schedule, refused on a daily one; a double submit (and
two concurrent ones) with one Idempotency-Key paying once; the schedule edit; the list's pages and a
payout's details; every feature off refused on the server; another account's payout and the other
mode's data out of reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import LIVE_PUBLISHABLE_KEY, LIVE_SECRET_KEY, PUBLISHABLE_KEY, SECRET_KEY
from tests.contract.helpers import acting_as, advance, fund_platform, new_account_id
from tests.contract.test_payouts import PAYS_OWN_FEES
from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

ON = {
    "enabled": True,
    "features": {"instant_payouts": True, "standard_payouts": True, "edit_payout_schedule": True},
}


@dataclass
class Embedded:
    """A claimed session: its account and an httpx client that sends its token."""

    account: str
    http: httpx.Client

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/embedded/v1{path}", params=params)

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(f"/embedded/v1{path}", json=body, headers=headers)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == kind, error
    assert error["message"]
    return error


@pytest.fixture
def sessions(server: RunningServer, stripe_client: stripe.StripeClient) -> Iterator[Any]:
    """`open(account, components, key=…, client=…)`: a session made with the SDK, claimed, as an
    `Embedded` client; every client is closed at the end."""
    opened: list[httpx.Client] = []

    def open_session(
        account: str,
        components: dict[str, Any] | None = None,
        *,
        client: stripe.StripeClient = stripe_client,
        publishable: str = PUBLISHABLE_KEY,
    ) -> Embedded:
        made = client.v1.account_sessions.create(
            {"account": account, "components": components or {"balances": ON}}  # type: ignore[typeddict-item]
        )
        claim = httpx.post(
            server.url + "/embedded/v1/claim",
            json={"client_secret": made.client_secret, "publishable_key": publishable},
            trust_env=False,
        )
        token = ok(claim)["token"]
        http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=30
        )
        opened.append(http)
        return Embedded(account, http)

    yield open_session
    for http in opened:
        http.close()


def account(
    client: stripe.StripeClient, *, manual: bool = True, own_fees: bool = True, fund: int = 5000
) -> str:
    """A connected account with a US bank account and a debit card, funded by a transfer. It pays its
    own fees (no platform pricing needed for instant payouts) unless `own_fees` is False."""
    fund_platform(client, 2 * fund + 1000)
    interval = "manual" if manual else "daily"
    params: dict[str, Any] = {"settings": {"payouts": {"schedule": {"interval": interval}}}}
    if own_fees:
        params["controller"] = PAYS_OWN_FEES
    made = new_account_id(client, **params)
    for token in ("btok_us_verified", "tok_visa_debit"):
        client.v1.accounts.external_accounts.create(made, {"external_account": token})
    if fund:
        client.v1.transfers.create({"amount": fund, "currency": "usd", "destination": made})
    return made


def usd(body: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = body["currencies"][0]
    assert first["currency"] == "usd"
    return first


# ---- the balance -------------------------------------------------------------------------------


def test_the_balance_has_the_documented_shape(stripe_client: stripe.StripeClient, sessions: Any) -> None:
    acct = account(stripe_client)
    # A charge on the account itself: pending for two days.
    stripe_client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_visa"}, acting_as(acct)
    )
    ui = sessions(acct)
    # As a component on a loopback page calls it (test mode): CORS lets the page read the answer.
    origin = "http://127.0.0.1:8123"
    answer = ui.http.get("/embedded/v1/balance", headers={"Origin": origin})
    assert answer.headers["access-control-allow-origin"] == origin
    body = ok(answer)
    assert body == ok(ui.get("/balance"))
    assert body["component"] == "balances"
    entry = usd(body)
    assert set(entry) == {
        "currency", "available", "pending", "in_transit", "total", "pending_by_date", "instant_available",
        "payouts",
    }  # fmt: skip
    assert entry["available"] == 5000
    assert entry["in_transit"] == 0
    assert entry["total"] == entry["available"] + entry["pending"] + entry["in_transit"]
    [pending] = entry["pending_by_date"]
    assert pending["amount"] == entry["pending"] > 0
    assert entry["instant_available"] == 5000
    assert entry["payouts"]["standard"] == {
        "allowed": True,
        "reason": None,
        "message": None,
        "max_amount": 5000,
    }
    assert entry["payouts"]["instant"]["allowed"] is True
    # The v1 Balance says the same.
    v1 = stripe_client.v1.balance.retrieve(options=acting_as(acct))
    assert v1.available[0].amount == entry["available"]
    assert v1.pending[0].amount == entry["pending"]


def test_an_instant_payout_after_its_preview_and_the_balance_after(
    stripe_client: stripe.StripeClient, sessions: Any, database_url: str
) -> None:
    acct = account(stripe_client)
    ui = sessions(acct)
    body = {"amount": 2000, "currency": "usd", "method": "instant"}
    preview = ok(ui.post("/payouts/preview", body))
    assert (preview["fee"], preview["net"], preview["total"]) == (50, 2000, 2050)
    assert preview["destination"]["last4"]
    assert usd(ok(ui.get("/balance")))["available"] == 5000  # the preview wrote nothing

    made = ok(ui.post("/payouts", body, key="pay-1"))
    assert (made["amount"], made["method"], made["status"], made["fee"]) == (2000, "instant", "pending", 50)
    assert made["arrival_date"] == preview["arrival_date"]
    assert made["destination"] == preview["destination"]
    after = usd(ok(ui.get("/balance")))
    assert (after["available"], after["in_transit"]) == (5000 - 2050, 2000)
    # The payout the v1 API shows, with its ledger entry.
    v1 = stripe_client.v1.payouts.retrieve(made["id"], options=acting_as(acct))
    assert (v1.amount, v1.method, v1.status) == (2000, "instant", "pending")
    txn = stripe_client.v1.balance_transactions.retrieve(v1.balance_transaction, options=acting_as(acct))  # type: ignore[arg-type]
    assert (txn.amount, txn.fee, txn.net) == (-2000, 50, -2050)
    assert_ledger_ok(database_url)


def test_a_manual_payout_on_a_manual_schedule_and_none_on_a_daily_one(
    stripe_client: stripe.StripeClient, sessions: Any
) -> None:
    ui = sessions(account(stripe_client, manual=True))
    made = ok(ui.post("/payouts", {"amount": 1200, "currency": "usd", "method": "standard"}, key="m1"))
    assert (made["method"], made["fee"], made["net"], made["automatic"]) == ("standard", 0, 1200, False)
    assert usd(ok(ui.get("/balance")))["available"] == 3800

    daily = sessions(account(stripe_client, manual=False))
    standard = usd(ok(daily.get("/balance")))["payouts"]["standard"]
    assert (standard["allowed"], standard["reason"]) == (False, "not_manual")
    error = refused(
        daily.post("/payouts", {"amount": 100, "currency": "usd"}, key="d1"), 400, "invalid_request_error"
    )
    assert (error["code"], error["param"]) == ("payouts_not_allowed", "method")
    error = refused(
        daily.post("/payouts/preview", {"amount": 100, "currency": "usd"}), 400, "invalid_request_error"
    )
    assert error["code"] == "payouts_not_allowed"


# ---- idempotency ---------------------------------------------------------------------------------


def test_a_double_submit_pays_once(stripe_client: stripe.StripeClient, sessions: Any) -> None:
    acct = account(stripe_client)
    ui = sessions(acct)
    body = {"amount": 1000, "currency": "usd", "method": "instant"}
    first = ui.post("/payouts", body, key="click-1")
    again = ui.post("/payouts", body, key="click-1")
    assert ok(first) == ok(again)
    assert again.headers["idempotent-replayed"] == "true"
    error = refused(ui.post("/payouts", body), 400, "invalid_request_error")
    assert error["param"] == "Idempotency-Key"
    payouts = stripe_client.v1.payouts.list(options=acting_as(acct)).data
    assert [p.id for p in payouts] == [ok(first)["id"]]


def test_two_concurrent_submits_with_one_key_pay_once(
    server: RunningServer, stripe_client: stripe.StripeClient, sessions: Any, database_url: str
) -> None:
    acct = account(stripe_client)
    ui = sessions(acct)
    headers = {"Authorization": ui.http.headers["authorization"], "Idempotency-Key": "race-1"}
    body = {"amount": 1000, "currency": "usd", "method": "standard"}

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as client:
            sends = [client.post("/embedded/v1/payouts", json=body, headers=headers) for _ in range(2)]
            return list(await asyncio.gather(*sends))

    answers = asyncio.run(both())
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(stripe_client.v1.payouts.list(options=acting_as(acct)).data) == 1
    assert usd(ok(ui.get("/balance")))["available"] == 4000
    assert_ledger_ok(database_url)


# ---- the schedule, the list and the details ------------------------------------------------------


def test_the_schedule_is_edited(stripe_client: stripe.StripeClient, sessions: Any) -> None:
    acct = account(stripe_client, own_fees=False)  # custom: the platform collects its requirements
    ui = sessions(acct)
    assert ok(ui.get("/account"))["schedule"]["interval"] == "manual"
    weekly = ok(ui.post("/payout_schedule", {"interval": "weekly", "weekly_anchor": "friday"}))
    assert weekly == {
        "interval": "weekly",
        "delay_days": 2,
        "weekly_anchor": "friday",
        "monthly_anchor": None,
    }
    shown = stripe_client.v1.accounts.retrieve(acct)
    assert shown.settings.payouts.schedule.weekly_anchor == "friday"  # type: ignore[union-attr]
    assert ok(ui.get("/account"))["schedule"] == weekly
    error = refused(
        ui.post("/payout_schedule", {"interval": "monthly", "monthly_anchor": 40}),
        400,
        "invalid_request_error",
    )
    assert error["param"] == "monthly_anchor"
    error = refused(ui.post("/payout_schedule", {"interval": "yearly"}), 400, "invalid_request_error")
    assert error["param"] == "interval"


def test_the_list_pages_and_the_details_show_history_and_transactions(
    stripe_client: stripe.StripeClient, http: httpx.Client, sessions: Any
) -> None:
    acct = account(stripe_client)
    ui = sessions(acct, {"payouts": ON})
    made = [
        ok(
            ui.post(
                "/payouts", {"amount": 100 * (i + 1), "currency": "usd", "method": "instant"}, key=f"p{i}"
            )
        )
        for i in range(3)
    ]
    page = ok(ui.get("/payouts", limit=2))
    assert [p["id"] for p in page["data"]] == [made[2]["id"], made[1]["id"]]
    assert page["has_more"] is True
    rest = ok(ui.get("/payouts", limit=2, starting_after=made[1]["id"]))
    assert [p["id"] for p in rest["data"]] == [made[0]["id"]]
    assert rest["has_more"] is False
    assert page["data"][0] == made[2]

    # An instant payout is paid within 15 minutes; the token lived 10: the details open a new session.
    advance(http, seconds=15 * 60)
    refused(ui.get("/payouts"), 401, "authentication_error")
    details = ok(sessions(acct, {"payout_details": {"enabled": True}}).get(f"/payouts/{made[0]['id']}"))
    assert details["status"] == "paid"
    assert [h["status"] for h in details["history"]] == ["pending", "in_transit", "paid"]
    assert [t["type"] for t in details["transactions"]] == ["payout"]
    assert (details["transactions"][0]["amount"], details["transactions"][0]["fee"]) == (-100, 50)
    assert details["transactions_has_more"] is False
    refused(sessions(acct, {"payouts": ON}).get("/payouts", limit=0), 400, "invalid_request_error")


# ---- what a session may not do -------------------------------------------------------------------


def test_every_feature_off_is_refused_on_the_server(
    stripe_client: stripe.StripeClient, sessions: Any
) -> None:
    acct = account(stripe_client)
    off = {
        "enabled": True,
        "features": {"instant_payouts": False, "standard_payouts": False, "edit_payout_schedule": False},
    }
    ui = sessions(acct, {"balances": off})
    entry = usd(ok(ui.get("/balance")))
    assert entry["payouts"]["standard"]["reason"] == entry["payouts"]["instant"]["reason"] == "not_enabled"
    for method in ("standard", "instant"):
        body = {"amount": 100, "currency": "usd", "method": method}
        error = refused(ui.post("/payouts", body, key=f"off-{method}"), 403, "permission_error")
        assert f"balances.{method}_payouts" in error["message"]
        refused(ui.post("/payouts/preview", body), 403, "permission_error")
    refused(ui.post("/payout_schedule", {"interval": "daily"}), 403, "permission_error")
    # The balances component lists no payouts; payouts_list alone reads no balance.
    refused(ui.get("/payouts"), 403, "permission_error")
    only_list = sessions(acct, {"payouts_list": {"enabled": True}})
    refused(only_list.get("/balance"), 403, "permission_error")
    refused(only_list.post("/payouts", {"amount": 100, "currency": "usd"}, key="l1"), 403, "permission_error")
    assert ok(only_list.get("/payouts"))["data"] == []
    assert ok(only_list.get("/account"))["components"]["balances"]["enabled"] is False
    # Nothing was paid out.
    assert stripe_client.v1.payouts.list(options=acting_as(acct)).data == []


def test_another_accounts_payout_is_missing(stripe_client: stripe.StripeClient, sessions: Any) -> None:
    mine, theirs = account(stripe_client), account(stripe_client)
    po = stripe_client.v1.payouts.create({"amount": 100, "currency": "usd"}, acting_as(theirs))
    error = refused(sessions(mine, {"payouts": ON}).get(f"/payouts/{po.id}"), 404, "invalid_request_error")
    assert error["code"] == "resource_missing"
    assert ok(sessions(mine, {"payouts": ON}).get("/payouts"))["data"] == []


def test_a_live_session_sees_no_test_data(
    server: RunningServer, stripe_client: stripe.StripeClient, sessions: Any
) -> None:
    test_account = account(stripe_client)
    po = ok(
        sessions(test_account, {"payouts": ON}).post("/payouts", {"amount": 100, "currency": "usd"}, key="t1")
    )
    with httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False) as live:
        live_account = ok(live.post("/v1/accounts", data={"type": "custom"}))["id"]
        made = ok(
            live.post(
                "/v1/account_sessions",
                data={"account": live_account, "components[payouts][enabled]": "true"},
            )
        )
    claim = httpx.post(
        server.url + "/embedded/v1/claim",
        json={"client_secret": made["client_secret"], "publishable_key": LIVE_PUBLISHABLE_KEY},
        trust_env=False,
    )
    token = ok(claim)["token"]
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, trust_env=False
    ) as ui:
        assert ok(ui.get("/embedded/v1/account"))["livemode"] is True
        error = refused(ui.get(f"/embedded/v1/payouts/{po['id']}"), 404, "invalid_request_error")
        assert error["code"] == "resource_missing"
        assert ok(ui.get("/embedded/v1/payouts"))["data"] == []
        entry = usd(ok(ui.get("/embedded/v1/balance")))
        assert (entry["available"], entry["pending"], entry["in_transit"]) == (0, 0, 0)


# ---- logging out -------------------------------------------------------------------------------


def test_logout_ends_the_session_at_once_and_no_other(
    stripe_client: stripe.StripeClient, sessions: Any
) -> None:
    mine = account(stripe_client)
    session, other = sessions(mine, {"payouts": ON}), sessions(mine, {"payouts": ON})
    assert ok(session.get("/balance"))
    ended = ok(session.post("/logout", {}))
    assert ended == {"object": "embedded_session", "logged_out": True, "tokens_ended": 1}
    # The token that logged out is refused from now on, with no code that would make connect.js claim
    # again; nothing it could do is left: a payout is refused, and so is a second logout.
    for refusal in (
        session.get("/balance"),
        session.post("/payouts", {"amount": 100, "currency": "usd"}, key="after-logout"),
        session.post("/logout", {}),
    ):
        error = refused(refusal, 401, "authentication_error")
        assert "code" not in error or error["code"] is None
    assert stripe_client.v1.payouts.list(options=acting_as(mine)).data == []
    # Another session of the same account goes on.
    assert ok(other.get("/balance"))


def test_a_logout_with_parameters_is_refused_and_ends_nothing(
    stripe_client: stripe.StripeClient, sessions: Any
) -> None:
    session = sessions(account(stripe_client), {"payouts": ON})
    for body in ({"everywhere": True}, {"session": "ekt_test_other"}, {"account": "acct_1"}):
        error = refused(session.post("/logout", body), 400, "invalid_request_error")
        assert error["param"] == next(iter(body)), error
    assert ok(session.get("/balance"))


def test_an_api_key_cannot_log_out(server: RunningServer) -> None:
    answer = httpx.post(server.url + "/embedded/v1/logout", json={}, trust_env=False,
                        headers={"Authorization": f"Bearer {SECRET_KEY}"})  # fmt: skip
    refused(answer, 401, "authentication_error")
