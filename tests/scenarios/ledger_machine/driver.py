"""The driver: the real server on a fresh database of its own (SQLite or PostgreSQL, `Backend`),
driven over raw HTTP with httpx as the platform or one of its connected accounts; the actions that
perform a step on the server and book it into the model, and what the invariants read back
(`observed`, `served`, `list_all`).
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx

from tests.conftest import CLOCK_START, SECRET_KEY
from tests.scenarios.ledger_machine.model import (
    BANKS,
    CONNECTED,
    INSTANT_DAILY_LIMIT,
    PLATFORM,
    Model,
    ModelBank,
    ModelCharge,
    ModelPayout,
    ModelTransfer,
    Pricing,
    Refusal,
)
from tests.support import databases
from tests.support.server import loopback_socket, serve_in_thread


def observed(balance: dict[str, Any]) -> dict[str, Any]:
    """A /v1/balance in the model's shape (usd only, zero source types dropped), checking its sums."""
    out: dict[str, Any] = {}
    for part in ("available", "pending"):
        entries = balance[part]
        assert {e["currency"] for e in entries} <= {"usd"}, entries
        by_type: dict[str, int] = {}
        for e in entries:
            assert e["amount"] == sum(e["source_types"].values()), e
            by_type.update({s: v for s, v in e["source_types"].items() if v})
        out[part] = by_type
    if "connect_reserved" in balance:
        out["connect_reserved"] = sum(e["amount"] for e in balance["connect_reserved"])
    if "instant_available" in balance:
        [instant] = balance["instant_available"]
        assert instant["currency"] == "usd", instant
        assert instant["source_types"] == {"card": instant["amount"]}, instant
        for net in instant["net_available"]:
            assert net["source_types"] == {"card": net["amount"]}, net
        out["instant_available"] = {
            "amount": instant["amount"],
            "net_available": {n["destination"]: n["amount"] for n in instant["net_available"]},
        }
    return out


class Backend:
    """Fresh databases for each example: set by the test before the machine runs."""

    name: ClassVar[str] = ""
    sqlite_template: ClassVar[Path | None] = None
    tmp_dir: ClassVar[Path | None] = None
    pg_cluster: ClassVar[Any] = None
    pg_template: ClassVar[str | None] = None
    counter: ClassVar[int] = 0

    @classmethod
    @contextlib.contextmanager
    def database(cls) -> Any:
        cls.counter += 1
        if cls.name == "sqlite":
            assert cls.sqlite_template is not None
            assert cls.tmp_dir is not None
            directory = cls.tmp_dir / f"example-{cls.counter}"
            directory.mkdir()
            yield databases.copy_sqlite_template(cls.sqlite_template, directory)
            return
        assert cls.pg_template is not None
        name = databases.create_pg_database(cls.pg_cluster, cls.pg_template)
        try:
            yield cls.pg_cluster.url(name)
        finally:
            cls.pg_cluster.drop_database(name)


