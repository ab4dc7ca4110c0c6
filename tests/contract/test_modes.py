"""Test and live data are separate worlds (issue 7, items 7, 9 and 10, and the class test).

A live world cannot be made through the API: live mode refuses every test token and test number
(item 10), and Payoutkit has no live card network. So `two_worlds` builds one world through the API
with the test key, stops the server, relabels every row of it live (the `livemode` columns and the
documents' `livemode` fields: the bytes the code wrote, only the mode changed), starts the server
again on the same database and builds a second, test world beside it. Then each key attacks the
other mode's objects on every route the router serves, and the database must not change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import LIVE_PUBLISHABLE_KEY, LIVE_SECRET_KEY, PUBLISHABLE_KEY, SECRET_KEY
from tests.contract.helpers import error_of
from tests.support.ledger import assert_ledger_ok
from tests.support.server import loopback_socket, serve_in_thread

if TYPE_CHECKING:
    from payoutkit.config import Settings

KEYS = {False: SECRET_KEY, True: LIVE_SECRET_KEY}
USD_BANK = {  # a real (not a test) bank account number: what live mode takes
    "external_account[object]": "bank_account",
    "external_account[country]": "US",
    "external_account[currency]": "usd",
    "external_account[routing_number]": "021000021",
    "external_account[account_number]": "000987654321",
}


# -- servers, clients and the database -------------------------------------------------------------


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[str]:
    from payoutkit.api.app import create_app

    with (
        loopback_socket(settings.host) as sock,
        serve_in_thread(create_app(replace(settings, port=sock.getsockname()[1])), sock) as url,
    ):
        yield url


def client(url: str, livemode: bool, account: str | None = None) -> httpx.Client:
    headers = {"Stripe-Account": account} if account else {}
    return httpx.Client(base_url=url, auth=(KEYS[livemode], ""), headers=headers, trust_env=False)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.contextmanager
def connection(database_url: str) -> Iterator[Any]:
    from payoutkit.store.engines import make_engine

    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def dump(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order."""
    from payoutkit.store.schema import metadata

    with connection(database_url) as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in metadata.sorted_tables
        }


def relabel_live(database_url: str) -> None:
    """Make every object of test mode a live one (keys and the platform's own row stay as they are)."""
    from payoutkit.store.schema import accounts, api_keys, events, metadata, resources

    with connection(database_url) as conn:
        for table in metadata.sorted_tables:
            if "livemode" not in table.c or table is api_keys:
                continue
            scope = [accounts.c.kind == "connected"] if table is accounts else []
            # A fresh database's only live rows (the platform's live payout run) make way.
            conn.execute(table.delete().where(table.c.livemode.is_(True), *scope))
            conn.execute(table.update().where(table.c.livemode.is_(False), *scope).values(livemode=True))
        for row in conn.execute(select(resources.c.id, resources.c.data)).all():
            conn.execute(
                update(resources).where(resources.c.id == row.id).values(data={**row.data, "livemode": True})
            )
        for row in conn.execute(select(events.c.id, events.c.data)).all():
            data = dict(row.data)
            data["livemode"] = True
            obj = data["data"]["object"]
            if "livemode" in obj:
                data["data"] = {**data["data"], "object": {**obj, "livemode": True}}
            conn.execute(update(events).where(events.c.id == row.id).values(data=data))


@dataclass(frozen=True)
class Target:
    """An object of one mode, as the other mode's key would name it."""

    id: str
    parent: str | None  # what a nested route names before it (account of an external account, …)
    owner: str

    @property
    def prefix(self) -> str:
        return self.id.rsplit("_", 1)[0]


