"""Allocation: the parts a series of refunds carries back always add up to the whole."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.allocation import entitled, next_share


@pytest.mark.parametrize(
    ("total", "whole", "progress", "expected"),
    [
        (333, 1000, 333, 111),  # 110.889 -> 111
        (333, 1000, 666, 222),  # 221.778 -> 222
        (333, 1000, 999, 333),  # 332.667 -> 333
        (333, 1000, 1000, 333),
        (101, 1000, 100, 10),  # 10.1 -> 10
        (101, 1000, 500, 51),  # 50.5 -> 51 (half up)
        (1, 2, 1, 1),  # 0.5 -> 1
        (1, 3, 1, 0),  # 0.333 -> 0
        (0, 5, 5, 0),
        (7, 10, 12, 7),  # progress past the whole counts as the whole
    ],
)
def test_entitled_rounds_half_up(total: int, whole: int, progress: int, expected: int) -> None:
    assert entitled(total, whole, progress) == expected


def test_the_issue_examples_come_back_whole() -> None:
    # A 1000 charge with transfer_data[amount]=333, refunded as 333+333+333+1.
    reversed_ = 0
    parts = []
    progress = 0
    for refund in (333, 333, 333, 1):
        progress += refund
        share = next_share(333, 1000, progress, reversed_)
        parts.append(share)
        reversed_ += share
    assert parts == [111, 111, 111, 0]
    assert sum(parts) == 333
    # A 101 application fee on a 1000 charge, ten refunds of 100.
    refunded = 0
    for step in range(1, 11):
        refunded += next_share(101, 1000, 100 * step, refunded)
    assert refunded == 101


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((10, 0, 0, 0), ValueError),
        ((-1, 10, 0, 0), ValueError),
        ((10, 10, -1, 0), ValueError),
        ((10, 10, 5, 11), ValueError),
        ((10, 10, 5, -1), ValueError),
        ((10.0, 10, 5, 0), TypeError),
        ((10, 10, True, 0), TypeError),
    ],
)
def test_bad_arguments_are_refused(args: tuple[int, int, int, int], error: type[Exception]) -> None:
    with pytest.raises(error):
        next_share(*args)


@st.composite
def refund_series(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """A total, a whole, and refunds that add up to the whole."""
    whole = draw(st.integers(1, 10**9))
    total = draw(st.integers(0, 10**9))
    cuts = draw(st.lists(st.integers(1, whole), max_size=20, unique=True))
    points = sorted({*cuts, whole})
    steps = [b - a for a, b in zip([0, *points], points, strict=False)]
    return total, whole, steps


@given(refund_series())
def test_the_parts_of_a_full_refund_sum_to_the_whole(series: tuple[int, int, list[int]]) -> None:
    total, whole, steps = series
    allocated, progress = 0, 0
    for step in steps:
        progress += step
        share = next_share(total, whole, progress, allocated)
        assert share >= 0
        allocated += share
        # Never more than a half unit away from the exact proportion at any point.
        assert abs(allocated - Fraction(total * progress, whole)) <= Fraction(1, 2)
    assert allocated == total


@given(refund_series(), st.data())
def test_allocations_by_other_paths_never_overshoot(
    series: tuple[int, int, list[int]], data: st.DataObject
) -> None:
    """Between refunds, part of the total may be taken back by another path (a reversal by hand):
    the refunds then carry less, never more than what is left, and a full refund still ends at the
    total exactly."""
    total, whole, steps = series
    allocated, progress = 0, 0
    for step in steps:
        allocated += data.draw(st.integers(0, total - allocated), label="taken by hand")
        progress += step
        share = next_share(total, whole, progress, allocated)
        assert 0 <= share <= total - allocated
        allocated += share
    assert allocated == total
