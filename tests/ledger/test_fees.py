"""Fees: one rounding rule (half up, integers only), clamping, and the largest payout that fits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.fees import PercentFee, largest_amount_with_fee

INSTANT = PercentFee(percent_bps=150, minimum=50)  # 1.5 %, at least 0.50


@pytest.mark.parametrize(
    ("bps", "amount", "fee"),
    [
        # 1.5 %: exact halves go up, anything below a half goes down
        (150, 100, 2),  # 1.5 -> 2
        (150, 99, 1),  # 1.485 -> 1
        (150, 33, 0),  # 0.495 -> 0
        (150, 34, 1),  # 0.51 -> 1
        (150, 300, 5),  # 4.5 -> 5
        (150, 0, 0),
        # 50 %: every odd amount lands exactly on a half
        (5000, 1, 1),  # 0.5 -> 1
        (5000, 3, 2),  # 1.5 -> 2
        (5000, 4, 2),
        # 0.01 %: a half is 5000 minor units
        (1, 4999, 0),  # 0.4999 -> 0
        (1, 5000, 1),  # 0.5 -> 1
        (1, 14999, 1),  # 1.4999 -> 1
        (1, 15000, 2),  # 1.5 -> 2
        (10_000, 1234, 1234),  # 100 %
        (0, 10**9, 0),
    ],
)
def test_percent_rounds_half_up(bps: int, amount: int, fee: int) -> None:
    assert PercentFee(percent_bps=bps).fee_for(amount) == fee


@pytest.mark.parametrize(
    ("fee", "amount", "expected"),
    [
        (PercentFee(290, fixed=30), 1000, 59),  # 29 + 30, card-style pricing
        (PercentFee(290, fixed=30), 0, 30),
        (INSTANT, 0, 50),  # the minimum applies even to nothing
        (INSTANT, 1000, 50),  # 15 -> minimum
        (INSTANT, 3333, 50),  # 49.995 -> 50
        (INSTANT, 3366, 50),  # 50.49 -> 50
        (INSTANT, 3367, 51),  # 50.505 -> 51
        (PercentFee(150, minimum=50, maximum=1000), 100_000, 1000),  # 1500 -> capped
        (PercentFee(150, minimum=50, maximum=1000), 66_666, 1000),  # 999.99 -> 1000
        (PercentFee(150, minimum=50, maximum=1000), 66_633, 999),  # 999.495 -> 999
        (PercentFee(0, fixed=25, maximum=20), 500, 20),  # the cap applies to fixed too
        (PercentFee(100, minimum=7, maximum=7), 10**6, 7),
    ],
)
def test_fixed_part_and_clamping(fee: PercentFee, amount: int, expected: int) -> None:
    assert fee.fee_for(amount) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percent_bps": -1},
        {"percent_bps": 1, "fixed": -1},
        {"percent_bps": 1, "minimum": -1},
        {"percent_bps": 1, "minimum": 10, "maximum": 9},
    ],
)
def test_percent_fee_rejects_negative_parts(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message names whichever part is wrong
        PercentFee(**kwargs)


@pytest.mark.parametrize("bad", [1.5, True, "150"])
def test_percent_fee_rejects_non_ints(bad: object) -> None:
    with pytest.raises(TypeError):
        PercentFee(percent_bps=bad)  # type: ignore[arg-type]


def test_fee_for_rejects_negative_and_non_int_amounts() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        INSTANT.fee_for(-1)
    with pytest.raises(TypeError):
        INSTANT.fee_for(10.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("available", "fee", "expected"),
    [
        (10_000, INSTANT, 9852),  # 9852 + 148 = 10000
        (10_050, INSTANT, 9901),  # 9901 + 149 = 10050
        (3_417, INSTANT, 3366),  # 3366 + 50 = 3416 fits, 3367 + 51 = 3418 does not
        (50, INSTANT, 0),  # only the minimum fee fits
        (51, INSTANT, 1),
        (49, INSTANT, 0),  # not even the fee fits
        (0, INSTANT, 0),
        (-500, INSTANT, 0),  # a negative balance pays nothing out
        (1000, PercentFee(0), 1000),
        (1000, PercentFee(0, fixed=30), 970),
        (10**8, PercentFee(150, maximum=1000), 10**8 - 1000),
    ],
)
def test_largest_amount_with_fee_examples(available: int, fee: PercentFee, expected: int) -> None:
    result = largest_amount_with_fee(available, fee)
    assert result == expected
    if result > 0:
        assert result + fee.fee_for(result) <= available
    assert result + 1 + fee.fee_for(result + 1) > available


fees = st.builds(
    PercentFee,
    percent_bps=st.integers(min_value=0, max_value=10_000),
    fixed=st.integers(min_value=0, max_value=1_000),
    minimum=st.integers(min_value=0, max_value=1_000),
    maximum=st.none() | st.integers(min_value=1_000, max_value=100_000),
)


@given(fee=fees, a=st.integers(min_value=0, max_value=10**10), b=st.integers(0, 10**10))
def test_fee_is_monotone_in_amount(fee: PercentFee, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert fee.fee_for(low) <= fee.fee_for(high)


@given(fee=fees, amount=st.integers(min_value=0, max_value=10**10))
def test_fee_stays_within_bounds(fee: PercentFee, amount: int) -> None:
    charged = fee.fee_for(amount)
    assert charged >= fee.minimum
    if fee.maximum is not None:
        assert charged <= fee.maximum
    # half up: within half a minor unit of the exact percentage, before clamping
    unclamped = charged - fee.fixed
    if fee.minimum < charged and (fee.maximum is None or charged < fee.maximum):
        assert abs(unclamped * 10_000 - amount * fee.percent_bps) <= 5_000


@given(fee=fees, available=st.integers(min_value=-(10**6), max_value=10**10))
def test_largest_amount_with_fee_is_maximal(fee: PercentFee, available: int) -> None:
    result = largest_amount_with_fee(available, fee)
    assert result >= 0
    fits = result + fee.fee_for(result) <= available
    assert fits or result == 0
    assert result + 1 + fee.fee_for(result + 1) > available
