"""The oracle: a pure-Python ledger of what every account should hold and what every payout should
be, from the documented rules (fees, settlement dates, payout arrival, the simulated rail's test bank
accounts). No HTTP here; `rules.py` books each step into it and `driver.py` reads the server back.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

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

    def available_on(self, owner: str, pending: bool, source_type: str) -> int:
        from payoutkit.ledger.calendar import SETTLEMENT_DELAY_DAYS, available_on

        if not pending:
            return self.now
        delay = max(self.delay_days[owner], SETTLEMENT_DELAY_DAYS[source_type])
        return available_on(self.now, delay)

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
