"""Settlement dates: UTC business days, and ``available_on`` as midnight UTC.

May 2024 is the calendar used throughout: Wed 1, Thu 2, Fri 3, Sat 4, Sun 5, Mon 6 ... Mon 13.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.calendar import (
    SETTLEMENT_DELAY_DAYS,
    add_business_days,
    available_on,
    days_in_month,
    start_of_day_utc,
    to_date_utc,
    to_timestamp,
)


def ts(day: int, hour: int = 0, minute: int = 0, *, month: int = 5, year: int = 2024) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def test_settlement_delays_per_source_type() -> None:
    assert dict(SETTLEMENT_DELAY_DAYS) == {"card": 2, "bank_account": 6, "fpx": 3}


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        (ts(1, 15, 30), 0, ts(1, 15, 30)),  # Wed + 0
        (ts(4, 9), 0, ts(4, 9)),  # Sat + 0 stays on Saturday
        (ts(1, 15, 30), 1, ts(2, 15, 30)),  # Wed -> Thu, time of day kept
        (ts(1, 15, 30), 2, ts(3, 15, 30)),  # Wed -> Fri
        (ts(1, 15, 30), 3, ts(6, 15, 30)),  # Wed -> Mon over the weekend
        (ts(2), 2, ts(6)),  # Thu -> Mon
        (ts(3, 23, 59), 1, ts(6, 23, 59)),  # Fri -> Mon
        (ts(3), 5, ts(10)),  # Fri -> Fri a week later
        (ts(3), 6, ts(13)),  # Fri -> Mon a week later
        (ts(4, 12), 1, ts(6, 12)),  # Sat -> Mon
        (ts(5, 12), 1, ts(6, 12)),  # Sun -> Mon
        (ts(4), 2, ts(7)),  # Sat -> Tue
        (ts(5), 5, ts(10)),  # Sun -> Fri
        (ts(5), 6, ts(13)),  # Sun -> Mon
        (ts(6), 5, ts(13)),  # Mon -> Mon
        (ts(1), 10, ts(15)),  # Wed -> Wed two weeks later
        (ts(31, month=12), 1, ts(1, month=1, year=2025)),  # Tue 31 Dec -> Wed 1 Jan (no holidays)
    ],
)
def test_add_business_days(start: int, days: int, end: int) -> None:
    assert add_business_days(start, days) == end


def test_add_business_days_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        add_business_days(ts(1), -1)


@pytest.mark.parametrize(
    ("created", "delay", "expected"),
    [
        (ts(1, 15, 30), 0, ts(1, 15, 30)),  # immediately available: created itself
        (ts(1, 15, 30), 2, ts(3)),  # card, Wed afternoon -> Fri midnight
        (ts(2, 0, 0), 2, ts(6)),  # Thu midnight -> Mon
        (ts(2, 23, 59), 2, ts(6)),  # Thu late -> Mon
        (ts(3, 10), 2, ts(7)),  # Fri -> Tue
        (ts(4, 10), 2, ts(7)),  # Sat -> Tue
        (ts(5, 23, 59), 2, ts(7)),  # Sun -> Tue
        (ts(6, 0, 0), 2, ts(8)),  # Mon midnight -> Wed
        (ts(1, 8), 6, ts(9)),  # legacy ACH: Wed -> Thu next week
        (ts(3, 8), 3, ts(8)),  # fpx model: Fri -> Wed
    ],
)
def test_available_on(created: int, delay: int, expected: int) -> None:
    assert available_on(created, delay) == expected


@pytest.mark.parametrize(
    ("moment", "midnight"),
    [
        (ts(1, 0, 0), ts(1)),
        (ts(1, 0, 0) + 1, ts(1)),
        (ts(1, 23, 59) + 59, ts(1)),
        (0, 0),
        (-1, -86_400),  # before the epoch still floors to the day's start
    ],
)
def test_start_of_day_utc(moment: int, midnight: int) -> None:
    assert start_of_day_utc(moment) == midnight


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [(2024, 2, 29), (2025, 2, 28), (2000, 2, 29), (1900, 2, 28), (2024, 12, 31), (2024, 4, 30)],
)
def test_days_in_month(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days


moments = st.integers(min_value=0, max_value=4_102_444_800)  # 1970 .. 2100


@given(moment=moments, days=st.integers(min_value=1, max_value=400))
def test_add_business_days_matches_day_by_day_count(moment: int, days: int) -> None:
    expected, left = moment, days
    while left:
        expected += 86_400
        if to_date_utc(expected).weekday() < 5:
            left -= 1
    assert add_business_days(moment, days) == expected


@given(moment=moments, delay=st.integers(min_value=1, max_value=30))
def test_available_on_is_a_weekday_midnight_after_created(moment: int, delay: int) -> None:
    result = available_on(moment, delay)
    assert result > moment
    assert result % 86_400 == 0
    assert to_date_utc(result).weekday() < 5


@given(day=st.dates(min_value=date(1970, 1, 1), max_value=date(2100, 1, 1)))
def test_date_round_trip(day: date) -> None:
    assert to_date_utc(to_timestamp(day)) == day
