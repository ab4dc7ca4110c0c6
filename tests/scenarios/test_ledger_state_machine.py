"""A stateful model of the whole money flow, checked against the real server after every step.

Hypothesis drives random charges (card pending, `tok_bypassPending`, ACH `btok_us_verified`, the
dispute token `tok_createDispute`; direct charges on connected accounts with application fees and
destination charges with application fees), refunds (partial and full, reversing the transfer of a
destination charge and refunding its application fee or not), transfers (refused exactly when the
platform's available funds of that source type do not cover them), transfer reversals (refused exactly
when more than what is left), top-ups and clock advances, on one platform with three connected
accounts: custom and express (the platform is liable for their negative balances) and standard (it is
not).

`Model` is a pure-Python ledger: per account and source type, the available amount and the pending
funds with their `available_on`; fees and settlement dates come from the documented rules (card
2.9 % + 30 rounded half up, ACH 0.8 % capped at 5.00, `calendar.available_on`). After every step the
server's `/v1/balance` of every account must equal the model (per source type, and the platform's
`connect_reserved` = the sum of the liable accounts' negative available balances), and
`check_ledger` must find nothing.

Each Hypothesis example gets its own freshly migrated database and its own server (function-scoped
fixtures would be shared by all examples), driven over raw HTTP with httpx.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import CLOCK_START, SECRET_KEY
from tests.support import databases
from tests.support.server import loopback_socket, serve_in_thread

CARD, BANK = "card", "bank_account"
DISPUTE_FEE = 1_500
TOKENS = {  # token → (source type, pending until settled, disputed at once)
    "tok_visa": (CARD, True, False),
    "tok_bypassPending": (CARD, False, False),
    "btok_us_verified": (BANK, True, False),
    "tok_createDispute": (CARD, True, True),
}
CONNECTED = {"custom": True, "express": True, "standard": False}  # type → platform liable
PLATFORM = "platform"
# Swarm testing: each example enables a random subset of these rules (charges and clock advances are
# always on), so that some examples are long runs of a few operations, where the rarer interleavings
# (a liable account with nothing else going on, say) are far likelier than in a uniform mix.
OPTIONAL_RULES = ("destination_charge", "refund", "transfer", "reverse_transfer", "top_up")
ADVANCES = [3_600, 86_400 - 1, 86_400, 2 * 86_400, 3 * 86_400, 4 * 86_400, 7 * 86_400]


def processing_fee(source_type: str, amount: int) -> int:
    if source_type == CARD:
        return (amount * 290 + 5_000) // 10_000 + 30
    return min(500, (amount * 80 + 5_000) // 10_000)


@dataclass
class ModelCharge:
    id: str
    owner: str  # model account name
    amount: int
    source_type: str
    disputed: bool
    refunded: int = 0
    transfer: ModelTransfer | None = None
    application_fee: int = 0
    fee_refunded: int = 0


@dataclass
class ModelTransfer:
    id: str
    destination: str
    amount: int
    source_type: str
    reversed: int = 0


@dataclass
class Model:
    """What every account should hold, by source type; settlement is applied at each clock advance."""

    now: int
    liable: dict[str, bool]
    delay_days: dict[str, int]
    available: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    pending: list[tuple[str, str, int, int]] = field(default_factory=list)  # account, st, available_on, net
    reserves: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def credit(self, account: str, source_type: str, net: int, available_on: int) -> None:
        if available_on > self.now:
            self.pending.append((account, source_type, available_on, net))
        else:
            self.available[(account, source_type)] += net

    def total_available(self, account: str) -> int:
        return sum(v for (a, _), v in self.available.items() if a == account)

    def sync_reserves(self) -> None:
        """The platform holds, out of its card funds, the negative available of each liable account."""
        for account, liable in self.liable.items():
            if not liable:
                continue
            wanted = max(0, -self.total_available(account))
            self.available[(PLATFORM, CARD)] -= wanted - self.reserves[account]
            self.reserves[account] = wanted

    def advance(self, seconds: int) -> None:
        self.now += seconds
        still = []
        for account, source_type, available_on, net in self.pending:
            if available_on <= self.now:
                self.available[(account, source_type)] += net
            else:
                still.append((account, source_type, available_on, net))
        self.pending = still
        self.sync_reserves()

    def balance(self, account: str) -> dict[str, Any]:
        available = {s: v for (a, s), v in self.available.items() if a == account and v}
        pending: dict[str, int] = defaultdict(int)
        for a, s, _, net in self.pending:
            if a == account:
                pending[s] += net
        out: dict[str, Any] = {"available": available, "pending": {s: v for s, v in pending.items() if v}}
        if account == PLATFORM:
            out["connect_reserved"] = sum(self.reserves.values())
        return out


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


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from payoutkit.api.app import create_app
        from payoutkit.config import Settings
        from payoutkit.store.db import make_engine

        self.stack = contextlib.ExitStack()
        try:
            url = self.stack.enter_context(Backend.database())
            self.settings = Settings(
                database_url=url,
                secret_key=SECRET_KEY,
                simulated_clock=True,
                simulated_clock_start=CLOCK_START,
                worker=False,
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
        self.charges: list[ModelCharge] = []
        self.transfers: list[ModelTransfer] = []
        self.enabled: frozenset[str] = frozenset(OPTIONAL_RULES)

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

    def available_on(self, owner: str, pending: bool, source_type: str) -> int:
        from payoutkit.ledger.calendar import SETTLEMENT_DELAY_DAYS, available_on

        if not pending:
            return self.model.now
        delay = max(self.model.delay_days[owner], SETTLEMENT_DELAY_DAYS[source_type])
        return available_on(self.model.now, delay)

    # -- rules ---------------------------------------------------------------------------------------

    @initialize(enabled=st.sets(st.sampled_from(OPTIONAL_RULES)).map(frozenset))
    def choose_rules(self, enabled: frozenset[str]) -> None:
        self.enabled = enabled

    @rule(
        owner=st.sampled_from([PLATFORM, *CONNECTED]),
        token=st.sampled_from(list(TOKENS)),
        amount=st.integers(50, 100_000),
        # Percent of the amount taken as application fee; 97 and more leave a negative net on a card.
        fee_share=st.none() | st.sampled_from([10, 97, 100]) | st.integers(0, 100),
    )
    def direct_charge(self, owner: str, token: str, amount: int, fee_share: int | None) -> None:
        """A charge on the platform, or on a connected account (with an application fee, maybe)."""
        source_type, pending, disputed = TOKENS[token]
        data: dict[str, Any] = {"amount": amount, "currency": "usd", "source": token}
        app_fee = 0
        if owner != PLATFORM and fee_share is not None:
            app_fee = amount * fee_share // 100
            data["application_fee_amount"] = app_fee
        charge = self.post("/v1/charges", data, owner)
        m = self.model
        on = self.available_on(owner, pending, source_type)
        m.credit(owner, source_type, amount - processing_fee(source_type, amount) - app_fee, on)
        if app_fee:
            m.credit(PLATFORM, source_type, app_fee, on)
        if disputed:
            m.available[(owner, source_type)] -= amount + DISPUTE_FEE
        m.sync_reserves()
        self.charges.append(ModelCharge(charge["id"], owner, amount, source_type, disputed))

    @precondition(lambda self: "destination_charge" in self.enabled)
    @rule(
        destination=st.sampled_from(list(CONNECTED)),
        token=st.sampled_from(list(TOKENS)),
        amount=st.integers(50, 100_000),
        fee_share=st.integers(0, 100),
    )
    def destination_charge(self, destination: str, token: str, amount: int, fee_share: int) -> None:
        source_type, pending, disputed = TOKENS[token]
        app_fee = amount * fee_share // 100
        data = {
            "amount": amount,
            "currency": "usd",
            "source": token,
            "application_fee_amount": app_fee,
            "transfer_data[destination]": self.ids[destination],
        }
        charge = self.post("/v1/charges", data)
        m = self.model
        on = self.available_on(PLATFORM, pending, source_type)
        m.credit(PLATFORM, source_type, amount - processing_fee(source_type, amount), on)
        m.credit(PLATFORM, source_type, -amount, on)
        if app_fee:
            m.credit(PLATFORM, source_type, app_fee, on)
        m.credit(destination, source_type, amount - app_fee, on)
        if disputed:
            m.available[(PLATFORM, source_type)] -= amount + DISPUTE_FEE
        m.sync_reserves()
        transfer = ModelTransfer(charge["transfer"], destination, amount, source_type)
        self.transfers.append(transfer)
        self.charges.append(
            ModelCharge(
                charge["id"],
                PLATFORM,
                amount,
                source_type,
                disputed,
                transfer=transfer,
                application_fee=app_fee,
            )
        )

    @precondition(
        lambda self: (
            "refund" in self.enabled and any(not c.disputed and c.refunded < c.amount for c in self.charges)
        )
    )
    @rule(
        data=st.data(),
        full=st.booleans(),
        reverse_transfer=st.booleans(),
        refund_application_fee=st.booleans(),
    )
    def refund(
        self, data: st.DataObject, full: bool, reverse_transfer: bool, refund_application_fee: bool
    ) -> None:
        refundable = [c for c in self.charges if not c.disputed and c.refunded < c.amount]
        charge = data.draw(st.sampled_from(refundable), label="charge")
        remaining = charge.amount - charge.refunded
        amount = remaining if full else data.draw(st.integers(1, remaining), label="amount")
        params: dict[str, Any] = {"charge": charge.id}
        if not full:
            params["amount"] = amount
        reverse = reverse_transfer and charge.transfer is not None
        if reverse:
            params["reverse_transfer"] = "true"
            if refund_application_fee:
                params["refund_application_fee"] = "true"
        self.post("/v1/refunds", params, charge.owner)
        m = self.model
        m.available[(charge.owner, charge.source_type)] -= amount
        charge.refunded += amount
        t = charge.transfer
        if reverse and t is not None:
            share = min(t.amount - t.reversed, amount * t.amount // charge.amount)
            if share > 0:
                m.available[(t.destination, t.source_type)] -= share
                m.available[(PLATFORM, t.source_type)] += share
                t.reversed += share
                if refund_application_fee and charge.application_fee:
                    back = min(
                        charge.application_fee - charge.fee_refunded,
                        charge.application_fee * share // t.amount,
                    )
                    if back > 0:
                        m.available[(PLATFORM, t.source_type)] -= back
                        m.available[(t.destination, t.source_type)] += back
                        charge.fee_refunded += back
        m.sync_reserves()

    @precondition(lambda self: "transfer" in self.enabled)
    @rule(
        destination=st.sampled_from(list(CONNECTED)),
        source_type=st.sampled_from([CARD, BANK]),
        amount=st.integers(1, 50_000),
    )
    def transfer(self, destination: str, source_type: str, amount: int) -> None:
        m = self.model
        covered = amount <= m.available[(PLATFORM, source_type)]
        response = self.call(
            "/v1/transfers",
            {
                "amount": amount,
                "currency": "usd",
                "destination": self.ids[destination],
                "source_type": source_type,
            },
        )
        if not covered:
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "balance_insufficient"
            return
        assert response.status_code == 200, response.text
        m.available[(PLATFORM, source_type)] -= amount
        m.available[(destination, source_type)] += amount
        m.sync_reserves()
        self.transfers.append(ModelTransfer(response.json()["id"], destination, amount, source_type))

    @precondition(lambda self: "reverse_transfer" in self.enabled and bool(self.transfers))
    @rule(data=st.data(), whole=st.booleans())
    def reverse_transfer(self, data: st.DataObject, whole: bool) -> None:
        t = data.draw(st.sampled_from(self.transfers), label="transfer")
        remaining = t.amount - t.reversed
        amount = remaining if whole else data.draw(st.integers(1, t.amount), label="amount")
        response = self.call(f"/v1/transfers/{t.id}/reversals", {} if whole else {"amount": amount})
        if remaining == 0 or amount > remaining:
            assert response.status_code == 400, response.text
            return
        assert response.status_code == 200, response.text
        m = self.model
        m.available[(t.destination, t.source_type)] -= amount
        m.available[(PLATFORM, t.source_type)] += amount
        t.reversed += amount
        m.sync_reserves()

    @precondition(lambda self: "top_up" in self.enabled)
    @rule(account=st.sampled_from([PLATFORM, *CONNECTED]), amount=st.integers(1, 100_000))
    def top_up(self, account: str, amount: int) -> None:
        self.post("/v1/topups", {"amount": amount, "currency": "usd"}, account)
        self.model.available[(account, BANK)] += amount
        self.model.sync_reserves()

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: int) -> None:
        clock = self.post("/v1/test_helpers/clock/advance", {"seconds": seconds})
        assert clock["now"] == self.model.now + seconds
        self.model.advance(seconds)

    # -- after every step ------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for account in self.ids:
            assert observed(self.get("/v1/balance", account)) == self.model.balance(account), account

    @invariant()
    def ledger_is_consistent(self) -> None:
        from payoutkit.store.db import READONLY
        from payoutkit.store.invariants import check_ledger

        with self.ledger.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            violations = check_ledger(conn)
        assert not violations, violations


@pytest.mark.parametrize("backend", databases.BACKENDS)
def test_the_ledger_follows_the_model(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    Backend.name = backend
    if backend == "sqlite":
        Backend.sqlite_template = request.getfixturevalue("sqlite_template")
        Backend.tmp_dir = tmp_path
    else:
        Backend.pg_cluster = request.getfixturevalue("pg_cluster")
        Backend.pg_template = request.getfixturevalue("pg_template")
    started = time.monotonic()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(f"\n{backend}: {time.monotonic() - started:.1f}s")  # shown with -s