def objects_of(database_url: str, livemode: bool) -> list[Target]:
    from payoutkit.store.schema import accounts, balance_transactions, events, resources

    with connection(database_url) as conn:
        found = [
            Target(r.id, r.parent_id, r.account_id)
            for r in conn.execute(
                select(resources.c.id, resources.c.parent_id, resources.c.account_id).where(
                    resources.c.livemode == livemode
                )
            )
        ]
        found += [
            Target(r.id, None, r.account_id)
            for r in conn.execute(
                select(balance_transactions.c.id, balance_transactions.c.account_id).where(
                    balance_transactions.c.livemode == livemode
                )
            )
        ]
        found += [
            Target(r.id, None, r.id)
            for r in conn.execute(
                select(accounts.c.id).where(accounts.c.livemode == livemode, accounts.c.kind == "connected")
            )
        ]
        found += [
            Target(r.id, None, r.account_id or r.platform_id)
            for r in conn.execute(
                select(events.c.id, events.c.account_id, events.c.platform_id).where(
                    events.c.livemode == livemode
                )
            )
        ]
    return found


def build_world(url: str) -> None:
    """One of everything the API serves, made with the test key."""
    with client(url, False) as http:
        platform = ok(http.get("/v1/account"))["id"]
        ea = f"/v1/accounts/{platform}/external_accounts"
        ok(http.post(ea, data={"external_account": "btok_us_verified"}))
        ok(http.post(ea, data={"external_account": "tok_visa_debit"}))
        account = ok(
            http.post(
                "/v1/accounts", data={"type": "custom", "settings[payouts][schedule][interval]": "manual"}
            )
        )["id"]
        for token in ("btok_us_verified", "tok_visa_debit"):
            ok(http.post(f"/v1/accounts/{account}/external_accounts", data={"external_account": token}))
        ok(http.post("/v1/charges", data={"amount": 20000, "currency": "usd", "source": "tok_bypassPending"}))
        charge = ok(http.post("/v1/charges", data={"amount": 5000, "currency": "usd", "source": "tok_visa"}))
        ok(http.post("/v1/refunds", data={"charge": charge["id"], "amount": 1000}))
        ok(http.post("/v1/charges", data={"amount": 3000, "currency": "usd", "source": "tok_createDispute"}))
        ok(
            http.post(
                "/v1/charges",
                data={
                    "amount": 10000,
                    "currency": "usd",
                    "source": "tok_bypassPending",
                    "transfer_data[destination]": account,
                    "application_fee_amount": 500,
                },
            )
        )
        transfer = ok(
            http.post("/v1/transfers", data={"amount": 2000, "currency": "usd", "destination": account})
        )
        ok(http.post(f"/v1/transfers/{transfer['id']}/reversals", data={"amount": 500}))
        ok(http.post("/v1/topups", data={"amount": 5000, "currency": "usd"}))
        ok(http.post("/v1/payouts", data={"amount": 1000, "currency": "usd"}))
        ok(http.post("/v1/webhook_endpoints", data={"url": "https://example.com/h", "enabled_events[]": "*"}))
    with client(url, False, account) as connected:
        ok(
            connected.post(
                "/v1/charges",
                data={
                    "amount": 4000,
                    "currency": "usd",
                    "source": "tok_bypassPending",
                    "application_fee_amount": 100,
                },
            )
        )
        ok(connected.post("/v1/payouts", data={"amount": 1000, "currency": "usd"}))


@contextlib.contextmanager
def two_worlds(settings: Settings) -> Iterator[str]:
    """A live world (built in test mode, then relabeled) and a test world; yields the server's URL."""
    with serving(settings) as url:
        build_world(url)
    relabel_live(settings.database_url)
    with serving(settings) as url:
        build_world(url)
        assert_ledger_ok(settings.database_url)
        yield url


def settle_own(url: str, livemode: bool, database_url: str) -> None:
    """Read every balance of a mode, so that its lazily settled funds settle before the dump."""
    accounts = {t.owner for t in objects_of(database_url, livemode) if t.prefix == "acct"}
    for account in (None, *sorted(accounts)):
        with client(url, livemode, account) as http:
            ok(http.get("/v1/balance"))
            ok(http.get("/v1/balance_transactions", params={"limit": 100}))


# -- item 7: balance transactions ----------------------------------------------------------------


