"""The pure payout core: the state machine, the simulated rail, the bookings and instant payout maths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.errors import IllegalTransition, InsufficientFunds, InvalidAmount
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import instant_fees, largest_payout, local_day
from payoutkit.ledger.payouts import (
    ALLOWED,
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
    simulated_step,
    transition,
)
from payoutkit.ledger.postings import PROCESSOR, WORLD, BucketKey, apply, check_balanced

S = PayoutStatus
THU_10H = 1767261600  # 2026-01-01T10:00:00Z, a Thursday
DAY = 86_400
MIDNIGHT_THU = THU_10H - 10 * 3600
KEY = BucketKey("acct_a", False, "usd")
PLATFORM = "acct_platform"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.PENDING, S.IN_TRANSIT),
        (S.PENDING, S.CANCELED),
        (S.PENDING, S.FAILED),
        (S.IN_TRANSIT, S.PAID),
        (S.IN_TRANSIT, S.FAILED),
        (S.PAID, S.FAILED),
    ],
)
def test_allowed_transitions(old: PayoutStatus, new: PayoutStatus) -> None:
    assert transition(old, new) is new


def test_every_other_transition_is_refused() -> None:
    refused = [(a, b) for a in S for b in S if b not in ALLOWED[a]]
    assert (S.IN_TRANSIT, S.CANCELED) in refused
    assert (S.PAID, S.PENDING) in refused
    assert (S.FAILED, S.PAID) in refused
    assert (S.CANCELED, S.PENDING) in refused
    for old, new in refused:
        with pytest.raises(IllegalTransition):
            transition(old, new)


def test_standard_payouts_arrive_two_business_days_after_submission() -> None:
    assert arrival_date(THU_10H, "standard") == MIDNIGHT_THU + 4 * DAY  # Thursday → Monday 00:00
    friday_23h = MIDNIGHT_THU + DAY + 23 * 3600  # submitted Saturday 00:00 → Tuesday
    assert arrival_date(friday_23h, "standard") == MIDNIGHT_THU + 5 * DAY
    assert arrival_date(THU_10H, "instant") == THU_10H + 15 * 60


@pytest.mark.parametrize(
    ("code", "history"),
    [
        (None, ["pending", "in_transit", "paid", "paid"]),
        ("no_account", ["pending", "in_transit", "failed", "failed"]),
        ("account_closed", ["pending", "in_transit", "paid", "failed"]),
    ],
)
def test_the_simulated_rail_follows_the_test_outcomes(code: str | None, history: list[str]) -> None:
    arrival = arrival_date(THU_10H, "standard")
    times = [THU_10H, THU_10H + 3600, arrival, arrival + 2 * DAY]
    seen = [
        simulated_step(
            created=THU_10H, method="standard", arrival=arrival, failure_code=code, now=t
        ).status.value
        for t in times
    ]
    assert seen == history
    last = simulated_step(
        created=THU_10H, method="standard", arrival=arrival, failure_code=code, now=times[-1]
    )
    assert last.next_at is None
    assert last.failure_code == (code if history[-1] == "failed" else None)


def test_each_step_says_when_to_look_again_and_it_moves_forward() -> None:
    arrival = arrival_date(THU_10H, "standard")
    t, statuses = THU_10H, []
    while True:
        step = simulated_step(
            created=THU_10H, method="standard", arrival=arrival, failure_code="account_closed", now=t
        )
        statuses.append(step.status.value)
        if step.next_at is None:
            break
        assert step.next_at > t
        t = step.next_at
    assert statuses == ["pending", "in_transit", "paid", "failed"]


fees = st.builds(
    PayoutFees,
    application_fee=st.integers(0, 10_000),
    application_fee_id=st.just("fee_1"),
    processing_fee=st.integers(0, 10_000),
    platform_pays_processing=st.booleans(),
)


@given(
    amount=st.integers(1, 10**8) | st.integers(-(10**8), -1),
    fees=fees,
    kind=st.sampled_from(["payout_failure", "payout_cancel"]),
)
def test_a_payout_and_its_return_balance_and_undo_each_other(
    amount: int, fees: PayoutFees, kind: str
) -> None:
    out = book_payout(Booking(KEY, amount, "po_1", THU_10H, PLATFORM, fees), arrival=THU_10H + 4 * DAY)
    back = book_payout_return(
        Booking(KEY, amount, "po_1", THU_10H + DAY, PLATFORM, fees),
        kind=kind,
        available_on=THU_10H + 4 * DAY if amount < 0 else THU_10H,
    )
    check_balanced(out)
    check_balanced(back)
    own = out[0]
    assert own.type == "payout"
    assert own.amount == -amount
    assert own.net == -amount - fees.charged_to_account()
    after = apply({}, [*out, *back])
    for bucket in after.values():
        assert bucket.total == 0, bucket
    # A payout is never booked to the world before its counterpart in the account.
    assert {e.key.account for e in out} <= {"acct_a", WORLD, PROCESSOR, PLATFORM}


def test_a_debit_is_pending_until_it_arrives() -> None:
    out = book_payout(Booking(KEY, -500, "po_1", THU_10H, PLATFORM), arrival=THU_10H + 4 * DAY)
    assert (out[0].amount, out[0].status.value, out[0].available_on) == (500, "pending", THU_10H + 4 * DAY)


PRICING = PercentFee(percent_bps=150, minimum=50, maximum=1500)
PROCESSING = PercentFee(percent_bps=100, minimum=50)


@given(available=st.integers(-1000, 10**7), platform_pays=st.booleans(), priced=st.booleans())
def test_largest_payout_is_the_largest_that_fits(available: int, platform_pays: bool, priced: bool) -> None:
    app = PRICING if priced else None

    def cost(a: int) -> int:
        f = instant_fees(a, application=app, processing=PROCESSING, platform_pays_processing=platform_pays)
        return a + f.charged_to_account()

    best = largest_payout(
        available, application=app, processing=PROCESSING, platform_pays_processing=platform_pays
    )
    if best > 0:
        assert cost(best) <= available
    assert cost(best + 1) > available or (best == 0 and cost(1) > available)


def test_net_available_example() -> None:
    # 4,926 + 1.5 % (73.89 → 74) = 5,000; the platform pays the processing fee.
    assert (
        largest_payout(5000, application=PRICING, processing=PROCESSING, platform_pays_processing=True)
        == 4926
    )
    # Without pricing and with the platform paying, the gross is payable.
    assert (
        largest_payout(5000, application=None, processing=PROCESSING, platform_pays_processing=True) == 5000
    )


def test_the_daily_limit_resets_at_local_midnight() -> None:
    assert local_day(MIDNIGHT_THU + 5 * 3600, "US") == "2025-12-31"  # 23:00 in Chicago
    assert local_day(MIDNIGHT_THU + 6 * 3600, "US") == "2026-01-01"
    assert local_day(MIDNIGHT_THU - 3600, "SG") == "2026-01-01"  # 07:00 in Singapore
    assert local_day(MIDNIGHT_THU - 3600, "FR") == "2026-01-01"  # 00:00 in Paris
    assert local_day(MIDNIGHT_THU - 3601, "FR") == "2025-12-31"


# ---- what a payout may take ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "total", "limit"),
    [
        (11_500, 0, 0),  # card -11500 cancels bank_account +11500: nothing to pay out
        (11_500, 3000, 3000),
        (3000, 11_500, 3000),
        (-100, 5000, 0),
        (5000, -100, 0),
    ],
)
def test_a_payout_takes_at_most_its_source_and_the_currency_total(
    source: int, total: int, limit: int
) -> None:
    assert payout_limit(source, total) == limit
    if limit:
        require_payout_funds(limit, source, total, "usd")
    with pytest.raises(InsufficientFunds) as refused:
        require_payout_funds(limit + 1, source, total, "usd")
    assert (refused.value.code, refused.value.param) == ("balance_insufficient", "amount")


@pytest.mark.parametrize(("amount", "ok"), [(100, True), (15_000, True), (150, False), (1, False)])
@pytest.mark.parametrize("currency", ["huf", "twd"])
def test_huf_and_twd_payouts_are_whole_units(currency: str, amount: int, ok: bool) -> None:
    if ok:
        assert check_payout_amount(amount, currency) == amount
    else:
        with pytest.raises(InvalidAmount, match="divisible by 100"):
            check_payout_amount(amount, currency)
    assert check_payout_amount(amount, "usd") == amount


@given(balance=st.integers(-(10**9), 10**9), currency=st.sampled_from(["huf", "twd", "usd", "jpy"]))
def test_an_automatic_payout_pays_whole_units_and_covers_a_shortfall(balance: int, currency: str) -> None:
    step = 100 if currency in ("huf", "twd") else 1
    paid = payable(balance, currency)
    assert paid % step == 0
    # A positive balance pays the largest whole amount it covers (the rest stays, less than a unit);
    # a shortfall is debited whole, by less than a unit more than it is.
    assert 0 <= balance - paid < step
