"""A stateful model of the whole money flow, checked against the real server after every step.

Hypothesis drives random charges (card pending, `tok_bypassPending`, ACH `btok_us_verified`, the
dispute token `tok_createDispute`; direct charges on connected accounts with application fees and
destination charges with application fees or `transfer_data[amount]`, some `on_behalf_of`), refunds
(partial and full, refused exactly when more than what is left; reversing the transfer of a
destination charge and refunding the application fee or not), refunds of a connected account's
payments (`py_`, which reverse the transfer they came by, and may refund the fee), transfers (refused
exactly when the platform's available funds of that source type do not cover them), transfer
reversals (refused exactly when more than what is left), top-ups and clock advances, on one platform
with three connected accounts: custom and express (the platform is liable for their negative
balances) and standard (it is not).

Refunds and their parts: the model allocates a refund's share of the transfer and of the application
fee with exact fractions, `round_half_up(total * progress / whole)` less what was taken back already,
where progress is the sum of the refunds that asked for it; after each refund or reversal the
server's `amount_reversed` and the fee's `amount_refunded` must equal the model's, and once a charge's
refunds that asked for it reach its amount they are the whole transfer and the whole fee. What went
back to the outside never exceeds what the charge took (the model, and `check_ledger`'s invariant (g)).

`Model` is a pure-Python ledger: per account and source type, the available amount and the pending
funds with their `available_on`; fees and settlement dates come from the documented rules (card
2.9 % + 30 rounded half up, ACH 0.8 % capped at 5.00, `calendar.available_on`). After every step the
server's `/v1/balance` of every account must equal the model (per source type, and the platform's
`connect_reserved` = the sum of the liable accounts' negative available balances), and
`check_ledger` must find nothing.

Payouts: every connected account gets a schedule (manual or daily, switchable later) and maybe a US test
bank account (`btok_us_verified`, `…_noAccount` that fails in transit, `…_accountClosed` that is paid and
then returned a business day later, or the standard-only number 000888888883); more can be added, and an
errored one repaired. Rules make standard payouts (refused exactly when the schedule is not manual, the
destination is missing or errored, or the source type's available funds, or the account's available
total, do not cover them), instant payouts (the platform's pricing is set or removed by a rule; the model
computes the application fee to the platform and the processing fee, paid by the account or the platform
as `controller.fees.payer` says, refuses exactly as eligibility, the daily limit in the account's region
and the funds say, and predicts `instant_available` and its `net_available`), cancels and reversals (the
reversal a negative payout whose credit is pending until it arrives). The clock advance is replayed event
by event: settlement, each payout's steps on the simulated rail (submitted an hour after creation,
arriving at 00:00 UTC two business days later, instant ones 15 minutes later; a failure returns the funds
and fees and errors the bank account; a failed payout cancels its pending reversal) and, at each
midnight, the automatic payouts of daily accounts (the whole available balance per source type to the
default bank account). After every step each account's payouts must match the model's (status, amounts,
failure code, reversal links).

`debit_negative_balances` is switched off here (the model does not predict debits); it has its own
test below, `test_a_negative_balance_is_debited_once`.

Each Hypothesis example gets its own freshly migrated database and its own server (function-scoped
fixtures would be shared by all examples), driven over raw HTTP with httpx.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

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
from tests.support.ledger import assert_ledger_ok
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
OPTIONAL_RULES = ("destination_charge", "refund", "refund_payment", "transfer", "reverse_transfer", "top_up")
# Groups of payout rules, each enabled in most examples (a payout's story takes several steps).
PAYOUT_RULES = (
    "payouts",  # standard payouts, cancels and reversals
    "instant_payouts",  # instant payouts and the platform's pricing
    "payout_settings",  # more bank accounts, repairs, schedule changes
)
ADVANCES = [3_600, 86_400 - 1, 86_400, 2 * 86_400, 3 * 86_400, 4 * 86_400, 7 * 86_400]

# ---- payouts ------------------------------------------------------------------------------------
DAY = 86_400
# Test bank accounts (all US, usd): token or account number → (payout failure code, instant-capable).
BANKS: dict[str, tuple[str | None, bool]] = {
    "btok_us_verified": (None, True),
    "btok_us_verified_noAccount": ("no_account", True),  # fails when it should arrive
    "btok_us_verified_accountClosed": ("account_closed", True),  # paid, returned a business day later
    "000888888883": (None, False),  # standard payouts only
}
FAILS_IN_TRANSIT = {"no_account"}
RETURNED_LATER = {"account_closed"}
STANDARD_SUBMIT = 3_600  # a standard payout is submitted (in_transit) an hour after it is created
INSTANT_ARRIVAL = 15 * 60
REVERSAL_WINDOW = 90 * DAY
Pricing = tuple[int, int, int | None]  # percent_bps, minimum, maximum
# Payoutkit's instant payout fee: 1 % (half up), at least 0.50; the platform's pricing comes on top.
INSTANT_PROCESSING: Pricing = (100, 50, None)
INSTANT_DAILY_LIMIT = 30_000
# The daily limit's day is the account's local day: US accounts count on US Central time.
US_REGION = ZoneInfo("America/Chicago")
Refusal = tuple[str | None, str | None]  # an error's (code, param)
# The platform's instant payout pricing (a maximum below the minimum is raised to it), or none.
PRICES = st.tuples(
    st.sampled_from([0, 50, 150, 275, 1_000]),
    st.sampled_from([0, 50, 120]),
    st.none() | st.sampled_from([0, 200, 1_500]),
)
PRICINGS = st.none() | PRICES
# A payout's amount as a share of what is available, in percent (101: one more than all of it).
SHARES = st.sampled_from([10, 50, 100, 101]).map(str)
# A connected account's first bank account: mostly one that works.
FIRST_BANKS = ["btok_us_verified", "btok_us_verified", "btok_us_verified", *BANKS]
PLATFORM_PAYS_FEES = {"custom": True, "express": True, "standard": False}  # controller.fees.payer


def processing_fee(source_type: str, amount: int) -> int:
    if source_type == CARD:
        return (amount * 290 + 5_000) // 10_000 + 30
    return min(500, (amount * 80 + 5_000) // 10_000)


def percent_fee(amount: int, pricing: Pricing) -> int:
    """`amount` * bps rounded half up, at least `minimum`, at most `maximum` (config.PercentFee's rule)."""
    bps, minimum, maximum = pricing
    fee = max(minimum, (amount * bps + 5_000) // 10_000)
    return fee if maximum is None else min(maximum, fee)


def add_business_days(ts: int, days: int) -> int:
    """Mon-Fri days ahead, keeping the time of day; a weekend counts from the Friday before it."""
    weekday = datetime.fromtimestamp(ts, UTC).weekday()
    if weekday >= 5:
        ts -= (weekday - 4) * DAY
    while days:
        ts += DAY
        if datetime.fromtimestamp(ts, UTC).weekday() < 5:
            days -= 1
    return ts


def arrival_of(created: int, method: str) -> int:
    if method == "instant":
        return created + INSTANT_ARRIVAL
    submitted = add_business_days(created + STANDARD_SUBMIT, 2)
    return submitted - submitted % DAY


def local_day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(US_REGION).date().isoformat()


@dataclass
class ModelBank:
    id: str
    account: str
    failure: str | None
    instant: bool
    errored: bool = False


@dataclass
class ModelPayout:
    """A payout as the simulated rail will treat it; `id` is None for an automatic payout the model
    predicted until the advance that made it has been read back."""

    id: str | None
    account: str
    source_type: str
    amount: int  # negative for a reversal
    method: str
    created: int
    arrival: int
    bank: ModelBank
    failure: str | None  # the bank's test outcome when the payout was made
    automatic: bool = False
    application_fee: int = 0
    processing_fee: int = 0
    platform_pays: bool = False
    status: str = "pending"
    failure_code: str | None = None
    reversed_by: ModelPayout | None = None
    original: ModelPayout | None = None

    def charged_to_account(self) -> int:
        return self.application_fee + (0 if self.platform_pays else self.processing_fee)

    def next_step(self) -> int | None:
        """When the rail next moves it (None once nothing more will happen)."""
        if self.status == "pending":
            return self.created if self.method == "instant" else self.created + STANDARD_SUBMIT
        if self.status == "in_transit":
            return self.arrival
        if self.status == "paid" and self.failure in RETURNED_LATER:
            return add_business_days(self.arrival, 1)
        return None

    def failure_time(self) -> int | None:
        if self.status in ("failed", "canceled") or self.failure is None:
            return None
        if self.failure in FAILS_IN_TRANSIT:
            return self.arrival
        return add_business_days(self.arrival, 1)


def proportional(total: int, whole: int, progress: int) -> int:
    """`total * progress / whole` rounded half up, with exact fractions (the model's own arithmetic)."""
    exact = Fraction(total * min(progress, whole), whole)
    return math.floor(exact + Fraction(1, 2))


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
    fee_account: str = PLATFORM  # the account the fee was taken from
    fee_refunded: int = 0
    fee_basis: int = 0  # the refunds (and reversals) so far that asked for the fee back
    reversal_basis: int = 0  # the refunds so far that asked to reverse the transfer


@dataclass
class ModelTransfer:
    id: str
    destination: str
    amount: int
    source_type: str
    reversed: int = 0  # by the platform's refunds, by hand, or by the account refunding its payment
    charge: ModelCharge | None = None  # the destination charge it belongs to
    payment: str | None = None  # the destination's py_, once read


@dataclass
class Model:
    """What every account should hold, by source type, and every payout; the clock's advance replays
    settlement, payout steps and automatic payout runs in time order, as the server's catch-up does."""

    now: int
    liable: dict[str, bool]
    delay_days: dict[str, int]
    available: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    pending: list[tuple[str, str, int, int]] = field(default_factory=list)  # account, st, available_on, net
    reserves: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    schedules: dict[str, str] = field(default_factory=dict)  # connected account → manual | daily
    banks: list[ModelBank] = field(default_factory=list)
    defaults: dict[str, ModelBank] = field(default_factory=dict)  # account → default usd bank account
    payouts: list[ModelPayout] = field(default_factory=list)
    pricing: Pricing | None = None  # the platform's instant payout pricing (usd)
    instant_volume: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # Every account's next payout run: each midnight UTC (daily and manual schedules alike).
    next_run: int = 0

    def __post_init__(self) -> None:
        self.next_run = self.now - self.now % DAY + DAY

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

    def settle(self) -> None:
        still = []
        for account, source_type, available_on, net in self.pending:
            if available_on <= self.now:
                self.available[(account, source_type)] += net
            else:
                still.append((account, source_type, available_on, net))
        self.pending = still

    def advance(self, seconds: int) -> None:
        """Replay what is due up to now + seconds at the times it is due: at each moment, settlement,
        then the payouts' steps, then (at midnight) the payout runs."""
        to = self.now + seconds
        while True:
            steps = [t for p in self.payouts if (t := p.next_step()) is not None and t <= to]
            moments = steps + ([self.next_run] if self.next_run <= to else [])
            if not moments:
                break
            self.now = min(moments)
            self.settle()
            while due := [p for p in self.payouts if (t := p.next_step()) is not None and t <= self.now]:
                for p in due:
                    self.step(p)
            if self.next_run == self.now:
                self.run_automatic()
                self.next_run += DAY
            self.sync_reserves()
        self.now = to
        self.settle()
        self.sync_reserves()

    # -- refunds ------------------------------------------------------------------------------------

    def reverse(self, t: ModelTransfer, amount: int) -> None:
        """Take `amount` of a transfer back from its destination (which may go negative)."""
        self.available[(t.destination, t.source_type)] -= amount
        self.available[(PLATFORM, t.source_type)] += amount
        t.reversed += amount

    def give_back_fee(self, c: ModelCharge, progress: int) -> None:
        """Count `progress` (of the charge's amount) towards its application fee's refund, and give
        back to the account it came from what that now entitles to beyond what was given back."""
        if not c.application_fee:
            return
        c.fee_basis = min(c.amount, c.fee_basis + progress)
        back = max(0, proportional(c.application_fee, c.amount, c.fee_basis) - c.fee_refunded)
        self.available[(PLATFORM, c.source_type)] -= back
        self.available[(c.fee_account, c.source_type)] += back
        c.fee_refunded += back

    # -- payouts --------------------------------------------------------------------------------------

    def instant_terms(self, account: str) -> tuple[bool, int]:
        """Whether instant payouts are refused by configuration (the platform pays this account's fees
        but has no pricing), and what today's limit leaves."""
        refused = PLATFORM_PAYS_FEES[account] and self.pricing is None
        return refused, max(0, INSTANT_DAILY_LIMIT - self.instant_volume[(account, local_day(self.now))])

    def instant_fees(self, amount: int) -> tuple[int, int]:
        """(application fee, processing fee) of an instant payout of `amount`."""
        application = percent_fee(amount, self.pricing) if self.pricing is not None else 0
        return application, percent_fee(amount, INSTANT_PROCESSING)

    def instant_cost(self, account: str, amount: int) -> int:
        application, processing = self.instant_fees(amount)
        return amount + application + (0 if PLATFORM_PAYS_FEES[account] else processing)

    def largest_instant(self, account: str, funds: int) -> int:
        """The largest payout whose amount and fees fit in `funds` (the cost grows with the amount)."""
        if funds <= 0 or self.instant_cost(account, 0) > funds:
            return 0
        low, high = 0, funds
        while low < high:
            middle = (low + high + 1) // 2
            if self.instant_cost(account, middle) <= funds:
                low = middle
            else:
                high = middle - 1
        return low

    def open_payout(self, p: ModelPayout) -> None:
        """Book a new payout: money out at once (amount and fees), or for a reversal a credit that is
        pending until it arrives."""
        if p.amount > 0:
            self.available[(p.account, p.source_type)] -= p.amount + p.charged_to_account()
            self.available[(PLATFORM, p.source_type)] += p.application_fee - (
                p.processing_fee if p.platform_pays else 0
            )
        else:
            self.credit(p.account, p.source_type, -p.amount, p.arrival)
        self.payouts.append(p)
        self.sync_reserves()

    def give_back(self, p: ModelPayout) -> None:
        """A failure or cancel returns the amount and every fee to whoever paid it; a reversal's return
        takes back its credit, pending until the reversal's arrival if it has not arrived yet."""
        if p.amount > 0:
            self.available[(p.account, p.source_type)] += p.amount + p.charged_to_account()
            self.available[(PLATFORM, p.source_type)] -= p.application_fee - (
                p.processing_fee if p.platform_pays else 0
            )
        else:
            self.credit(p.account, p.source_type, p.amount, max(p.arrival, self.now))

    def step(self, p: ModelPayout) -> None:
        """The payout's next step on the simulated rail, at self.now."""
        if p.status == "pending":
            p.status = "in_transit"
        elif p.status == "in_transit" and p.failure not in FAILS_IN_TRANSIT:
            p.status = "paid"
        else:
            p.status, p.failure_code = "failed", p.failure
            self.give_back(p)
            p.bank.errored = True
            if p.reversed_by is not None and p.reversed_by.status == "pending":
                p.reversed_by.status = "canceled"
                self.give_back(p.reversed_by)

    def run_automatic(self) -> None:
        """At midnight: each daily account pays out each positive available balance (per source type,
        while the currency's total covers it) to its default bank account, unless that one failed a payout and
        was not updated since."""
        for account, interval in self.schedules.items():
            bank = self.defaults.get(account)
            if interval != "daily" or bank is None or bank.errored:
                continue
            # A positive balance goes out whole, and only while the currency's total covers it (an
            # account that owes money in one source type is not paid out from another), source types
            # in the server's order.
            room = sum(self.available[(account, st)] for st in (CARD, BANK))
            for source_type in sorted((CARD, BANK)):
                amount = self.available[(account, source_type)]
                if 0 < amount <= room:
                    room -= amount
                    self.open_payout(
                        ModelPayout(
                            None,
                            account,
                            source_type,
                            amount,
                            "standard",
                            self.now,
                            arrival_of(self.now, "standard"),
                            bank,
                            bank.failure,
                            automatic=True,
                        )
                    )

    def balance(self, account: str) -> dict[str, Any]:
        available = {s: v for (a, s), v in self.available.items() if a == account and v}
        pending: dict[str, int] = defaultdict(int)
        for a, s, _, net in self.pending:
            if a == account:
                pending[s] += net
        out: dict[str, Any] = {"available": available, "pending": {s: v for s, v in pending.items() if v}}
        if account == PLATFORM:
            out["connect_reserved"] = sum(self.reserves.values())
        destinations = [b.id for b in self.banks if b.account == account and b.instant and not b.errored]
        if destinations:
            refused, remaining = self.instant_terms(account)
            card = min(self.available[(account, CARD)], self.total_available(account))
            amount = 0 if refused else max(0, min(card, remaining))
            net = self.largest_instant(account, amount)
            out["instant_available"] = {"amount": amount, "net_available": dict.fromkeys(destinations, net)}
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
        self.charges: list[ModelCharge] = []
        self.transfers: list[ModelTransfer] = []
        self.enabled: frozenset[str] = frozenset(OPTIONAL_RULES + PAYOUT_RULES)
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

    def destination(self, data: st.DataObject, account: str, to_default: bool) -> ModelBank | None:
        """A bank account of `account` to name as `destination`, or None for its default."""
        banks = [b for b in self.model.banks if b.account == account]
        if to_default or not banks:
            return None
        return data.draw(st.sampled_from(banks), label="destination")

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

    def available_on(self, owner: str, pending: bool, source_type: str) -> int:
        from payoutkit.ledger.calendar import SETTLEMENT_DELAY_DAYS, available_on

        if not pending:
            return self.model.now
        delay = max(self.model.delay_days[owner], SETTLEMENT_DELAY_DAYS[source_type])
        return available_on(self.model.now, delay)

    # -- rules ---------------------------------------------------------------------------------------

    @initialize(
        enabled=st.sets(st.sampled_from(OPTIONAL_RULES)).map(frozenset),
        payouts=st.fixed_dictionaries({g: st.sampled_from([True, True, True, False]) for g in PAYOUT_RULES}),
    )
    def choose_rules(self, enabled: frozenset[str], payouts: dict[str, bool]) -> None:
        self.enabled = enabled | {g for g, on in payouts.items() if on}

    @initialize(
        schedules=st.fixed_dictionaries(
            {kind: st.sampled_from(["manual", "manual", "daily"]) for kind in CONNECTED}
        ),
        banks=st.fixed_dictionaries({kind: st.sampled_from([None, *FIRST_BANKS]) for kind in CONNECTED}),
        funds=st.fixed_dictionaries(
            {kind: st.sampled_from([0, 5_000, 60_000, 60_000]) for kind in CONNECTED}
        ),
        pricing=st.one_of(PRICES, PRICES, st.none()),
    )
    def set_up_payouts(
        self,
        schedules: dict[str, str],
        banks: dict[str, str | None],
        funds: dict[str, int],
        pricing: Pricing | None,
    ) -> None:
        """Each connected account's schedule, maybe a first bank account (its default) and funds
        available at once; maybe the platform's instant pricing."""
        if pricing is not None:
            self.set_pricing(pricing)
        for kind in CONNECTED:
            self.set_schedule(kind, schedules[kind])
            bank = banks[kind]
            if bank is not None:
                self.add_bank(kind, bank, default=False)
            if funds[kind]:
                self.direct_charge(kind, "tok_bypassPending", funds[kind], None)

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
        self.charges.append(
            ModelCharge(
                charge["id"],
                owner,
                amount,
                source_type,
                disputed,
                application_fee=app_fee,
                fee_account=owner,
            )
        )

    @precondition(lambda self: "destination_charge" in self.enabled)
    @rule(
        destination=st.sampled_from(list(CONNECTED)),
        token=st.sampled_from(list(TOKENS)),
        amount=st.integers(50, 100_000),
        fee_share=st.integers(0, 100),
        # What the platform keeps: an application fee (the share) or transfer_data[amount] (the rest).
        split=st.sampled_from(["application_fee", "application_fee", "transfer_amount"]),
        on_behalf_of=st.booleans(),
    )
    def destination_charge(
        self, destination: str, token: str, amount: int, fee_share: int, split: str, on_behalf_of: bool
    ) -> None:
        source_type, pending, disputed = TOKENS[token]
        data: dict[str, Any] = {
            "amount": amount,
            "currency": "usd",
            "source": token,
            "transfer_data[destination]": self.ids[destination],
        }
        if on_behalf_of:
            data["on_behalf_of"] = self.ids[destination]
        app_fee, transferred = 0, amount
        if split == "application_fee":
            app_fee = amount * fee_share // 100
            data["application_fee_amount"] = app_fee
        else:
            transferred = max(1, amount * fee_share // 100)
            data["transfer_data[amount]"] = transferred
        charge = self.post("/v1/charges", data)
        m = self.model
        on = self.available_on(PLATFORM, pending, source_type)
        m.credit(PLATFORM, source_type, amount - processing_fee(source_type, amount), on)
        m.credit(PLATFORM, source_type, -transferred, on)
        if app_fee:
            m.credit(PLATFORM, source_type, app_fee, on)
        m.credit(destination, source_type, transferred - app_fee, on)
        if disputed:
            m.available[(PLATFORM, source_type)] -= amount + DISPUTE_FEE
        m.sync_reserves()
        transfer = ModelTransfer(charge["transfer"], destination, transferred, source_type)
        model_charge = ModelCharge(
            charge["id"],
            PLATFORM,
            amount,
            source_type,
            disputed,
            transfer=transfer,
            application_fee=app_fee,
            fee_account=destination,
        )
        transfer.charge = model_charge
        self.transfers.append(transfer)
        self.charges.append(model_charge)

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

    @precondition(
        lambda self: (
            "refund" in self.enabled and any(not c.disputed and c.refunded < c.amount for c in self.charges)
        )
    )
    @rule(
        data=st.data(),
        how_much=st.sampled_from(["full", "part", "part", "any"]),
        reverse_transfer=st.booleans(),
        refund_application_fee=st.booleans(),
    )
    def refund(
        self, data: st.DataObject, how_much: str, reverse_transfer: bool, refund_application_fee: bool
    ) -> None:
        """The charge's owner refunds it, partly or fully, maybe more than is left (refused)."""
        refundable = [c for c in self.charges if not c.disputed and c.refunded < c.amount]
        charge = data.draw(st.sampled_from(refundable), label="charge")
        remaining = charge.amount - charge.refunded
        top = charge.amount if how_much == "any" else remaining
        amount = remaining if how_much == "full" else data.draw(st.integers(1, top), label="amount")
        params: dict[str, Any] = {"charge": charge.id}
        if how_much != "full":
            params["amount"] = amount
        t = charge.transfer if reverse_transfer else None
        if t is not None:
            params["reverse_transfer"] = "true"
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call("/v1/refunds", params, charge.owner)
        if amount > remaining:
            self.refused(response, ("amount_too_large", "amount"))
            return
        assert response.status_code == 200, response.text
        m = self.model
        m.available[(charge.owner, charge.source_type)] -= amount
        charge.refunded += amount
        assert charge.refunded <= charge.amount  # never more back to the card than it paid
        if t is not None:
            charge.reversal_basis = min(charge.amount, charge.reversal_basis + amount)
            share = max(0, proportional(t.amount, charge.amount, charge.reversal_basis) - t.reversed)
            m.reverse(t, share)
            assert (response.json()["transfer_reversal"] is not None) == (share > 0), response.text
        if refund_application_fee:
            m.give_back_fee(charge, amount)
        m.sync_reserves()
        self.check_parts(charge.transfer, charge)

    @precondition(lambda self: "refund_payment" in self.enabled and bool(self.transfers))
    @rule(data=st.data(), whole=st.booleans(), refund_application_fee=st.booleans())
    def refund_payment(self, data: st.DataObject, whole: bool, refund_application_fee: bool) -> None:
        """A connected account refunds the payment (`py_`) a transfer brought it: the transfer is
        reversed, to the platform; nothing goes to a card."""
        t = data.draw(st.sampled_from(self.transfers), label="transfer")
        if t.payment is None:
            t.payment = self.get(f"/v1/transfers/{t.id}")["destination_payment"]
        remaining = t.amount - t.reversed
        amount = remaining if whole else data.draw(st.integers(1, t.amount), label="amount")
        params: dict[str, Any] = {"charge": t.payment}
        if not whole:
            params["amount"] = amount
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call("/v1/refunds", params, t.destination)
        if remaining == 0:
            self.refused(response, ("charge_already_refunded", "charge"))
            return
        if amount > remaining:
            self.refused(response, ("amount_too_large", "amount"))
            return
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source_transfer_reversal"] is not None, body
        m = self.model
        m.reverse(t, amount)
        if refund_application_fee and t.charge is not None:
            m.give_back_fee(t.charge, amount)
        m.sync_reserves()
        self.check_parts(t, t.charge)

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
    @rule(data=st.data(), whole=st.booleans(), refund_application_fee=st.booleans())
    def reverse_transfer(self, data: st.DataObject, whole: bool, refund_application_fee: bool) -> None:
        t = data.draw(st.sampled_from(self.transfers), label="transfer")
        remaining = t.amount - t.reversed
        amount = remaining if whole else data.draw(st.integers(1, t.amount), label="amount")
        params: dict[str, Any] = {} if whole else {"amount": amount}
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call(f"/v1/transfers/{t.id}/reversals", params)
        if remaining == 0 or amount > remaining:
            assert response.status_code == 400, response.text
            return
        assert response.status_code == 200, response.text
        m = self.model
        m.reverse(t, amount)
        if refund_application_fee and t.charge is not None:
            m.give_back_fee(t.charge, amount)
        m.sync_reserves()
        self.check_parts(t, t.charge)

    @precondition(lambda self: "top_up" in self.enabled)
    @rule(account=st.sampled_from([PLATFORM, *CONNECTED]), amount=st.integers(1, 100_000))
    def top_up(self, account: str, amount: int) -> None:
        self.post("/v1/topups", {"amount": amount, "currency": "usd"}, account)
        self.model.available[(account, BANK)] += amount
        self.model.sync_reserves()

    # -- payouts ---------------------------------------------------------------------------------------

    @precondition(lambda self: "payout_settings" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        change=st.sampled_from(["add_bank", "repair_bank", "schedule"]),
    )
    def payout_settings(self, data: st.DataObject, account: str, change: str) -> None:
        """Add a bank account (maybe as the default), repair an errored one (updating its details lets
        payouts go to it again), or switch the schedule between manual and daily."""
        errored = [b for b in self.model.banks if b.account == account and b.errored]
        if change == "repair_bank" and errored:
            bank = data.draw(st.sampled_from(errored), label="bank")
            updated = self.post(
                f"/v1/accounts/{self.ids[account]}/external_accounts/{bank.id}",
                {"account_holder_name": f"Holder {len(self.model.payouts)}"},
            )
            assert updated["status"] == "new", updated
            bank.errored = False
        elif change == "schedule":
            self.set_schedule(account, "daily" if self.model.schedules[account] == "manual" else "manual")
        else:
            name = data.draw(st.sampled_from(list(BANKS)), label="bank")
            self.add_bank(account, name, default=data.draw(st.booleans(), label="default"))

    @precondition(lambda self: "payouts" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        source_type=st.sampled_from([CARD, CARD, BANK]),
        amount=SHARES | SHARES | st.integers(1, 60_000),
        to_default=st.booleans(),
    )
    def standard_payout(
        self, data: st.DataObject, account: str, source_type: str, amount: int | str, to_default: bool
    ) -> None:
        """A standard payout by API: refused exactly when the schedule is not manual, there is no
        usable destination, or the source type's available funds do not cover it."""
        m = self.model
        available = m.available[(account, source_type)]
        value = amount if isinstance(amount, int) else max(1, available * min(100, int(amount)) // 100)
        value += amount == "101"
        named = self.destination(data, account, to_default)
        params: dict[str, Any] = {"amount": value, "currency": "usd", "source_type": source_type}
        if named is not None:
            params["destination"] = named.id
        bank = named or m.defaults.get(account)
        response = self.call_payouts("/v1/payouts", params, account)
        refusal: Refusal | None = None
        if m.schedules[account] != "manual":
            refusal = ("payouts_not_allowed", "method")
        elif bank is None:
            refusal = (None, "destination")
        elif bank.errored:
            refusal = ("bank_account_unusable", "destination")
        elif value > min(available, m.total_available(account)):
            # Never more than the source type holds, nor than the account's total: a payout does not
            # take the account below zero.
            refusal = ("balance_insufficient", "amount")
        if refusal is not None or bank is None:
            self.refused(response, refusal)
            return
        assert response.status_code == 200, response.text
        p = ModelPayout(
            response.json()["id"],
            account,
            source_type,
            value,
            "standard",
            m.now,
            arrival_of(m.now, "standard"),
            bank,
            bank.failure,
        )
        self.opened(response.json(), p)

    @precondition(lambda self: "instant_payouts" in self.enabled)
    @rule(pricing=PRICINGS)
    def set_instant_pricing(self, pricing: Pricing | None) -> None:
        self.set_pricing(pricing)

    @precondition(lambda self: "instant_payouts" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        amount=st.sampled_from(["net", "net+1"]) | SHARES | st.integers(1, 40_000),
        to_default=st.booleans(),
    )
    def instant_payout(self, data: st.DataObject, account: str, amount: int | str, to_default: bool) -> None:
        """An instant payout: refused exactly as eligibility, the daily limit and the funds say; it
        costs the account its amount, the platform's fee and (when it pays its own fees) the
        processing fee, which the platform pays otherwise."""
        m = self.model
        refused, remaining = m.instant_terms(account)
        card = min(m.available[(account, CARD)], m.total_available(account))
        if isinstance(amount, int):
            value = amount
        elif amount in ("net", "net+1"):  # what `net_available` says fits, or one more
            value = max(1, m.largest_instant(account, max(0, min(card, remaining))) + (amount == "net+1"))
        else:
            value = max(1, card * min(100, int(amount)) // 100) + (amount == "101")
        named = self.destination(data, account, to_default)
        params: dict[str, Any] = {"amount": value, "currency": "usd", "method": "instant"}
        if named is not None:
            params["destination"] = named.id
        bank = named or m.defaults.get(account)
        response = self.call_payouts("/v1/payouts", params, account)
        refusal: Refusal | None = None
        if bank is None:
            refusal = (None, "destination")
        elif bank.errored:
            refusal = ("bank_account_unusable", "destination")
        elif not bank.instant:
            refusal = ("instant_payouts_unsupported", "method")
        elif refused:
            refusal = ("instant_payouts_config_disabled", None)
        elif value > remaining:
            refusal = ("instant_payouts_limit_exceeded", "amount")
        elif m.instant_cost(account, value) > card:
            refusal = ("balance_insufficient", "amount")
        if refusal is not None or bank is None:
            self.refused(response, refusal)
            return
        assert response.status_code == 200, response.text
        application, processing = m.instant_fees(value)
        p = ModelPayout(
            response.json()["id"],
            account,
            CARD,
            value,
            "instant",
            m.now,
            arrival_of(m.now, "instant"),
            bank,
            bank.failure,
            application_fee=application,
            processing_fee=processing,
            platform_pays=PLATFORM_PAYS_FEES[account],
        )
        m.instant_volume[(account, local_day(m.now))] += value
        self.opened(response.json(), p)

    @precondition(
        lambda self: "payouts" in self.enabled and any(p.status == "pending" for p in self.model.payouts)
    )
    @rule(data=st.data(), pending=st.booleans())
    def cancel_payout(self, data: st.DataObject, pending: bool) -> None:
        """Only a pending standard payout made by API (a reversal too) can be canceled."""
        m = self.model
        candidates = [p for p in m.payouts if p.status == "pending"] if pending else []
        p = data.draw(st.sampled_from(candidates or m.payouts), label="payout")
        response = self.call_payouts(f"/v1/payouts/{p.id}/cancel", {}, p.account)
        if p.automatic or p.method == "instant" or p.status != "pending":
            self.refused(response, ("payout_not_cancelable", "payout"))
            return
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "canceled"
        p.status = "canceled"
        m.give_back(p)
        m.sync_reserves()

    @precondition(
        lambda self: (
            "payouts" in self.enabled and any(p.status in ("in_transit", "paid") for p in self.model.payouts)
        )
    )
    @rule(data=st.data(), reversible=st.booleans())
    def reverse_payout(self, data: st.DataObject, reversible: bool) -> None:
        """A liable platform reverses an in-transit or paid standard payout (once, within 90 days of
        its arrival): a negative payout that credits the account when it arrives."""
        m = self.model
        candidates = [
            p
            for p in m.payouts
            if p.status in ("in_transit", "paid") and p.amount > 0 and m.liable[p.account]
        ]
        p = data.draw(st.sampled_from((candidates if reversible else []) or m.payouts), label="payout")
        ok = (
            p.amount > 0
            and p.method == "standard"
            and p.reversed_by is None
            and p.status in ("in_transit", "paid")
            and p.arrival >= m.now - REVERSAL_WINDOW
        )
        if ok and m.liable[p.account] and p.failure_time() == m.now + STANDARD_SUBMIT:
            # The payout would fail at the very moment its reversal is submitted: which of the two
            # steps the server takes first (and so whether the failure cancels the reversal) is
            # not defined.
            return
        response = self.call_payouts(f"/v1/payouts/{p.id}/reverse", {}, p.account)
        if not m.liable[p.account]:
            assert response.status_code == 403, response.text
            return
        if not ok:
            self.refused(response, ("payout_not_reversible", "payout"))
            return
        assert response.status_code == 200, response.text
        reversal = ModelPayout(
            response.json()["id"],
            p.account,
            p.source_type,
            -p.amount,
            "standard",
            m.now,
            arrival_of(m.now, "standard"),
            p.bank,
            p.bank.failure,
            original=p,
        )
        p.reversed_by = reversal
        self.opened(response.json(), reversal)

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: int) -> None:
        clock = self.post("/v1/test_helpers/clock/advance", {"seconds": seconds})
        self.payouts_moved = True
        assert clock["now"] == self.model.now + seconds
        self.model.advance(seconds)
        self.identify_automatic_payouts()

    # -- after every step ------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for account in self.ids:
            assert observed(self.get("/v1/balance", account)) == self.model.balance(account), account

    @invariant()
    def payouts_match_the_model(self) -> None:
        """Every payout as the model has it. Only payout requests and clock advances change payouts, so
        the lists are read after those only (after anything else the balances would show a stray
        payout)."""
        m = self.model
        if not self.payouts_moved:
            return
        self.payouts_moved = False
        for account in CONNECTED:
            if not any(b.account == account for b in m.banks):
                continue  # no bank account has ever been added: no payout can have been made
            expected = {p.id: self.view(p) for p in m.payouts if p.account == account}
            assert None not in expected
            assert {po["id"]: self.served(po) for po in self.list_all("/v1/payouts", account)} == expected, (
                account
            )

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


def test_a_negative_balance_is_debited_once(http: httpx.Client, database_url: str) -> None:
    """`debit_negative_balances`: the run at midnight debits the account's bank for its negative
    balance; the debit's credit is pending until it arrives, two business days later. The runs of the
    nights between must not debit the same shortfall again."""
    midnight = CLOCK_START - CLOCK_START % DAY
    account = http.post(
        "/v1/accounts", data={"type": "express", "settings[payouts][schedule][interval]": "manual"}
    ).json()
    assert account["settings"]["payouts"]["debit_negative_balances"] is True
    as_account = {"Stripe-Account": account["id"]}
    added = http.post(
        f"/v1/accounts/{account['id']}/external_accounts", data={"external_account": "btok_us_verified"}
    )
    assert added.status_code == 200, added.text
    disputed = http.post(
        "/v1/charges",
        data={"amount": 1_000, "currency": "usd", "source": "tok_createDispute"},
        headers=as_account,
    )
    assert disputed.status_code == 200, disputed.text
    # The dispute takes the amount and its fee at once; the charge's net (941) is pending until Monday.
    shortfall = 1_000 + DISPUTE_FEE
    assert http.get("/v1/balance", headers=as_account).json()["available"][0]["amount"] == -shortfall
    # Friday 00:00: the debit; it arrives Tuesday 00:00. Saturday, Sunday and Monday runs come between.
    advanced = http.post("/v1/test_helpers/clock/advance", data={"to": midnight + 5 * DAY})
    assert advanced.status_code == 200, advanced.text
    debits = http.get("/v1/payouts", headers=as_account).json()["data"]
    [debit] = debits
    assert (debit["amount"], debit["created"], debit["status"]) == (-shortfall, midnight + DAY, "paid")
    balance = http.get("/v1/balance", headers=as_account).json()
    assert balance["available"][0]["amount"] == 1_000 - (1_000 * 290 + 5_000) // 10_000 - 30
    assert_ledger_ok(database_url)
