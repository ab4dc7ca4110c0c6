"""The pure payout core: the state machine, the simulated rail, the bookings and instant payout maths."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, asdict, fields, replace
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.errors import IllegalTransition, InsufficientFunds, InvalidAmount
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import instant_fees, largest_payout, local_day
from payoutkit.ledger.payout_record import Payout, PayoutInternal, TraceId
from payoutkit.ledger.payouts import (
    ALLOWED,
    Booking,
    Parties,
    PayoutFees,
    PayoutStatus,
    Transition,
    arrival_date,
    book_payout,
    book_payout_return,
    check_payout_amount,
    payable,
    payout_limit,
    plan_reversed,
    plan_transition,
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


# ---- lifecycle plans -------------------------------------------------------------------------------

PARTIES = Parties("acct_a", PLATFORM)


def _payout(status: PayoutStatus = S.PENDING, *, automatic: bool = False, amount: int = 1000) -> Payout:
    return Payout(
        id="po_1234567890abcdefghij",
        amount=amount,
        application_fee=None,
        application_fee_amount=None,
        arrival_date=THU_10H + 4 * DAY,
        automatic=automatic,
        balance_transaction="txn_1",
        created=THU_10H,
        currency="usd",
        description=None,
        destination="ba_1",
        livemode=False,
        method="standard",
        reconciliation_status="in_progress" if automatic else "not_applicable",
        source_type="card",
        status=status,
        type="bank_account",
    )


INTERNAL = PayoutInternal(failure_code=None, fees=PayoutFees(), txn_available_on=THU_10H)


class Expected(NamedTuple):
    events: list[str]
    fields: dict[str, object]
    returned: str | None = None  # the kind of the returns posted
    errored: bool = False
    released: bool = False


UNSUPPORTED = TraceId("unsupported", None)
SUPPORTED = TraceId("supported", "PKT1234567890ABCDEF")


@pytest.mark.parametrize(
    ("old", "step", "automatic", "expected"),
    [
        (S.PENDING, Transition(S.IN_TRANSIT, THU_10H), False, Expected(["payout.updated"], {})),
        (
            S.IN_TRANSIT,
            Transition(S.PAID, THU_10H),
            False,
            Expected(
                ["payout.updated", "payout.paid"], {"trace_id": TraceId("supported", "PKT1234567890ABCDEF")}
            ),
        ),
        (
            S.IN_TRANSIT,
            Transition(S.PAID, THU_10H),
            True,
            Expected(
                ["payout.updated", "payout.paid", "payout.reconciliation_completed"],
                {"reconciliation_status": "completed"},
            ),
        ),
        (
            S.IN_TRANSIT,
            Transition(S.FAILED, THU_10H, "no_account"),
            False,
            Expected(
                ["payout.updated", "payout.failed"],
                {"failure_code": "no_account", "trace_id": UNSUPPORTED},
                "payout_failure",
                errored=True,
            ),
        ),
        (
            S.PAID,
            Transition(S.FAILED, THU_10H),
            True,
            Expected(
                ["payout.updated", "payout.failed"],
                {"failure_code": "could_not_process", "reconciliation_status": "not_applicable"},
                "payout_failure",
                errored=True,
                released=True,
            ),
        ),
        (
            S.PENDING,
            Transition(S.CANCELED, THU_10H),
            False,
            Expected(["payout.updated", "payout.canceled"], {"trace_id": UNSUPPORTED}, "payout_cancel"),
        ),
        (
            S.PENDING,
            Transition(S.CANCELED, THU_10H),
            True,
            Expected(
                ["payout.updated", "payout.canceled"],
                {"reconciliation_status": "not_applicable"},
                "payout_cancel",
                released=True,
            ),
        ),
    ],
)
def test_a_transition_plan_says_what_the_transition_does(
    old: PayoutStatus, step: Transition, automatic: bool, expected: Expected
) -> None:
    payout = _payout(old, automatic=automatic)
    plan = plan_transition(payout, INTERNAL, step, PARTIES)
    assert plan.payout == payout
    assert plan.after.status is step.to
    assert [e.type for e in plan.events] == expected.events
    assert plan.events[0].previous_attributes == {"status": old.value}
    for name, value in expected.fields.items():
        assert getattr(plan.after, name) == value
    assert {e.type for e in plan.returns} == ({expected.returned} if expected.returned else set())
    if expected.returned:
        check_balanced(list(plan.returns))
        own = [e for e in plan.returns if e.key.account == "acct_a"]
        assert [e.amount for e in own] == [payout.amount]
    assert plan.mark_destination_errored is expected.errored
    assert plan.release_sweeps is expected.released


def test_a_failure_message_follows_its_code() -> None:
    plan = plan_transition(
        _payout(S.IN_TRANSIT), INTERNAL, Transition(S.FAILED, THU_10H, "account_closed"), PARTIES
    )
    assert plan.after.failure_message == "The bank account has been closed."


def test_a_paid_payout_keeps_its_trace_id_when_it_is_returned() -> None:
    paid = plan_transition(_payout(S.IN_TRANSIT), INTERNAL, Transition(S.PAID, THU_10H), PARTIES).after
    failed = plan_transition(paid, INTERNAL, Transition(S.FAILED, THU_10H + DAY), PARTIES).after
    assert failed.trace_id == paid.trace_id


def test_a_failed_instant_payout_returns_its_fees() -> None:
    fees = PayoutFees(application_fee=150, application_fee_id="fee_1", processing_fee=100)
    internal = PayoutInternal(failure_code=None, fees=fees, txn_available_on=THU_10H)
    plan = plan_transition(_payout(S.IN_TRANSIT), internal, Transition(S.FAILED, THU_10H), PARTIES)
    check_balanced(list(plan.returns))
    assert sum(e.amount for e in plan.returns if e.key.account == "acct_a") == 1000 + 150 + 100
    assert sum(e.amount for e in plan.returns if e.key.account == PLATFORM) == -150


def test_a_plan_refuses_what_the_state_machine_refuses() -> None:
    with pytest.raises(IllegalTransition):
        plan_transition(_payout(S.IN_TRANSIT), INTERNAL, Transition(S.CANCELED, THU_10H), PARTIES)


def test_a_reversed_payout_names_its_reversal_once() -> None:
    plan = plan_reversed(_payout(S.PAID), "po_rev")
    assert plan.after.reversed_by == "po_rev"
    assert [(e.type, e.previous_attributes) for e in plan.events] == [
        ("payout.updated", {"reversed_by": None})
    ]
    assert plan.returns == ()
    assert not plan.mark_destination_errored
    assert not plan.release_sweeps


def test_a_payout_document_round_trips() -> None:
    payout = _payout(S.PAID, automatic=True)
    assert Payout.from_doc(payout.doc()) == payout
    assert PayoutInternal.from_doc(INTERNAL.doc(), payout) == INTERNAL


@given(st.integers(0, 10**6), st.none() | st.just("fee_1"), st.integers(0, 10**6), st.booleans())
def test_a_payouts_internal_document_keeps_its_fees_shape_and_reads_back(
    application: int, fee_id: str | None, processing: int, platform_pays: bool
) -> None:
    """`PayoutFees.doc` spells out what `dataclasses.asdict` gave: the stored `internal.fees` shape."""
    fees = PayoutFees(application, fee_id, processing, platform_pays)
    assert fees.doc() == asdict(fees)
    internal = PayoutInternal(failure_code="no_account", fees=fees, txn_available_on=THU_10H)
    assert internal.doc()["fees"] == asdict(fees)
    assert PayoutInternal.from_doc(internal.doc(), _payout()) == internal


def test_a_payout_read_from_its_document_is_a_whole_frozen_payout() -> None:
    """`Payout.from_doc` sets every field at once (`made_whole`): the same value, hash-free equality
    and immutability as one built by the dataclass's `__init__`."""
    built = _payout(S.PAID, automatic=True)
    read = Payout.from_doc(built.doc())
    assert vars(read).keys() == {f.name for f in fields(Payout)}
    assert read == built
    assert repr(read) == repr(built)
    with pytest.raises(FrozenInstanceError):
        read.amount = 1  # type: ignore[misc]
    traced = replace(built, trace_id=TraceId("supported", "T-1"))
    assert Payout.from_doc(traced.doc()) == traced