class Driver:
    """The server, its HTTP client and the model, set up for one example; the state machine's base (it
    calls `RuleBasedStateMachine.__init__` through `super()`)."""

    def __init__(self) -> None:
        super().__init__()
        from payoutkit.api.app import create_app
        from payoutkit.config import Settings
        from payoutkit.store.engines import make_engine

        self.stack = contextlib.ExitStack()
        try:
            url = self.stack.enter_context(Backend.database())
            self.settings = Settings(
                database_url=url,
                secret_key=SECRET_KEY,
                simulated_clock=True,
                simulated_clock_start=CLOCK_START,
                worker=False,
                instant_daily_limits={"*": INSTANT_DAILY_LIMIT},
            )
            sock = self.stack.enter_context(loopback_socket())
            base = self.stack.enter_context(serve_in_thread(create_app(self.settings), sock))
            self.ledger = make_engine(url, pool_size=1)
            self.stack.callback(self.ledger.dispose)
            self.http = self.stack.enter_context(
                httpx.Client(base_url=base, auth=(SECRET_KEY, ""), trust_env=False, timeout=30)
            )
            self.ids: dict[str, str | None] = {PLATFORM: None}
            delay_days = {PLATFORM: self.get("/v1/account")["settings"]["payouts"]["schedule"]["delay_days"]}
            for kind in CONNECTED:
                account = self.post("/v1/accounts", {"type": kind, "country": "US"})
                self.ids[kind] = account["id"]
                delay_days[kind] = account["settings"]["payouts"]["schedule"]["delay_days"]
        except BaseException:
            self.stack.close()
            raise
        self.model = Model(now=CLOCK_START, liable={PLATFORM: False, **CONNECTED}, delay_days=delay_days)
        self.payouts_moved = False

    def teardown(self) -> None:
        self.stack.close()

    # -- HTTP ----------------------------------------------------------------------------------------

    def headers(self, account: str) -> dict[str, str]:
        acct = self.ids[account]
        return {"Stripe-Account": acct} if acct else {}

    def get(self, path: str, account: str = PLATFORM) -> dict[str, Any]:
        response = self.http.get(path, headers=self.headers(account))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def call(self, path: str, data: dict[str, Any], account: str = PLATFORM) -> httpx.Response:
        return self.http.post(path, data=data, headers=self.headers(account))

    def post(self, path: str, data: dict[str, Any], account: str = PLATFORM) -> dict[str, Any]:
        response = self.call(path, data, account)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def call_payouts(self, path: str, data: dict[str, Any], account: str) -> httpx.Response:
        self.payouts_moved = True
        return self.call(path, data, account)

    def refused(self, response: httpx.Response, refusal: Refusal | None) -> None:
        """A 400 with the (code, param) the model predicted."""
        assert refusal is not None
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error.get("code"), error.get("param")) == refusal, response.text

    def list_all(self, path: str, account: str, **params: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 100, **params}
        while True:
            response = self.http.get(path, params=query, headers=self.headers(account))
            assert response.status_code == 200, response.text
            page = response.json()
            out += page["data"]
            if not page["has_more"]:
                return out
            query["starting_after"] = page["data"][-1]["id"]

    def add_bank(self, account: str, name: str, default: bool) -> None:
        if name.startswith("btok_"):
            data: dict[str, Any] = {"external_account": name}
        else:
            data = {
                "external_account[object]": "bank_account",
                "external_account[account_number]": name,
                "external_account[routing_number]": "110000000",
                "external_account[country]": "US",
                "external_account[currency]": "usd",
            }
        if default:
            data["default_for_currency"] = "true"
        ba = self.post(f"/v1/accounts/{self.ids[account]}/external_accounts", data)
        failure, instant = BANKS[name]
        assert ("instant" in ba["available_payout_methods"]) == instant, ba
        bank = ModelBank(ba["id"], account, failure, instant)
        m = self.model
        m.banks.append(bank)
        if default or account not in m.defaults:
            m.defaults[account] = bank
        assert ba["default_for_currency"] == (m.defaults[account] is bank), ba

    def set_schedule(self, account: str, interval: str) -> None:
        data: dict[str, Any] = {
            "settings[payouts][schedule][interval]": interval,
            # See the module docstring and test_a_negative_balance_is_debited_once.
            "settings[payouts][debit_negative_balances]": "false",
        }
        updated = self.post(f"/v1/accounts/{self.ids[account]}", data)
        assert updated["settings"]["payouts"]["schedule"]["interval"] == interval
        self.model.schedules[account] = interval

    def set_pricing(self, pricing: Pricing | None) -> None:
        """The platform's instant payout pricing for usd (its application fee), or none."""
        if pricing is None:
            data: dict[str, Any] = {"currencies[usd]": ""}
        else:
            bps, minimum, maximum = pricing
            if maximum is not None:
                pricing = (bps, minimum, maximum := max(maximum, minimum))
            data = {"currencies[usd][percent]": str(bps / 100), "currencies[usd][minimum]": minimum}
            if maximum is not None:
                data["currencies[usd][maximum]"] = maximum
        body = self.post("/v1/payoutkit/instant_payout_pricing", data)
        if pricing is None:
            assert "usd" not in body["currencies"], body
        else:
            shown = body["currencies"]["usd"]
            assert shown == {
                "percent": str(Decimal(pricing[0]) / 100),
                "minimum": pricing[1],
                "maximum": pricing[2],
                "source": "api",
            }, shown
        self.model.pricing = pricing

    def opened(self, body: dict[str, Any], p: ModelPayout) -> None:
        """Check a payout the server just made against the model's, then book it."""
        assert (body["status"], body["amount"], body["method"], body["source_type"]) == (
            "pending",
            p.amount,
            p.method,
            p.source_type,
        ), body
        assert (body["created"], body["arrival_date"], body["destination"]) == (
            p.created,
            p.arrival,
            p.bank.id,
        ), body
        assert body["application_fee_amount"] == (p.application_fee or None), body
        self.model.open_payout(p)

    @staticmethod
    def view(p: ModelPayout) -> tuple[Any, ...]:
        return (
            p.status,
            p.amount,
            p.source_type,
            p.method,
            p.automatic,
            p.created,
            p.arrival,
            p.bank.id,
            p.failure_code,
            p.application_fee or None,
            p.reversed_by.id if p.reversed_by else None,
            p.original.id if p.original else None,
        )

    @staticmethod
    def served(po: dict[str, Any]) -> tuple[Any, ...]:
        return (
            po["status"],
            po["amount"],
            po["source_type"],
            po["method"],
            po["automatic"],
            po["created"],
            po["arrival_date"],
            po["destination"],
            po["failure_code"],
            po["application_fee_amount"],
            po["reversed_by"],
            po["original_payout"],
        )

    def identify_automatic_payouts(self) -> None:
        """Give the automatic payouts the model predicted the ids of those the server made, and check
        what each swept: every available transaction of its balance not swept yet, its own included,
        which together net to zero (nothing once it failed)."""
        m = self.model
        known = {p.id for p in m.payouts if p.id is not None}
        for account in CONNECTED:
            predicted = [p for p in m.payouts if p.account == account and p.id is None]
            if not predicted:
                continue
            made = [po for po in self.list_all("/v1/payouts", account) if po["id"] not in known]
            assert sorted(
                (po["created"], po["source_type"], po["amount"], po["automatic"]) for po in made
            ) == sorted((p.created, p.source_type, p.amount, True) for p in predicted), account
            ids = {(po["created"], po["source_type"]): po["id"] for po in made}
            for p in predicted:
                p.id = ids[(p.created, p.source_type)]
                swept = self.list_all("/v1/balance_transactions", account, payout=p.id)
                if p.status == "failed":  # what it swept was freed, to be swept again
                    assert swept == [], swept
                    continue
                assert {t["source"] for t in swept if t["type"] == "payout"} >= {p.id}, swept
                assert sum(t["net"] for t in swept) == 0, swept

    def check_parts(self, t: ModelTransfer | None, c: ModelCharge | None) -> None:
        """The server's transfer reversals and application fee refunds are the model's; once the
        refunds that asked for them reach the charge's amount, they are the whole."""
        if t is not None:
            served = self.get(f"/v1/transfers/{t.id}")
            assert served["amount_reversed"] == t.reversed, (served, t)
        if c is None:
            return
        if t is not None and c.reversal_basis == c.amount:
            assert t.reversed == t.amount, (c, t)
        if c.application_fee and c.fee_basis == c.amount:
            assert c.fee_refunded == c.application_fee, c
        if c.application_fee and c.owner == PLATFORM:  # a destination charge's fee, the platform's
            fee = self.http.get(f"/v1/charges/{c.id}", params={"expand[]": "application_fee"}).json()
            assert fee["application_fee"]["amount_refunded"] == c.fee_refunded, (fee, c)