@pytest.mark.parametrize("livemode", [False, True], ids=["test-reads-live", "live-reads-test"])
def test_a_key_never_reads_a_balance_transaction_of_the_other_mode(
    server_settings: Settings, livemode: bool
) -> None:
    with two_worlds(server_settings) as url:
        other = [t for t in objects_of(server_settings.database_url, not livemode) if t.prefix == "txn"]
        with client(url, livemode) as http:
            platform = ok(http.get("/v1/account"))["id"]
            # The platform's own transactions of the other mode, and its connected accounts'.
            assert {t.owner == platform for t in other} == {True, False}
            settle_own(url, livemode, server_settings.database_url)
            before = dump(server_settings.database_url)
            for t in other:
                for path in ("/v1/balance_transactions/", "/v1/balance/history/"):
                    error = error_of(http.get(path + t.id), 404)
                    assert (error["code"], error["param"]) == ("resource_missing", "id")
                    assert error["message"] == f"No such balance transaction: '{t.id}'"
        assert dump(server_settings.database_url) == before


# -- item 9: external accounts and their events --------------------------------------------------


@pytest.mark.parametrize("livemode", [False, True], ids=["test-on-live", "live-on-test"])
def test_the_platforms_external_accounts_of_the_other_mode_are_out_of_reach(
    server_settings: Settings, livemode: bool
) -> None:
    with two_worlds(server_settings) as url, client(url, livemode) as http:
        platform = ok(http.get("/v1/account"))["id"]
        other = [
            t
            for t in objects_of(server_settings.database_url, not livemode)
            if t.prefix in ("ba", "card") and t.owner == platform
        ]
        assert len(other) == 2
        with client(url, not livemode) as owner:
            theirs = ok(owner.get(f"/v1/accounts/{platform}/external_accounts"))
        assert {e["id"] for e in theirs["data"]} == {t.id for t in other}
        settle_own(url, livemode, server_settings.database_url)
        before = dump(server_settings.database_url)
        for t in other:
            path = f"/v1/accounts/{platform}/external_accounts/{t.id}"
            for response in (
                http.get(path),
                http.post(path, data={"metadata[x]": "y", "default_for_currency": "true"}),
                http.delete(path),
            ):
                error = error_of(response, 404)
                assert error["code"] == "resource_missing"
                assert error["message"] == f"No such external account: '{t.id}'"
        mine = ok(http.get(f"/v1/accounts/{platform}/external_accounts"))["data"]
        assert not {e["id"] for e in mine} & {t.id for t in other}
        # No event about the other mode's external accounts in this mode, and nothing changed.
        events = ok(http.get("/v1/events", params={"limit": 100}))["data"]
        assert not [e for e in events if e["data"]["object"].get("id") in {t.id for t in other}]
        assert dump(server_settings.database_url) == before
        with client(url, not livemode) as owner:
            assert ok(owner.get(f"/v1/accounts/{platform}/external_accounts")) == theirs


# -- item 10: live mode takes no test inputs -----------------------------------------------------


def _test_id_refused(response: httpx.Response, value: str, param: str) -> None:
    error = error_of(response, 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"] == (
        f"You cannot use the test ID '{value}' in livemode. If you are testing your integration, please "
        "use your testmode API keys instead."
    )


