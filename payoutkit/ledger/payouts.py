"""Payouts, pure: the state machine, the simulated rail's timing and outcomes, and the bookings.

State machine (table-driven, as Stripe documents it):

    pending ──▶ in_transit ──▶ paid ──▶ failed   (a late return after `paid`)
       │            └────────────────▶ failed
       ├──▶ canceled (manual standard payouts only, while pending)
       └──▶ failed

`failed` and `canceled` are terminal; `paid` is terminal unless the bank returns the payout later.

Bookings: a payout moves `amount` from the account's available balance to the world outside by a
`payout` transaction (an instant payout also carries its fees: the platform's application fee and,
when the account pays its own fees, the processing fee). A failure or a cancel returns it by a
`payout_failure` or `payout_cancel` transaction; the fees come back too. A payout with a negative
amount (a debit of the account's bank, or a payout reversal) credits the account; the credit is
*pending* until the payout's arrival date, because the money has not arrived before then.

What a payout may take: never more than its source type's available funds, nor more than the
account's available total in the currency across source types (`payout_limit`): an account that
owes money in one source type (card -11500) is not paid out from another (bank_account +11500), or
the debt would be left to whoever covers negative balances (the platform's `connect_reserved` when
it is liable). HUF and TWD are paid out in whole units (`PAYOUT_STEP`): a requested payout must be a
multiple of 100, and an automatic payout pays the largest multiple its balance covers (`payable`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from payoutkit.ledger.calendar import SECONDS_PER_DAY, add_business_days, start_of_day_utc
from payoutkit.ledger.errors import IllegalTransition, InsufficientFunds, InvalidAmount
from payoutkit.ledger.money import PAYOUT_STEP
from payoutkit.ledger.payout_record import NO_FEES as NO_FEES
from payoutkit.ledger.payout_record import Payout, PayoutInternal, TraceId
from payoutkit.ledger.payout_record import PayoutFees as PayoutFees
from payoutkit.ledger.payout_record import PayoutStatus as PayoutStatus
from payoutkit.ledger.postings import PROCESSOR, WORLD, BalanceType, BucketKey, Entry, FeeDetail, SourceType

ALLOWED: dict[PayoutStatus, frozenset[PayoutStatus]] = {
    PayoutStatus.PENDING: frozenset({PayoutStatus.IN_TRANSIT, PayoutStatus.CANCELED, PayoutStatus.FAILED}),
    PayoutStatus.IN_TRANSIT: frozenset({PayoutStatus.PAID, PayoutStatus.FAILED}),
    PayoutStatus.PAID: frozenset({PayoutStatus.FAILED}),
    PayoutStatus.FAILED: frozenset(),
    PayoutStatus.CANCELED: frozenset(),
}


def transition(current: PayoutStatus | str, new: PayoutStatus | str) -> PayoutStatus:
    """`new` if the state machine allows moving there from `current`; else `IllegalTransition`."""
    current, new = PayoutStatus(current), PayoutStatus(new)
    if new not in ALLOWED[current]:
        raise IllegalTransition(
            f"A payout cannot go from {current.value} to {new.value}.",
            param=None,
            code="payout_not_updatable",
        )
    return new


# ---- timing of the simulated rail ----------------------------------------------------------------

# A standard payout is submitted to the bank an hour after it is created (it can be canceled until
# then) and arrives at 00:00 UTC after STANDARD_ARRIVAL_BUSINESS_DAYS business days; an instant payout
# is submitted at once and arrives INSTANT_ARRIVAL_SECONDS later. A late return comes one business day
# after arrival.
STANDARD_SUBMIT_SECONDS = 3600
STANDARD_ARRIVAL_BUSINESS_DAYS = 2
INSTANT_ARRIVAL_SECONDS = 15 * 60
REVERSAL_WINDOW_SECONDS = 90 * SECONDS_PER_DAY


def submit_time(created: int, method: str) -> int:
    return created if method == "instant" else created + STANDARD_SUBMIT_SECONDS


@functools.lru_cache(maxsize=1024)  # a batch of automatic payouts asks it for one time, thousands of times
def arrival_date(created: int, method: str) -> int:
    if method == "instant":
        return created + INSTANT_ARRIVAL_SECONDS
    return start_of_day_utc(add_business_days(submit_time(created, method), STANDARD_ARRIVAL_BUSINESS_DAYS))


def late_return_time(arrival: int) -> int:
    return add_business_days(arrival, 1)


# Failure codes of the public test bank numbers and debit cards, and when they strike: "transit"
# fails the payout when it should arrive; "return" pays it, then the bank returns it a business day
# later (Stripe's `paid` → `failed`).
FAILURE_TIMING = {
    "no_account": "transit",
    "invalid_currency": "transit",
    "could_not_process": "transit",
    "account_closed": "return",
    "insufficient_funds": "return",
    "debit_not_authorized": "return",
}

FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": "The bank account has restrictions on either the type, or the number, "
    "of payouts allowed.",
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account.",
    "declined": "The bank declined this transfer.",
    "insufficient_funds": "Your account has insufficient funds to cover the payout.",
    "invalid_account_number": "The routing number seems correct, but the account number is invalid.",
    "invalid_currency": "The bank was unable to process this payout because of its currency.",
    "no_account": "The bank account details on file are probably incorrect. No bank account could be "
    "located with those details.",
    "unsupported_card": "The bank no longer supports payouts to this card.",
}


@dataclass(frozen=True)
class Step:
    """Where a payout stands at a time, by the simulated rail: its status, the failure code if it
    failed, and when something next happens (None when nothing more will)."""

    status: PayoutStatus
    failure_code: str | None
    next_at: int | None


def simulated_step(*, created: int, method: str, arrival: int, failure_code: str | None, now: int) -> Step:
    """The status a payout created at `created` has reached by `now` on the simulated rail."""
    submit = submit_time(created, method)
    if now < submit:
        return Step(PayoutStatus.PENDING, None, submit)
    if now < arrival:
        return Step(PayoutStatus.IN_TRANSIT, None, arrival)
    timing = FAILURE_TIMING.get(failure_code or "", "transit") if failure_code else None
    if timing == "transit":
        return Step(PayoutStatus.FAILED, failure_code, None)
    if timing == "return":
        back = late_return_time(arrival)
        if now < back:
            return Step(PayoutStatus.PAID, None, back)
        return Step(PayoutStatus.FAILED, failure_code, None)
    return Step(PayoutStatus.PAID, None, None)


# ---- what a payout may take ---------------------------------------------------------------------


def check_payout_amount(amount: int, currency: str, *, param: str = "amount") -> int:
    """`amount` if a payout in `currency` may be of it (HUF, TWD: a multiple of 100); else raise."""
    step = PAYOUT_STEP.get(currency, 1)
    if amount % step:
        raise InvalidAmount(
            f"Invalid {param}: payouts in {currency.upper()} are made in whole units, so the amount must "
            f"be evenly divisible by {step} (for example {amount // step * step}).",
            param=param,
            code="invalid_amount",
        )
    return amount


def payable(balance: int, currency: str) -> int:
    """The automatic payout for `balance`: a positive balance pays out the largest multiple of the
    currency's payout step it covers (the rest stays for a later payout); a shortfall (negative) is
    debited by the smallest multiple that covers it."""
    step = PAYOUT_STEP.get(currency, 1)
    if balance >= 0:
        return balance // step * step
    return -((-balance + step - 1) // step * step)


def payout_limit(source_available: int, currency_total: int) -> int:
    """The most a payout (its fees included) may take out of one source type: what that source has
    available, and never more than the account's available total in the currency."""
    return max(0, min(source_available, currency_total))


