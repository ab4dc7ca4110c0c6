"""The pure ledger as a Hypothesis state machine: every booking, posted in memory, thousands of steps.

The pure counterpart of tests/scenarios/test_ledger_state_machine.py (which drives the server over
HTTP). No database, no HTTP: the machine holds buckets in a dict and posts each booking's entries
with `ledger.postings.post`, keeps every entry as a balance transaction (pending or available), and
settles due pending transactions itself when the clock advances (as the store's settlement does:
`status` flips, the bucket's `pending` moves to `available`).

Accounts: a platform, two connected accounts it is liable for (custom, express) and one it is not
(standard), and the system accounts `sys_world` and `sys_processor`; currencies `usd`, `jpy`
(zero-decimal) and `huf` (payouts in whole units, multiples of 100); source types `card` and
`bank_account`.

Rules, one per booking the ledger offers:
- charges: direct (on the platform or a connected account, with an application fee to the platform
  or none), destination charges (the whole amount transferred with an application fee back, or
  `transfer_data[amount]`), pending until `calendar.available_on` or available at once;
- refunds, whole or partial, that may reverse a destination charge's transfer and refund its
  application fee in proportion (`allocation.next_share`, the services' cumulative rule);
- disputes (the whole amount and a dispute fee, zero in `huf`);
- transfers out of the platform's available funds (refused by `require_available` exactly beyond
  them) and transfer reversals by hand (which count towards what refunds reverse later);
- top-ups (`bank_account`, available at once or later);
- payouts out of a bucket that has funds to pay out: standard and instant (not in HUF; the
  platform's pricing or none; the processing fee paid by the account or the platform), sized from
  `payout_limit` (instant: `largest_payout`; HUF in whole units, `payable`); debits (negative
  payouts, the credit pending until arrival); lifecycle moves by `transition`; failures and cancels
  returning amount and fees by `book_payout_return`;
- reserves: after every booking each liable account's reserve is re-synced by `reserve_delta` and
  `book_reserve`, as `services/movement.py` does;
- settlement: the clock advances and due pending transactions become available;
- and a tampered booking (one entry dropped) that `post` must refuse.

Each example runs in test or live mode (an `initialize` rule); every bucket must stay in it.

Invariants after every step:
- every booking's entries sum to zero per mode and currency (`check_balanced`, and counted here);
- the sum of all buckets, system accounts included, is zero per currency;
- each bucket's `available` and `pending` equal the sums of the nets of its available and pending
  transactions;
- no payout took more than `payout_limit` allowed: its cost (amount plus the fees charged to the
  account) was within the limit, the account's source bucket dropped by exactly that cost, and
  neither that bucket nor the account's total in the currency ended below zero; a payout and its
  return leave every account where it was;
- refunds never exceed a charge: refunded <= amount, what went back to the world never exceeds what
  the charge took from it, a transfer is never reversed beyond its amount nor a fee refunded beyond
  its own, each carries at least its proportional entitlement (exact fractions, half up), and once
  the refunds that asked for it reach the charge's amount the transfer and the fee are back whole;
- the platform's `connect_reserved` equals, per currency, the sum of the liable accounts' negative
  available `payments` balance (over source types), and holds nothing pending.

Settings: max_examples=200, stateful_step_count=50 (at most 50 steps per example, the mode's
`initialize` included). Measured on the shared 2-core machine (load average 4 to 6): a run makes
about 210 to 225 examples and 7,400 to 8,600 steps (rule calls, each followed by the invariants) in
3.5 to 3.9 s of CPU time, 6 to 7 s of wall time (16 s when the load average was 9); with CI=1 (the
derandomized profile) always the same 8,043 steps of 223 examples. A longer random run
(1,500 examples of up to 100 steps) passed in 64 s of CPU time.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from payoutkit.ledger.allocation import next_share
from payoutkit.ledger.booking import (
    Charge,
    book_application_fee_refund,
    book_charge,
    book_dispute,
    book_refund,
    book_reserve,
    book_topup,
    book_transfer,
    book_transfer_reversal,
    reserve_delta,
)
from payoutkit.ledger.calendar import SETTLEMENT_DELAY_DAYS, available_on
from payoutkit.ledger.errors import IllegalTransition, InsufficientFunds, InvalidAmount
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import instant_fees, largest_payout
from payoutkit.ledger.payouts import (
    NO_FEES,
    Booking,
    PayoutFees,
    PayoutStatus,
    arrival_date,
    book_payout,
    book_payout_return,
    check_payout_amount,
    payable,
    payout_limit,
    require_payout_funds,
    transition,
)
from payoutkit.ledger.postings import (
    PROCESSOR,
    WORLD,
    BalanceType,
    Bucket,
    BucketKey,
    Entry,
    SourceType,
    TxnStatus,
    UnbalancedBooking,
    check_balanced,
    post,
    require_available,
)

START = 1767261600  # 2026-01-01T10:00:00Z, a Thursday (the suite's clock start)
PLATFORM = "acct_platform"
CUSTOM, EXPRESS, STANDARD = "acct_custom", "acct_express", "acct_standard"
CONNECTED = (CUSTOM, EXPRESS, STANDARD)
LIABLE = (CUSTOM, EXPRESS)  # the platform covers their negative balances
ACCOUNTS = (PLATFORM, *CONNECTED)
CURRENCIES = ("usd", "jpy", "huf")
STEP = {"huf": 100}  # payout step
SOURCES = (SourceType.CARD, SourceType.BANK_ACCOUNT)
PROCESSING = {
    SourceType.CARD: PercentFee(290, 30),
    SourceType.BANK_ACCOUNT: PercentFee(80, maximum=500),
}
DISPUTE_FEE = {"usd": 1500, "jpy": 2000, "huf": 0}
INSTANT_PROCESSING = PercentFee(100, minimum=50)
INSTANT_PRICING = PercentFee(150, fixed=25, minimum=50, maximum=1500)
ADVANCES = (60, 3600, 86_399, 86_400, 2 * 86_400, 3 * 86_400, 7 * 86_400)

accounts = st.sampled_from(ACCOUNTS)
connected = st.sampled_from(CONNECTED)
currencies = st.sampled_from(CURRENCIES)
sources = st.sampled_from(SOURCES)
amounts = st.integers(1, 250_000)
percents = st.integers(1, 100)
picks = st.integers(0, 10_000)


def half_up(total: int, progress: int, whole: int) -> int:
    """round_half_up(total * progress / whole), computed independently with exact fractions."""
    return int(Fraction(total * min(progress, whole), whole) + Fraction(1, 2))


@functools.cache
def bucket_key(
    account: str, livemode: bool, currency: str, balance: BalanceType, source: SourceType
) -> BucketKey:
    return BucketKey(account, livemode, currency, balance, source)


def net(entry: Entry) -> int:
    return entry.amount - sum(f.amount for f in entry.fee_details)


@dataclass
class Txn:
    entry: Entry
    net: int
    available: bool


@dataclass
class TransferRec:
    id: str
    payment_id: str
    platform_key: BucketKey
    destination: str
    amount: int
    reversed: int = 0


@dataclass
class FeeRec:
    id: str
    account: str  # who paid the fee (and gets refunds of it)
    platform_key: BucketKey
    amount: int
    refunded: int = 0


@dataclass
class ChargeRec:
    id: str
    key: BucketKey  # the owner's bucket
    amount: int
    transfer: TransferRec | None = None
    fee: FeeRec | None = None
    refunded: int = 0
    disputed: bool = False
    reversal_basis: int = 0  # refunds that asked to reverse the transfer
    fee_basis: int = 0  # refunds that asked to refund the application fee
    world: int = 0  # what the world's buckets got from this charge's story
    sources: set[str] = field(default_factory=set)


@dataclass
class PayoutRec:
    id: str
    key: BucketKey
    amount: int
    method: str
    fees: PayoutFees
    available_on: int  # the `payout` transaction's
    status: PayoutStatus


class PureLedger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.buckets: dict[BucketKey, Bucket] = {}
        self.txns: list[Txn] = []
        self.bookings: list[list[Entry]] = []
        self.charges: list[ChargeRec] = []
        self.transfers: list[TransferRec] = []
        self.fees: list[FeeRec] = []
        self.payouts: list[PayoutRec] = []
        self.reserved: dict[tuple[str, str], int] = defaultdict(int)
        self.ids = itertools.count(1)
        self.livemode = False

    @initialize(livemode=st.booleans())
    def choose_mode(self, livemode: bool) -> None:
        """Each example runs in test or live mode (the buckets' keys carry it; bookings keep it)."""
        self.livemode = livemode

    # ---- helpers ---------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids)}"

    def key(
        self,
        account: str,
        currency: str,
        source: SourceType = SourceType.CARD,
        balance: BalanceType = BalanceType.PAYMENTS,
    ) -> BucketKey:
        return bucket_key(account, self.livemode, currency, balance, source)

    def bucket(self, key: BucketKey) -> Bucket:
        return self.buckets.get(key) or Bucket(key)

    def total_available(self, account: str, currency: str) -> int:
        total = 0
        for source in SourceType:
            found = self.buckets.get(self.key(account, currency, source))
            total += found.available if found else 0
        return total

    def _post(self, entries: Sequence[Entry]) -> None:
        sums: dict[tuple[bool, str], int] = defaultdict(int)
        for entry in entries:
            sums[(entry.key.livemode, entry.key.currency)] += net(entry)
        assert all(v == 0 for v in sums.values()), sums
        self.buckets.update(post(self.buckets, entries))
        self.bookings.append(list(entries))
        self.txns.extend(Txn(e, net(e), e.status is TxnStatus.AVAILABLE) for e in entries)

    def book(self, entries: Sequence[Entry]) -> None:
        """Post one unit's entries, then re-sync the liable accounts' reserves."""
        self._post(entries)
        self.sync_reserves()

    def sync_reserves(self) -> None:
        for account in LIABLE:
            for currency in CURRENCIES:
                delta = reserve_delta(
                    self.reserved[(account, currency)], self.total_available(account, currency)
                )
                if delta:
                    what = "Reserve for" if delta > 0 else "Release of reserve for"
                    self._post(
                        book_reserve(
                            self.key(PLATFORM, currency),
                            delta,
                            created=self.now,
                            description=f"{what} negative balance of {account}",
                        )
                    )
                    self.reserved[(account, currency)] += delta

    def track(self, charge: ChargeRec, entries: Sequence[Entry], source: str) -> None:
        charge.sources.add(source)
        charge.world += sum(net(e) for e in entries if e.key.account == WORLD and e.source in charge.sources)

    def settlement_date(self, source: SourceType, at_once: bool) -> int:
        return self.now if at_once else available_on(self.now, SETTLEMENT_DELAY_DAYS[source.value])

    # ---- charges -----------------------------------------------------------------------------------

    @rule(
        owner=accounts,
        currency=currencies,
        source=sources,
        amount=amounts,
        at_once=st.booleans(),
        fee_percent=st.integers(0, 20),
    )
    def direct_charge(
        self, owner: str, currency: str, source: SourceType, amount: int, at_once: bool, fee_percent: int
    ) -> None:
        app_fee = 0 if owner == PLATFORM else amount * fee_percent // 100
        charge_id = self.new_id("ch")
        key = self.key(owner, currency, source)
        c = Charge(
            key=key,
            amount=amount,
            processing_fee=PROCESSING[source].fee_for(amount),
            application_fee=app_fee,
            created=self.now,
            available_on=self.settlement_date(source, at_once),
            charge_id=charge_id,
            platform=PLATFORM,
            application_fee_id=self.new_id("fee") if app_fee else None,
        )
        entries = book_charge(c)
        rec = ChargeRec(charge_id, key, amount)
        if c.application_fee_id:
            rec.fee = FeeRec(c.application_fee_id, owner, self.key(PLATFORM, currency, source), app_fee)
            self.fees.append(rec.fee)
        self.book(entries)
        self.track(rec, entries, charge_id)
        assert rec.world == -amount
        self.charges.append(rec)

    @rule(
        destination=connected,
        currency=currencies,
        source=sources,
        amount=amounts,
        at_once=st.booleans(),
        whole_transfer=st.booleans(),
        percent=st.integers(0, 100),
    )
    def destination_charge(
        self,
        destination: str,
        currency: str,
        source: SourceType,
        amount: int,
        at_once: bool,
        whole_transfer: bool,
        percent: int,
    ) -> None:
        # Either the whole amount with an application fee back, or `transfer_data[amount]` (at least 1).
        app_fee = amount * percent // 100 // 5 if whole_transfer else 0
        transfer_amount = amount if whole_transfer else max(1, amount * percent // 100)
        charge_id, transfer_id, payment_id = self.new_id("ch"), self.new_id("tr"), self.new_id("py")
        key = self.key(PLATFORM, currency, source)
        c = Charge(
            key=key,
            amount=amount,
            processing_fee=PROCESSING[source].fee_for(amount),
            application_fee=app_fee,
            created=self.now,
            available_on=self.settlement_date(source, at_once),
            charge_id=charge_id,
            platform=PLATFORM,
            destination=destination,
            transfer_id=transfer_id,
            payment_id=payment_id,
            application_fee_id=self.new_id("fee") if app_fee else None,
            transfer_amount=transfer_amount,
        )
        entries = book_charge(c)
        rec = ChargeRec(charge_id, key, amount)
        rec.transfer = TransferRec(transfer_id, payment_id, key, destination, transfer_amount)
        self.transfers.append(rec.transfer)
        if c.application_fee_id:
            rec.fee = FeeRec(c.application_fee_id, destination, key, app_fee)
            self.fees.append(rec.fee)
        self.book(entries)
        self.track(rec, entries, charge_id)
        assert rec.world == -amount
        self.charges.append(rec)

    def refundable(self) -> list[ChargeRec]:
        return [c for c in self.charges if c.refunded < c.amount and not c.disputed]

    @precondition(lambda self: self.refundable())
    @rule(pick=picks, whole=st.booleans(), percent=percents, reverse=st.booleans(), fee_back=st.booleans())
    def refund(self, pick: int, whole: bool, percent: int, reverse: bool, fee_back: bool) -> None:
        charge = self.refundable()[pick % len(self.refundable())]
        remaining = charge.amount - charge.refunded
        amount = remaining if whole else max(1, remaining * percent // 100)
        refund_id = self.new_id("re")
        entries = book_refund(charge.key, amount, refund_id=refund_id, created=self.now)
        self.book(entries)
        charge.refunded += amount
        self.track(charge, entries, refund_id)
        t = charge.transfer
        if reverse and t is not None:
            charge.reversal_basis = min(charge.amount, charge.reversal_basis + amount)
            share = next_share(t.amount, charge.amount, charge.reversal_basis, t.reversed)
            if share:
                self.reverse(t, share)
        fee = charge.fee
        if fee_back and fee is not None:
            charge.fee_basis = min(charge.amount, charge.fee_basis + amount)
            back = next_share(fee.amount, charge.amount, charge.fee_basis, fee.refunded)
            if back:
                self.book(
                    book_application_fee_refund(
                        fee.platform_key, fee.account, back, fee_refund_id=self.new_id("fr"), created=self.now
                    )
                )
                fee.refunded += back

    @precondition(lambda self: any(c.refunded == 0 and not c.disputed for c in self.charges))
    @rule(pick=picks)
    def dispute(self, pick: int) -> None:
        candidates = [c for c in self.charges if c.refunded == 0 and not c.disputed]
        charge = candidates[pick % len(candidates)]
        dispute_id = self.new_id("dp")
        entries = book_dispute(
            charge.key,
            charge.amount,
            DISPUTE_FEE[charge.key.currency],
            dispute_id=dispute_id,
            created=self.now,
        )
        self.book(entries)
        charge.disputed = True
        self.track(charge, entries, dispute_id)
        assert charge.world == 0

    # ---- transfers and top-ups ---------------------------------------------------------------------

    def reverse(self, t: TransferRec, amount: int) -> None:
        assert 0 < amount <= t.amount - t.reversed
        self.book(
            book_transfer_reversal(
                t.platform_key,
                t.destination,
                amount,
                reversal_id=self.new_id("trr"),
                payment_refund_id=self.new_id("pyr"),
                created=self.now,
            )
        )
        t.reversed += amount

    @rule(destination=connected, currency=currencies, source=sources, percent=percents)
    def transfer(self, destination: str, currency: str, source: SourceType, percent: int) -> None:
        key = self.key(PLATFORM, currency, source)
        available = self.bucket(key).available
        with pytest.raises(InsufficientFunds):
            require_available(self.bucket(key), max(available, 0) + 1)
        if available <= 0:
            return
        amount = max(1, available * percent // 100)
        require_available(self.bucket(key), amount)
        transfer_id, payment_id = self.new_id("tr"), self.new_id("py")
        self._post(book_transfer(key, destination, amount, ids=(transfer_id, payment_id), created=self.now))
        assert self.bucket(key).available == available - amount >= 0
        self.sync_reserves()
        self.transfers.append(TransferRec(transfer_id, payment_id, key, destination, amount))

    @precondition(lambda self: any(t.reversed < t.amount for t in self.transfers))
    @rule(pick=picks, whole=st.booleans(), percent=percents)
    def reverse_transfer(self, pick: int, whole: bool, percent: int) -> None:
        candidates = [t for t in self.transfers if t.reversed < t.amount]
        t = candidates[pick % len(candidates)]
        remaining = t.amount - t.reversed
        self.reverse(t, remaining if whole else max(1, remaining * percent // 100))

    @rule(account=accounts, currency=currencies, amount=amounts, at_once=st.booleans())
    def top_up(self, account: str, currency: str, amount: int, at_once: bool) -> None:
        key = self.key(account, currency, SourceType.BANK_ACCOUNT)
        self.book(
            book_topup(
                key,
                amount,
                topup_id=self.new_id("tu"),
                created=self.now,
                available_on=self.settlement_date(SourceType.BANK_ACCOUNT, at_once),
            )
        )

    # ---- payouts -----------------------------------------------------------------------------------

    def payout_limit_of(self, key: BucketKey) -> int:
        return payout_limit(self.bucket(key).available, self.total_available(key.account, key.currency))

    @rule(
        pick=picks,
        instant=st.booleans(),
        whole=st.booleans(),
        percent=percents,
        priced=st.booleans(),
        platform_pays=st.booleans(),
    )
    def payout(
        self,
        pick: int,
        instant: bool,
        whole: bool,
        percent: int,
        priced: bool,
        platform_pays: bool,
    ) -> None:
        """A payout out of a bucket that has something to pay out (any bucket of an account if none)."""
        funded = sorted(
            k
            for k in self.buckets
            if k.account in ACCOUNTS
            and k.balance_type is BalanceType.PAYMENTS
            and self.payout_limit_of(k) > 0
        )
        key = funded[pick % len(funded)] if funded else self.key(ACCOUNTS[pick % len(ACCOUNTS)], "usd")
        account, currency = key.account, key.currency
        source_available = self.bucket(key).available
        total = self.total_available(account, currency)
        limit = payout_limit(source_available, total)
        assert limit == max(0, min(source_available, total))
        with pytest.raises(InsufficientFunds):
            require_payout_funds(limit + 1, source_available, total, currency)
        instant = instant and account != PLATFORM and currency != "huf"
        fees = NO_FEES
        if instant:
            pricing = INSTANT_PRICING if priced else None

            def fees_on(amount: int) -> PayoutFees:
                return instant_fees(
                    amount,
                    application=pricing,
                    processing=INSTANT_PROCESSING,
                    platform_pays_processing=platform_pays,
                    application_fee_id=f"fee_po_{amount}" if pricing else None,
                )

            largest = largest_payout(
                limit,
                application=pricing,
                processing=INSTANT_PROCESSING,
                platform_pays_processing=platform_pays,
            )
            amount = largest if whole else largest * percent // 100
            fees = fees_on(amount)
            # `largest_payout` is the largest amount whose cost fits: one more does not.
            assert largest + 1 + fees_on(largest + 1).charged_to_account() > limit
        else:
            step = STEP.get(currency, 1)
            amount = payable(limit, currency) if whole else limit * percent // 100 // step * step
            if amount % step == 0 and step > 1 and amount + 1 <= limit:
                with pytest.raises(InvalidAmount):
                    check_payout_amount(amount + 1, currency)
        if amount <= 0:
            return
        check_payout_amount(amount, currency)
        cost = amount + fees.charged_to_account()
        assert cost <= limit, (amount, fees, limit)
        require_payout_funds(cost, source_available, total, currency)
        self.open_payout(key, amount, "instant" if instant else "standard", fees)
        # The payout took exactly its cost out of available funds, and no more than its limit allowed.
        assert self.bucket(key).available == source_available - cost >= 0
        assert self.total_available(account, currency) == total - cost >= 0
        self.sync_reserves()

    @rule(account=accounts, currency=currencies, source=sources, units=st.integers(1, 50_000))
    def debit_payout(self, account: str, currency: str, source: SourceType, units: int) -> None:
        """A negative payout: the account's shortfall, or a reversal-like debit of its bank."""
        total = self.total_available(account, currency)
        amount = payable(total, currency) if total < 0 else -units * STEP.get(currency, 1)
        assert amount < 0
        assert check_payout_amount(amount, currency) == amount
        key = self.key(account, currency, source)
        before = self.bucket(key)
        payout = self.open_payout(key, amount, "standard", NO_FEES)
        # The credit is pending until the money arrives.
        assert payout.available_on > self.now
        after = self.bucket(key)
        assert (after.available, after.pending) == (before.available, before.pending - amount)
        self.sync_reserves()

    def open_payout(self, key: BucketKey, amount: int, method: str, fees: PayoutFees) -> PayoutRec:
        payout_id = self.new_id("po")
        booking = Booking(key, amount, payout_id=payout_id, created=self.now, platform=PLATFORM, fees=fees)
        entries = book_payout(booking, arrival=arrival_date(self.now, method))
        mine = [e for e in entries if e.key == key and e.type == "payout"]
        assert len(mine) == 1
        assert net(mine[0]) == -(amount + fees.charged_to_account())
        self._post(entries)  # the caller checks the buckets, then re-syncs the reserves
        status = PayoutStatus.IN_TRANSIT if method == "instant" else PayoutStatus.PENDING
        payout = PayoutRec(payout_id, key, amount, method, fees, mine[0].available_on, status)
        self.payouts.append(payout)
        return payout

    def open_payouts(self, *statuses: PayoutStatus) -> list[PayoutRec]:
        return [p for p in self.payouts if p.status in statuses]

    @precondition(lambda self: self.open_payouts(PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT))
    @rule(pick=picks)
    def advance_payout(self, pick: int) -> None:
        candidates = self.open_payouts(PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT)
        p = candidates[pick % len(candidates)]
        new = PayoutStatus.IN_TRANSIT if p.status is PayoutStatus.PENDING else PayoutStatus.PAID
        p.status = transition(p.status, new)

    @precondition(
        lambda self: self.open_payouts(PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID)
    )
    @rule(pick=picks)
    def fail_payout(self, pick: int) -> None:
        candidates = self.open_payouts(PayoutStatus.PENDING, PayoutStatus.IN_TRANSIT, PayoutStatus.PAID)
        p = candidates[pick % len(candidates)]
        p.status = transition(p.status, PayoutStatus.FAILED)
        self.give_back(p, "payout_failure")

    @precondition(lambda self: any(p.method == "standard" for p in self.open_payouts(PayoutStatus.PENDING)))
    @rule(pick=picks)
    def cancel_payout(self, pick: int) -> None:
        candidates = [p for p in self.open_payouts(PayoutStatus.PENDING) if p.method == "standard"]
        p = candidates[pick % len(candidates)]
        p.status = transition(p.status, PayoutStatus.CANCELED)
        self.give_back(p, "payout_cancel")

    def give_back(self, p: PayoutRec, kind: str) -> None:
        before = {k: b.total for k, b in self.buckets.items()}
        booking = Booking(p.key, p.amount, payout_id=p.id, created=self.now, platform=PLATFORM, fees=p.fees)
        entries = book_payout_return(booking, kind=kind, available_on=p.available_on)
        self._post(entries)
        # The return undoes the payout (both bookings are among `bookings` now): the amount and every
        # fee go back to whoever paid them.
        moved: dict[BucketKey, int] = defaultdict(int)
        for booking in self.bookings:
            if not any(e.source == p.id for e in booking):
                continue
            for e in booking:
                moved[e.key] += net(e)
        assert all(v == 0 for v in moved.values()), moved
        assert self.bucket(p.key).total - before.get(p.key, 0) == p.amount + p.fees.charged_to_account()
        self.sync_reserves()

    @precondition(lambda self: self.open_payouts(PayoutStatus.FAILED, PayoutStatus.CANCELED))
    @rule(pick=picks, new=st.sampled_from(PayoutStatus))
    def finished_payouts_stay_finished(self, pick: int, new: PayoutStatus) -> None:
        candidates = self.open_payouts(PayoutStatus.FAILED, PayoutStatus.CANCELED)
        with pytest.raises(IllegalTransition):
            transition(candidates[pick % len(candidates)].status, new)

    # ---- time --------------------------------------------------------------------------------------

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: int) -> None:
        self.now += seconds
        for txn in self.txns:
            if not txn.available and txn.entry.available_on <= self.now:
                txn.available = True
                b = self.bucket(txn.entry.key)
                moved = txn.net
                self.buckets[b.key] = Bucket(b.key, b.available + moved, b.pending - moved)
        self.sync_reserves()

    # ---- a booking that does not balance -----------------------------------------------------------

    @precondition(lambda self: self.bookings)
    @rule(pick=picks)
    def an_unbalanced_booking_is_refused(self, pick: int) -> None:
        booking = self.bookings[pick % len(self.bookings)]
        tampered = booking[:-1]
        before = dict(self.buckets)
        with pytest.raises(UnbalancedBooking):
            post(self.buckets, tampered)
        assert self.buckets == before

    # ---- invariants --------------------------------------------------------------------------------

    @invariant()
    def every_booking_sums_to_zero(self) -> None:
        for booking in self.bookings[-4:]:  # the step's (at most a few), the earlier ones were checked
            check_balanced(booking)

    @invariant()
    def all_buckets_sum_to_zero(self) -> None:
        totals: dict[tuple[bool, str], int] = defaultdict(int)
        for k, b in self.buckets.items():
            totals[(k.livemode, k.currency)] += b.total
        assert all(v == 0 for v in totals.values()), totals

    @invariant()
    def buckets_equal_their_transactions(self) -> None:
        expected: dict[BucketKey, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for txn in self.txns:
            available, pending = expected[txn.entry.key]
            if txn.available:
                available += txn.net
            else:
                pending += txn.net
            expected[txn.entry.key] = (available, pending)
        assert set(expected) == set(self.buckets)
        for k, b in self.buckets.items():
            assert (b.available, b.pending) == expected[k], k

    @invariant()
    def refunds_never_exceed_the_charge(self) -> None:
        for c in self.charges:
            assert 0 <= c.refunded <= c.amount
            assert c.world <= 0
            assert c.world == (0 if c.disputed else -(c.amount - c.refunded))
            t, fee = c.transfer, c.fee
            if t is not None:
                assert t.reversed >= half_up(t.amount, c.reversal_basis, c.amount)
                if c.reversal_basis == c.amount:
                    assert t.reversed == t.amount
            if fee is not None:
                assert fee.refunded == half_up(fee.amount, c.fee_basis, c.amount)
        for t in self.transfers:
            assert 0 <= t.reversed <= t.amount
        for fee in self.fees:
            assert 0 <= fee.refunded <= fee.amount

    @invariant()
    def reserves_cover_the_liable_accounts_negative_balances(self) -> None:
        for currency in CURRENCIES:
            owed = sum(max(0, -self.total_available(a, currency)) for a in LIABLE)
            reserved = self.bucket(self.key(PLATFORM, currency, balance=BalanceType.CONNECT_RESERVED))
            assert (reserved.available, reserved.pending) == (owed, 0)

    @invariant()
    def system_accounts_only_hold_what_they_booked(self) -> None:
        for k, b in self.buckets.items():
            assert k.livemode is self.livemode, k  # bookings keep the mode of the keys they are given
            if k.account in (WORLD, PROCESSOR):
                assert b.pending == 0, k  # the outside is booked at once


# About 8,000 steps per run in about 4 s of CPU time (see the module docstring). No deadline: a
# shared CPU makes per-example timings noisy.
TestPureLedger = PureLedger.TestCase
TestPureLedger.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