def test_live_mode_refuses_test_tokens_test_bank_numbers_and_test_cards(server_settings: Settings) -> None:
    from payoutkit.services.test_destinations import BANK_OUTCOMES, BANK_TOKENS, CARD_NUMBERS, CARD_TOKENS
    from payoutkit.services.test_tokens import TEST_SOURCES
    from payoutkit.services.topups import TOPUP_SOURCES

    with serving(server_settings) as url, client(url, True) as live:
        platform = ok(live.get("/v1/account"))["id"]
        account = ok(live.post("/v1/accounts", data={"type": "custom"}))["id"]
        before = dump(server_settings.database_url)
        for token in TEST_SOURCES:
            currency = TEST_SOURCES[token].currency or "usd"
            response = live.post("/v1/charges", data={"amount": 1000, "currency": currency, "source": token})
            _test_id_refused(response, token, "source")
        for token in TOPUP_SOURCES:
            response = live.post("/v1/topups", data={"amount": 1000, "currency": "usd", "source": token})
            _test_id_refused(response, token, "source")
        # A live top-up's default source would be a test token.
        error = error_of(live.post("/v1/topups", data={"amount": 1000, "currency": "usd"}), 400)
        assert error["param"] == "source"
        for owner in (platform, account):
            ea = f"/v1/accounts/{owner}/external_accounts"
            for token in (*BANK_TOKENS, *CARD_TOKENS):
                _test_id_refused(live.post(ea, data={"external_account": token}), token, "external_account")
            for number in BANK_OUTCOMES:
                bank = {**USD_BANK, "external_account[account_number]": number}
                error = error_of(live.post(ea, data=bank), 400)
                assert (error["param"], error["code"]) == (
                    "external_account[account_number]",
                    "account_number_invalid",
                )
            bank = {**USD_BANK, "external_account[routing_number]": "110000000"}
            error = error_of(live.post(ea, data=bank), 400)
            assert (error["param"], error["code"]) == (
                "external_account[routing_number]",
                "routing_number_invalid",
            )
            for number in (*CARD_NUMBERS, "4242424242424242"):
                card = {
                    "external_account[object]": "card",
                    "external_account[number]": number,
                    "external_account[exp_month]": "12",
                    "external_account[exp_year]": "2030",
                }
                error = error_of(live.post(ea, data=card), 402)
                assert error == {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "live_mode_test_card",
                    "doc_url": "https://docs.stripe.com/error-codes#card-declined",
                    "message": "Your card was declined. Your request was in live mode, but used a known "
                    "test card.",
                    "param": "external_account[number]",
                }
        # Nothing of it was kept: no charge, top-up, external account, balance or event.
        assert dump(server_settings.database_url) == before
        # A real bank account number is what live mode takes.
        created = ok(live.post(f"/v1/accounts/{account}/external_accounts", data=USD_BANK))
        assert created["last4"] == "4321"
        # The same inputs still work in test mode.
        with client(url, False) as test:
            ok(test.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"}))
            ea = f"/v1/accounts/{platform}/external_accounts"
            ok(test.post(ea, data={"external_account": "btok_us_verified"}))


# -- the class test: every route, every object of the other mode ---------------------------------

PARAM = re.compile(r"{(\w+)}")
EA_ROUTE = "/v1/accounts/{account}/external_accounts"
# Routes that name no object (what they act on is the key's own account, in the key's mode).
NO_OBJECT = {
    ("GET", "/v1/balance"),
    ("GET", "/v1/account"),
    ("POST", "/v1/accounts"),
    ("POST", "/v1/topups"),
    ("POST", "/v1/webhook_endpoints"),
    ("GET", "/v1/payoutkit/instant_payout_pricing"),
    ("POST", "/v1/payoutkit/instant_payout_pricing"),
    ("GET", "/v1/test_helpers/clock"),
    ("POST", "/v1/test_helpers/clock/advance"),
}
# Creations that name other objects in their body: a body valid but for that, and {param: prefixes}.
BODY_IDS: dict[tuple[str, str], tuple[dict[str, str], dict[str, tuple[str, ...]]]] = {
    ("POST", "/v1/charges"): (
        {"amount": "1000", "currency": "usd", "source": "tok_visa"},
        {"transfer_data[destination]": ("acct",), "on_behalf_of": ("acct",)},
    ),
    ("POST", "/v1/refunds"): ({}, {"charge": ("ch", "py")}),
    ("POST", "/v1/transfers"): ({"amount": "100", "currency": "usd"}, {"destination": ("acct",)}),
    ("POST", "/v1/payouts"): ({"amount": "100", "currency": "usd"}, {"destination": ("ba", "card")}),
    ("POST", "/v1/account_sessions"): ({"components[balances][enabled]": "true"}, {"account": ("acct",)}),
}
# Valid bodies for the other creations (for the Stripe-Account check: parameters are checked first).
BODIES = {
    "/v1/accounts": {"type": "custom"},
    "/v1/topups": {"amount": "100", "currency": "usd"},
    "/v1/webhook_endpoints": {"url": "https://example.com/h", "enabled_events[]": "*"},
    "/v1/payoutkit/instant_payout_pricing": {"currencies[usd][percent]": "1"},
    "/v1/test_helpers/clock/advance": {"seconds": "60"},
}
# List filters that name other objects.
LIST_FILTERS = {
    "/v1/balance_transactions": ("payout", "source"),
    "/v1/balance/history": ("payout", "source"),
    "/v1/refunds": ("charge",),
    "/v1/transfers": ("destination",),
    "/v1/payouts": ("destination",),
}
# Every kind of object the worlds hold that some route names.
KINDS = {"acct", "ba", "card", "ch", "py", "re", "dp", "tr", "trr", "tu", "po", "we", "evt", "txn"}


def served() -> list[tuple[str, str]]:
    from payoutkit.api.routes import routes, unserved

    # The operations Payoutkit does not serve (`/v1/charges/search`) name no object: always 404.
    return sorted(
        (m, r.path) for r in routes if r.endpoint is not unserved for m in (r.methods or ()) if m != "HEAD"
    )


def _body(method: str, path: str, livemode: bool) -> dict[str, str]:
    if method != "POST" or path.endswith(("/cancel", "/reverse")):
        return {}
    if path == EA_ROUTE:
        return USD_BANK if livemode else {"external_account": "btok_us_verified"}
    if path.endswith("/reversals"):
        return {"amount": "1"}
    return {"metadata[probe]": "x"}


def _path_values(names: list[str], target: Target, by_id: dict[str, Target]) -> dict[str, str] | None:
    """The target in the last path parameter, its parents (account, transfer, …) in the ones before."""
    ids, current = [target.id], target
    while len(ids) < len(names) and current.parent is not None:
        ids.append(current.parent)
        current = by_id.get(current.parent, Target(current.parent, None, current.parent))
    return dict(zip(reversed(names), ids, strict=True)) if len(ids) == len(names) else None


def _verdict(response: httpx.Response) -> str:
    """`missing` (Stripe's 404), `shape` (an id of a kind this route does not take: 400), or `LEAK …`."""
    body = response.json()
    error = body.get("error", {})
    if response.status_code == 404 and error.get("code") == "resource_missing":
        assert error["type"] == "invalid_request_error"
        assert error["message"].startswith("No such ")
        return "missing"
    if response.status_code == 400 and error.get("message", "").startswith("Invalid "):
        return "shape"
    return f"LEAK {response.status_code} {response.text[:300]}"


def _attack(url: str, livemode: bool, targets: list[Target], own_account: str) -> list[str]:
    """Every route, with every object of the other mode; returns what was not refused."""
    by_id = {t.id: t for t in targets}
    leaks: list[str] = []
    missing: dict[tuple[str, str], list[Target]] = {}
    with client(url, livemode) as http:
        for method, path in served():
            names = PARAM.findall(path)
            if names:
                for t in targets:
                    values = _path_values(names, t, by_id)
                    if values is None:
                        continue
                    response = http.request(
                        method, path.format(**values), data=_body(method, path, livemode) or None
                    )
                    verdict = _verdict(response)
                    if verdict == "missing":
                        missing.setdefault((method, path), []).append(t)
                    elif verdict != "shape":
                        leaks.append(f"{method} {path} {t.id}: {verdict}")
            elif (method, path) in BODY_IDS:
                base, params = BODY_IDS[method, path]
                for param, prefixes in params.items():
                    for t in (t for t in targets if t.prefix in prefixes):
                        verdict = _verdict(http.post(path, data={**base, param: t.id}))
                        if verdict == "missing":
                            missing.setdefault((method, path), []).append(t)
                        else:
                            leaks.append(f"{method} {path} {param}={t.id}: {verdict}")
            elif method == "GET" and (method, path) not in NO_OBJECT:
                listed = http.get(path).json()
                assert listed.get("object") == "list", f"GET {path}: add it to NO_OBJECT or LIST_FILTERS"
                for t in targets:
                    verdict = _verdict(http.get(path, params={"starting_after": t.id}))
                    if verdict == "missing":
                        missing.setdefault((method, path), []).append(t)
                    else:
                        leaks.append(f"GET {path}?starting_after={t.id}: {verdict}")
                    for param in LIST_FILTERS.get(path, ()):
                        response = http.get(path, params={param: t.id})
                        if response.status_code == 200 and response.json()["data"] != []:
                            leaks.append(f"GET {path}?{param}={t.id}: {response.text[:300]}")
                        elif response.status_code != 200 and _verdict(response) not in ("missing", "shape"):
                            leaks.append(f"GET {path}?{param}={t.id}: {_verdict(response)}")
            else:
                assert (method, path) in NO_OBJECT, f"{method} {path}: say which objects it names"
    # Every route that names an object refused one of the other mode for not existing, and every
    # kind of object was tried where it fits.
    named = [(m, p) for m, p in served() if (m, p) not in NO_OBJECT]
    assert sorted(set(named) - set(missing)) == []
    assert {t.prefix for found in missing.values() for t in found} >= KINDS
    # The same, acting as one of this mode's connected accounts: refused, 404 or (where only the
    # platform may act) 400 or 403, and nothing of the object shown.
    with client(url, livemode, own_account) as http:
        for (method, path), found in sorted(missing.items()):
            for t in {t.prefix: t for t in found}.values():
                names = PARAM.findall(path)
                if names:
                    values = _path_values(names, t, by_id)
                    assert values is not None
                    response = http.request(
                        method, path.format(**values), data=_body(method, path, livemode) or None
                    )
                elif (method, path) in BODY_IDS:
                    base, params = BODY_IDS[method, path]
                    param = next(p for p, prefixes in params.items() if t.prefix in prefixes)
                    response = http.post(path, data={**base, param: t.id})
                else:
                    response = http.get(path, params={"starting_after": t.id})
                if response.status_code not in (400, 403, 404) or f'"id":"{t.id}"' in response.text:
                    leaks.append(f"as {own_account}: {method} {path} {t.id}: {response.text[:300]}")
    return leaks


@pytest.mark.parametrize("livemode", [False, True], ids=["test-key-on-live", "live-key-on-test"])
def test_every_route_refuses_every_object_of_the_other_mode_and_changes_nothing(
    server_settings: Settings, livemode: bool
) -> None:
    database_url = server_settings.database_url
    with two_worlds(server_settings) as url:
        targets = objects_of(database_url, not livemode)
        own = next(t.id for t in objects_of(database_url, livemode) if t.prefix == "acct")
        settle_own(url, livemode, database_url)
        before = dump(database_url)
        leaks = _attack(url, livemode, targets, own)
        assert leaks == [], "\n".join(leaks)
        # Stripe-Account naming a connected account of the other mode: refused on every route, as
        # Stripe does (an invalid request naming the account's mode).
        other_account = next(t.id for t in targets if t.prefix == "acct")
        with client(url, livemode, other_account) as http:
            for method, path in served():
                values = dict.fromkeys(PARAM.findall(path), other_account)
                body = _body(method, path, livemode)
                if (method, path) in BODY_IDS:
                    base, params = BODY_IDS[method, path]
                    body = {**base, **dict.fromkeys(params, other_account)}
                elif method == "POST" and not values:
                    body = BODIES[path]
                response = http.request(method, path.format(**values), data=body or None)
                error = error_of(response, 404)
                assert error["type"] == "invalid_request_error"
                assert error["code"] == "resource_missing"
                mode = "livemode" if not livemode else "testmode"
                assert error["message"] == (
                    f"The account {other_account} was a {mode[:-4]} account created with a {mode} key, "
                    f"and therefore can only be used with {mode} keys"
                ), (method, path)
        assert dump(database_url) == before
        assert_ledger_ok(database_url)


@pytest.mark.parametrize("livemode", [False, True], ids=["test-key", "live-key"])
def test_expand_never_reaches_an_object_of_the_other_mode(server_settings: Settings, livemode: bool) -> None:
    from payoutkit.api import expand
    from payoutkit.services.actor import Actor
    from payoutkit.store.schema import balance_transactions, resources

    database_url = server_settings.database_url
    with two_worlds(server_settings) as url, client(url, livemode) as http:
        platform = ok(http.get("/v1/account"))["id"]
        targets = objects_of(database_url, not livemode)
        # Every loader, asked directly for every object of the other mode, by the platform.
        with connection(database_url) as conn:
            ctx = Actor(
                account_id=platform,
                platform_id=platform,
                livemode=livemode,
                now=2**40,
                request_id="req_expand",
            )
            loaded = {t.id: expand.load(conn, ctx, t.id) for t in targets}
        assert {k: v for k, v in loaded.items() if v is not None} == {}
        # Through the API: this mode's objects made to point at the other mode's (which the API itself
        # never writes), then expanded.
        theirs = {t.prefix: t.id for t in targets if t.owner == platform or t.prefix == "acct"}
        forged = {
            ("/v1/charges/", "charge", "balance_transaction"): theirs["txn"],
            ("/v1/payouts/", "payout", "destination"): theirs["ba"],
            ("/v1/payouts/", "payout", "balance_transaction"): theirs["txn"],
            ("/v1/transfers/", "transfer", "destination"): theirs["acct"],
            ("/v1/refunds/", "refund", "charge"): theirs["ch"],
            ("/v1/topups/", "topup", "balance_transaction"): theirs["txn"],
        }
        with connection(database_url) as conn:
            mine = {}
            for (route, kind, field), their_id in forged.items():
                row = conn.execute(
                    select(resources.c.id, resources.c.data).where(
                        resources.c.object == kind,
                        resources.c.livemode == livemode,
                        resources.c.account_id == platform,
                    )
                ).first()
                assert row is not None, kind
                data = {**row.data, field: their_id}
                conn.execute(update(resources).where(resources.c.id == row.id).values(data=data))
                mine[route, kind, field] = row.id
            txn = conn.execute(
                select(balance_transactions.c.id)
                .where(
                    balance_transactions.c.livemode == livemode,
                    balance_transactions.c.account_id == platform,
                    balance_transactions.c.type == "charge",
                )
                .limit(1)
            ).scalar()
            assert txn is not None
            conn.execute(
                update(balance_transactions)
                .where(balance_transactions.c.id == txn)
                .values(source=theirs["ch"])
            )
        forged["/v1/balance_transactions/", "balance_transaction", "source"] = theirs["ch"]
        mine["/v1/balance_transactions/", "balance_transaction", "source"] = txn
        for (route, kind, field), their_id in forged.items():
            response = http.get(route + mine[route, kind, field], params={"expand[]": field})
            assert f'"id":"{their_id}"' not in response.text, (route, field, response.text)
            # Out of reach, the id stays an id (the request is not failed by one unreachable link).
            assert response.status_code == 200, response.text
            assert response.json()[field] == their_id, (route, field, response.text)


# -- the embedded API: an account session of one mode, every object of the other -------------------

# Embedded routes that name no object (the session's account is what they act on).
EMBEDDED_NO_OBJECT = {
    ("GET", "/embedded/v1/account"),
    ("GET", "/embedded/v1/balance"),
    ("POST", "/embedded/v1/payout_schedule"),
    ("POST", "/embedded/v1/logout"),
}
# Embedded creations that name an object in their body: a body valid but for it, and the param.
EMBEDDED_BODY_IDS = {
    ("POST", "/embedded/v1/payouts"): {"amount": 100, "currency": "usd"},
    ("POST", "/embedded/v1/payouts/preview"): {"amount": 100, "currency": "usd"},
}
EMBEDDED_LISTS = {("GET", "/embedded/v1/payouts")}
PUBLISHABLE = {False: PUBLISHABLE_KEY, True: LIVE_PUBLISHABLE_KEY}


def embedded_served() -> list[tuple[str, str]]:
    from payoutkit.api.embedded.routes import routes

    return sorted(
        (m, r.path)  # type: ignore[attr-defined]
        for r in routes
        for m in (r.methods or ())  # type: ignore[attr-defined]
        if m != "HEAD" and not r.path.endswith("/claim")  # type: ignore[attr-defined]
    )


def embedded_session(url: str, livemode: bool, account: str) -> httpx.Client:
    """A claimed session of `account` in `livemode`, every served component and feature on."""
    data = {"account": account}
    for component in ("balances", "payouts"):
        data[f"components[{component}][enabled]"] = "true"
        for feature in ("instant_payouts", "standard_payouts", "edit_payout_schedule"):
            data[f"components[{component}][features][{feature}]"] = "true"
    for component in ("payouts_list", "payout_details"):
        data[f"components[{component}][enabled]"] = "true"
    with client(url, livemode) as http:
        secret = ok(http.post("/v1/account_sessions", data=data))["client_secret"]
    claim = {"client_secret": secret, "publishable_key": PUBLISHABLE[livemode]}
    token = ok(httpx.post(url + "/embedded/v1/claim", json=claim, trust_env=False))["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, trust_env=False)


def _embedded_attack(http: httpx.Client, targets: list[Target]) -> tuple[list[str], set[tuple[str, str]]]:
    """Every embedded route with every object of the other mode: what was not refused, and which
    routes refused one for not existing."""
    leaks: list[str] = []
    missing: set[tuple[str, str]] = set()
    for i, (method, path) in enumerate(embedded_served()):
        attempts: list[tuple[str, httpx.Response]] = []
        if PARAM.findall(path):
            attempts = [(t.id, http.request(method, PARAM.sub(t.id, path))) for t in targets]
        elif (method, path) in EMBEDDED_BODY_IDS:
            base = EMBEDDED_BODY_IDS[method, path]
            attempts = [
                (
                    t.id,
                    http.post(
                        path, json={**base, "destination": t.id}, headers={"Idempotency-Key": f"k{i}-{t.id}"}
                    ),
                )
                for t in targets
                if t.prefix in ("ba", "card")
            ]
        elif (method, path) in EMBEDDED_LISTS:
            attempts = [(t.id, http.get(path, params={"starting_after": t.id})) for t in targets]
        else:
            assert (method, path) in EMBEDDED_NO_OBJECT, f"{method} {path}: say which objects it names"
        for target, response in attempts:
            verdict = _verdict(response)
            if verdict == "missing":
                missing.add((method, path))
            elif verdict != "shape":
                leaks.append(f"{method} {path} {target}: {verdict}")
    return leaks, missing


@pytest.mark.parametrize("livemode", [False, True], ids=["test-session-on-live", "live-session-on-test"])
def test_every_embedded_route_refuses_every_object_of_the_other_mode(
    server_settings: Settings, livemode: bool
) -> None:
    database_url = server_settings.database_url
    with two_worlds(server_settings) as url:
        targets = objects_of(database_url, not livemode)
        own = next(t.id for t in objects_of(database_url, livemode) if t.prefix == "acct")
        settle_own(url, livemode, database_url)
        with embedded_session(url, livemode, own) as http:
            before = dump(database_url)
            leaks, missing = _embedded_attack(http, targets)
            assert leaks == [], "\n".join(leaks)
            # Every route that names an object refused one of the other mode for not existing.
            named = {r for r in embedded_served() if r not in EMBEDDED_NO_OBJECT}
            assert named - missing == set()
            # What the session's account reads holds nothing of the other mode.
            for path in ("/embedded/v1/payouts", "/embedded/v1/balance", "/embedded/v1/account"):
                text = ok(http.get(path))
                assert not any(f'"{t.id}"' in str(text).replace("'", '"') for t in targets), path
        after = dump(database_url)
        # Refusals under an Idempotency-Key keep their response there, by design; nothing else moved.
        assert {k: v for k, v in after.items() if k != "idempotency_keys"} == {
            k: v for k, v in before.items() if k != "idempotency_keys"
        }
        assert_ledger_ok(database_url)