def require_payout_funds(cost: int, source_available: int, currency_total: int, currency: str) -> None:
    """Refuse a payout costing `cost` that its source's funds, or the account's total, do not cover."""
    if cost <= payout_limit(source_available, currency_total):
        return
    if cost > source_available:
        raise InsufficientFunds(
            "You have insufficient available funds in your Payoutkit account for this request. "
            f"This request needs {cost} and {max(source_available, 0)} is available.",
            param="amount",
        )
    raise InsufficientFunds(
        f"This payout would take the account's available {currency.upper()} balance below zero: another "
        f"source type is negative, and {max(currency_total, 0)} is available across all source types. "
        "A payout may take at most that.",
        param="amount",
    )


# ---- bookings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """A payout's movement: `amount` out of (or, negative, into) the `key` bucket, at `created`, with
    its fees (the platform's application fee goes to `platform`)."""

    key: BucketKey
    amount: int
    payout_id: str
    created: int
    platform: str
    fees: PayoutFees = NO_FEES
    # An automatic payout sweeps its own `payout` transaction: it is written with the payout's id.
    automatic: bool = False


def book_payout(b: Booking, *, arrival: int, description: str | None = None) -> list[Entry]:
    """Money leaves the account for its bank (amount > 0), or is pulled in from it (amount < 0)."""
    key, amount, created, fees = b.key, b.amount, b.created, b.fees
    cur = key.currency
    details: list[FeeDetail] = []
    if fees.application_fee:
        details.append(
            FeeDetail(fees.application_fee, cur, "application_fee", "Instant payout fee", b.platform)
        )
    if fees.processing_fee and not fees.platform_pays_processing:
        details.append(FeeDetail(fees.processing_fee, cur, "stripe_fee", "Instant payout processing fee"))
    # A debit credits the account only once the money arrives.
    available_on = created if amount > 0 else max(arrival, created)
    entries = [
        Entry(
            key,
            -amount,
            "payout",
            "payout",
            created,
            available_on,
            fee_details=tuple(details),
            description=description or ("STRIPE PAYOUT" if amount > 0 else "Debit of bank account"),
            source=b.payout_id,
            payout=b.payout_id if b.automatic else None,
        ),
        Entry(key.with_account(WORLD), amount, "payout", "payout", created, created, source=b.payout_id),
    ]
    entries += _fee_entries(key, fees, b.platform, b.payout_id, created, sign=1)
    return entries


def book_payout_return(b: Booking, *, kind: str, available_on: int) -> list[Entry]:
    """A failed (`payout_failure`) or canceled (`payout_cancel`) payout gives its amount and fees back
    (`b.created` is the time of the return).

    `available_on` is the original `payout` transaction's: a debit that fails before it arrived takes
    back pending funds, one that fails after takes back available ones.
    """
    if kind not in ("payout_failure", "payout_cancel"):
        raise ValueError(f"not a payout return: {kind}")
    key, amount, created = b.key, b.amount, b.created
    entries = [
        Entry(
            key,
            amount,
            kind,
            kind,
            created,
            max(available_on, created) if amount < 0 else created,
            description="Payout failure" if kind == "payout_failure" else "Payout cancellation",
            source=b.payout_id,
        ),
        Entry(key.with_account(WORLD), -amount, kind, kind, created, created, source=b.payout_id),
    ]
    entries += _fee_entries(key, b.fees, b.platform, b.payout_id, created, sign=-1)
    return entries


def _fee_entries(
    key: BucketKey, fees: PayoutFees, platform: str, payout_id: str, created: int, *, sign: int
) -> list[Entry]:
    """The fees' counterparts. Charging (`sign=1`): the platform earns its application fee (the
    account pays it in the payout's fee details); the processor earns its fee from the account (fee
    details) or from the platform. Returning (`sign=-1`): every fee goes back to whoever paid it."""
    entries: list[Entry] = []
    fee_id = fees.application_fee_id or payout_id
    if fees.application_fee:
        earned = (
            "application_fee" if sign > 0 else "application_fee_refund",
            "platform_earning" if sign > 0 else "platform_earning_refund",
        )
        entries.append(
            Entry(
                key.with_account(platform),
                sign * fees.application_fee,
                *earned,
                created,
                created,
                source=fee_id,
            )
        )
        if sign < 0:
            entries.append(Entry(key, fees.application_fee, *earned, created, created, source=fee_id))
    if fees.processing_fee:
        entries.append(
            Entry(
                key.with_account(PROCESSOR),
                sign * fees.processing_fee,
                "stripe_fee",
                "fee",
                created,
                created,
                source=payout_id,
                description="Instant payout processing fee",
            )
        )
        payer = key.with_account(platform) if fees.platform_pays_processing else key
        if fees.platform_pays_processing or sign < 0:
            entries.append(
                Entry(
                    payer,
                    -sign * fees.processing_fee,
                    "stripe_fee",
                    "fee",
                    created,
                    created,
                    source=payout_id,
                    description="Instant payout processing fee"
                    + (" (for a connected account)" if fees.platform_pays_processing else "")
                    + (" returned" if sign < 0 else ""),
                )
            )
    return entries


# ---- lifecycle plans -----------------------------------------------------------------------------
#
# What a transition of a payout does, decided here and applied by the services: the fields it sets,
# the entries returning its funds (and fees), the events to emit once it is saved, whether its
# destination is marked `errored`, and whether what it swept is released.


@dataclass(frozen=True)
class Parties:
    """Whose buckets a payout's return moves: the account's and its platform's (the fees)."""

    account: str
    platform: str


@dataclass(frozen=True)
class PlannedEvent:
    type: str
    previous_attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    """A transition of `payout` (as it was) to `after`. `returns` are posted first; the service then
    sets `after.failure_balance_transaction` to their transaction (`returns_funds`)."""

    payout: Payout
    after: Payout
    returns: tuple[Entry, ...] = ()
    events: tuple[PlannedEvent, ...] = ()
    mark_destination_errored: bool = False
    release_sweeps: bool = False

    @property
    def returns_funds(self) -> bool:
        return bool(self.returns)


def _return_entries(
    payout: Payout, internal: PayoutInternal, parties: Parties, kind: str, now: int
) -> list[Entry]:
    source = BucketKey(
        parties.account,
        payout.livemode,
        payout.currency,
        BalanceType.PAYMENTS,
        SourceType(payout.source_type),
    )
    booking = Booking(source, payout.amount, payout.id, now, parties.platform, internal.fees)
    return book_payout_return(booking, kind=kind, available_on=internal.txn_available_on)


def trace_value(payout_id: str) -> str:
    return "PKT" + payout_id[3:19].upper()


@dataclass(frozen=True)
class Transition:
    """Where a payout goes (`to`), with the failure code a failure reports, at `now`."""

    to: PayoutStatus
    now: int
    failure_code: str | None = None


def plan_transition(payout: Payout, internal: PayoutInternal, step: Transition, parties: Parties) -> Plan:
    """The plan of moving `payout` to `step.to`, checked by the state machine."""
    new = transition(payout.status, step.to)
    changes: dict[str, Any] = {"status": new}
    events = [PlannedEvent("payout.updated", {"status": payout.status.value})]
    returns: list[Entry] = []
    if new is PayoutStatus.PAID:
        changes["trace_id"] = TraceId("supported", trace_value(payout.id))
        events.append(PlannedEvent("payout.paid"))
        if payout.automatic:
            changes["reconciliation_status"] = "completed"
            events.append(PlannedEvent("payout.reconciliation_completed"))
    elif new is PayoutStatus.FAILED:
        code = step.failure_code or "could_not_process"
        changes["failure_code"] = code
        changes["failure_message"] = FAILURE_MESSAGES.get(code, "The payout failed.")
        returns = _return_entries(payout, internal, parties, "payout_failure", step.now)
        if payout.trace_id.status == "pending":
            changes["trace_id"] = TraceId("unsupported", None)
        events.append(PlannedEvent("payout.failed"))
    elif new is PayoutStatus.CANCELED:
        returns = _return_entries(payout, internal, parties, "payout_cancel", step.now)
        changes["trace_id"] = TraceId("unsupported", None)
        events.append(PlannedEvent("payout.canceled"))
    ends = new in (PayoutStatus.FAILED, PayoutStatus.CANCELED)
    if payout.automatic and ends:
        changes["reconciliation_status"] = "not_applicable"
    return Plan(
        payout=payout,
        after=replace(payout, **changes),
        returns=tuple(returns),
        events=tuple(events),
        mark_destination_errored=new is PayoutStatus.FAILED,
        release_sweeps=payout.automatic and ends,
    )


def plan_reversed(payout: Payout, reversal_id: str) -> Plan:
    """The plan of a payout once its reversal `reversal_id` is created: it names it, once."""
    return Plan(
        payout=payout,
        after=replace(payout, reversed_by=reversal_id),
        events=(PlannedEvent("payout.updated", {"reversed_by": None}),),
    )
