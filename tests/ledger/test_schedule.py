"""Payout schedules: updates as ``POST /v1/accounts/{id}`` applies them; the next payout time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.calendar import to_date_utc
from payoutkit.ledger.errors import InvalidSchedule
from payoutkit.ledger.schedule import (
    Interval,
    Schedule,
    Weekday,
    default_schedule,
    minimum_delay_days,
    next_payout_time,
    resolve_schedule,
)

DAILY = Schedule(Interval.DAILY, 2)
WEEKLY_FRIDAY = Schedule(Interval.WEEKLY, 2, weekly_anchor=Weekday.FRIDAY)
MONTHLY_15 = Schedule(Interval.MONTHLY, 2, monthly_anchor=15)
MANUAL = Schedule(Interval.MANUAL, 2)


def ts(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def param(field: str) -> str:
    return f"settings[payouts][schedule][{field}]"


def test_enums_carry_stripe_literals() -> None:
    assert [i.value for i in Interval] == ["manual", "daily", "weekly", "monthly"]
    assert str(Weekday.MONDAY) == "monday"
    assert [d.value for d in Weekday][5:] == ["saturday", "sunday"]


@pytest.mark.parametrize(
    ("country", "minimum"), [("US", 2), ("us", 2), ("GB", 3), ("JP", 4), ("BR", 30), ("FR", 2)]
)
def test_minimum_delay_days(country: str, minimum: int) -> None:
    assert minimum_delay_days(country) == minimum


def test_default_schedule() -> None:
    assert default_schedule("US") == Schedule(Interval.DAILY, 2)
    assert default_schedule("JP") == Schedule(Interval.DAILY, 4)


@pytest.mark.parametrize(
    ("current", "changes", "country", "expected"),
    [
        (DAILY, {}, "US", DAILY),
        (DAILY, {"delay_days": "7"}, "US", Schedule(Interval.DAILY, 7)),
        (DAILY, {"delay_days": 7}, "US", Schedule(Interval.DAILY, 7)),
        (DAILY, {"delay_days": " 7 "}, "US", Schedule(Interval.DAILY, 7)),
        (DAILY, {"delay_days": "365"}, "US", Schedule(Interval.DAILY, 365)),
        (Schedule(Interval.DAILY, 9), {"delay_days": "minimum"}, "US", Schedule(Interval.DAILY, 2)),
        (Schedule(Interval.DAILY, 9), {"delay_days": "minimum"}, "GB", Schedule(Interval.DAILY, 3)),
        (DAILY, {"delay_days": "3"}, "GB", Schedule(Interval.DAILY, 3)),
        (DAILY, {"interval": "manual"}, "US", MANUAL),
        # switching to weekly without an anchor: monday
        (DAILY, {"interval": "weekly"}, "US", Schedule(Interval.WEEKLY, 2, Weekday.MONDAY)),
        (DAILY, {"interval": "weekly", "weekly_anchor": "friday"}, "US", WEEKLY_FRIDAY),
        (DAILY, {"interval": "weekly", "weekly_anchor": ""}, "US",
         Schedule(Interval.WEEKLY, 2, Weekday.MONDAY)),
        # staying weekly keeps the anchor; changing only the anchor works
        (WEEKLY_FRIDAY, {"delay_days": "5"}, "US",
         Schedule(Interval.WEEKLY, 5, weekly_anchor=Weekday.FRIDAY)),
        (WEEKLY_FRIDAY, {"interval": "weekly"}, "US", WEEKLY_FRIDAY),
        (WEEKLY_FRIDAY, {"weekly_anchor": "sunday"}, "US",
         Schedule(Interval.WEEKLY, 2, weekly_anchor=Weekday.SUNDAY)),
        (WEEKLY_FRIDAY, {"weekly_anchor": ""}, "US", Schedule(Interval.WEEKLY, 2, Weekday.MONDAY)),
        # switching away clears the anchor that no longer applies
        (WEEKLY_FRIDAY, {"interval": "daily"}, "US", DAILY),
        (MONTHLY_15, {"interval": "manual"}, "US", MANUAL),
        (WEEKLY_FRIDAY, {"interval": "monthly"}, "US",
         Schedule(Interval.MONTHLY, 2, monthly_anchor=1)),
        (DAILY, {"interval": "monthly", "monthly_anchor": "31"}, "US",
         Schedule(Interval.MONTHLY, 2, monthly_anchor=31)),
        (DAILY, {"interval": "monthly", "monthly_anchor": 15}, "US", MONTHLY_15),
        (MONTHLY_15, {"delay_days": "minimum"}, "US", MONTHLY_15),
        (MONTHLY_15, {"monthly_anchor": "1"}, "US", Schedule(Interval.MONTHLY, 2, None, 1)),
        (MONTHLY_15, {"monthly_anchor": ""}, "US", Schedule(Interval.MONTHLY, 2, None, 1)),
        (MONTHLY_15, {"interval": "weekly", "weekly_anchor": "friday"}, "US", WEEKLY_FRIDAY),
        (MANUAL, {"interval": Interval.DAILY, "delay_days": 4}, "US", Schedule(Interval.DAILY, 4)),
    ],
)  # fmt: skip
def test_resolve_schedule(
    current: Schedule, changes: dict[str, object], country: str, expected: Schedule
) -> None:
    assert resolve_schedule(current, changes, country=country) == expected


@pytest.mark.parametrize(
    ("current", "changes", "country", "field", "message"),
    [
        (DAILY, {"delay_days": "1"}, "US", "delay_days", "at least 2"),
        (DAILY, {"delay_days": 0}, "US", "delay_days", "at least 2"),
        (DAILY, {"delay_days": "-3"}, "US", "delay_days", "at least 2"),
        (DAILY, {"delay_days": "2"}, "GB", "delay_days", "at least 3"),
        (DAILY, {"delay_days": "366"}, "US", "delay_days", "at most 365"),
        (DAILY, {"delay_days": "seven"}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"delay_days": "7.5"}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"delay_days": 7.0}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"delay_days": True}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"delay_days": ""}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"delay_days": "Minimum"}, "US", "delay_days", "Invalid integer"),
        (DAILY, {"interval": "hourly"}, "US", "interval", "must be one of"),
        (DAILY, {"interval": ""}, "US", "interval", "must be one of"),
        (DAILY, {"interval": "Weekly"}, "US", "interval", "must be one of"),
        (DAILY, {"weekly_anchor": "friday"}, "US", "weekly_anchor", "only be set when"),
        (MONTHLY_15, {"weekly_anchor": "friday"}, "US", "weekly_anchor", "only be set when"),
        (WEEKLY_FRIDAY, {"interval": "daily", "weekly_anchor": "friday"}, "US", "weekly_anchor",
         "only be set when"),
        (WEEKLY_FRIDAY, {"weekly_anchor": "funday"}, "US", "weekly_anchor", "must be one of"),
        (WEEKLY_FRIDAY, {"weekly_anchor": 5}, "US", "weekly_anchor", "must be one of"),
        (DAILY, {"monthly_anchor": "15"}, "US", "monthly_anchor", "only be set when"),
        (WEEKLY_FRIDAY, {"monthly_anchor": "15"}, "US", "monthly_anchor", "only be set when"),
        (MONTHLY_15, {"monthly_anchor": "0"}, "US", "monthly_anchor", "between 1 and 31"),
        (MONTHLY_15, {"monthly_anchor": "32"}, "US", "monthly_anchor", "between 1 and 31"),
        (MONTHLY_15, {"monthly_anchor": "last"}, "US", "monthly_anchor", "Invalid integer"),
        (DAILY, {"weekly_payout_days": ["monday"]}, "US", "weekly_payout_days", "not supported"),
        (DAILY, {"monthly_payout_days": [1, 15]}, "US", "monthly_payout_days", "not supported"),
        (DAILY, {"hourly_anchor": "1"}, "US", "hourly_anchor", "unknown parameter"),
    ],
)  # fmt: skip
def test_resolve_schedule_rejects(
    current: Schedule, changes: dict[str, object], country: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidSchedule, match=message) as info:
        resolve_schedule(current, changes, country=country)
    assert info.value.param == param(field)


def test_resolve_schedule_error_codes() -> None:
    with pytest.raises(InvalidSchedule) as info:
        resolve_schedule(DAILY, {"delay_days": "x"}, country="US")
    assert info.value.code == "parameter_invalid_integer"
    with pytest.raises(InvalidSchedule) as info:
        resolve_schedule(DAILY, {"bogus": "x"}, country="US")
    assert info.value.code == "parameter_unknown"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval": Interval.WEEKLY, "delay_days": 2}, "weekly_anchor"),
        ({"interval": Interval.DAILY, "delay_days": 2, "weekly_anchor": Weekday.MONDAY},
         "weekly_anchor"),
        ({"interval": Interval.MONTHLY, "delay_days": 2}, "monthly_anchor"),
        ({"interval": Interval.DAILY, "delay_days": 2, "monthly_anchor": 1}, "monthly_anchor"),
        ({"interval": Interval.MONTHLY, "delay_days": 2, "monthly_anchor": 32}, "monthly_anchor"),
        ({"interval": Interval.DAILY, "delay_days": -1}, "delay_days"),
        ({"interval": Interval.DAILY, "delay_days": 366}, "delay_days"),
        ({"interval": Interval.DAILY, "delay_days": 2.0}, "delay_days"),
    ],
)  # fmt: skip
def test_schedule_checks_itself(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidSchedule) as info:
        Schedule(**kwargs)  # type: ignore[arg-type]
    assert info.value.param == param(field)


def test_schedule_accepts_literals() -> None:
    schedule = Schedule("weekly", 2, weekly_anchor="friday")  # type: ignore[arg-type]
    assert schedule == WEEKLY_FRIDAY
    assert schedule.interval is Interval.WEEKLY
    assert schedule.weekly_anchor is Weekday.FRIDAY


# 2024-05-01 is a Wednesday; 2024 is a leap year, 2025 is not.
@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        (MANUAL, ts(2024, 5, 1, 12), None),
        (DAILY, ts(2024, 5, 1, 12), ts(2024, 5, 2)),
        (DAILY, ts(2024, 5, 1), ts(2024, 5, 2)),  # strictly after: not the same midnight
        (DAILY, ts(2024, 5, 1) - 1, ts(2024, 5, 1)),
        (DAILY, ts(2024, 5, 3, 9), ts(2024, 5, 4)),  # every calendar day, weekends included
        (DAILY, ts(2024, 12, 31, 23, 59), ts(2025, 1, 1)),
        (WEEKLY_FRIDAY, ts(2024, 5, 1, 12), ts(2024, 5, 3)),  # Wed -> Fri
        (WEEKLY_FRIDAY, ts(2024, 5, 3), ts(2024, 5, 10)),  # Fri midnight -> next Fri
        (WEEKLY_FRIDAY, ts(2024, 5, 3, 12), ts(2024, 5, 10)),
        (WEEKLY_FRIDAY, ts(2024, 5, 2, 23, 59), ts(2024, 5, 3)),  # Thu late -> Fri
        (WEEKLY_FRIDAY, ts(2024, 5, 4), ts(2024, 5, 10)),  # Sat -> Fri
        (Schedule(Interval.WEEKLY, 2, Weekday.MONDAY), ts(2024, 5, 5, 23), ts(2024, 5, 6)),
        (Schedule(Interval.WEEKLY, 2, Weekday.SUNDAY), ts(2024, 5, 6), ts(2024, 5, 12)),
        (Schedule(Interval.WEEKLY, 2, Weekday.WEDNESDAY), ts(2024, 12, 30), ts(2025, 1, 1)),
        (MONTHLY_15, ts(2024, 5, 1), ts(2024, 5, 15)),
        (MONTHLY_15, ts(2024, 5, 14, 23, 59), ts(2024, 5, 15)),
        (MONTHLY_15, ts(2024, 5, 15), ts(2024, 6, 15)),  # on the day at midnight -> next month
        (MONTHLY_15, ts(2024, 5, 20), ts(2024, 6, 15)),
        (MONTHLY_15, ts(2024, 12, 20), ts(2025, 1, 15)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=1), ts(2024, 12, 1), ts(2025, 1, 1)),
        # 29-31: the last day of shorter months
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=31), ts(2024, 1, 31), ts(2024, 2, 29)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=31), ts(2025, 1, 31), ts(2025, 2, 28)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=30), ts(2024, 2, 10), ts(2024, 2, 29)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=29), ts(2025, 2, 10), ts(2025, 2, 28)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=29), ts(2024, 2, 10), ts(2024, 2, 29)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=29), ts(2024, 2, 29), ts(2024, 3, 29)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=31), ts(2024, 2, 29), ts(2024, 3, 31)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=31), ts(2024, 3, 31, 1), ts(2024, 4, 30)),
        (Schedule(Interval.MONTHLY, 2, monthly_anchor=31), ts(2024, 4, 30), ts(2024, 5, 31)),
    ],
)  # fmt: skip
def test_next_payout_time(schedule: Schedule, after: int, expected: int | None) -> None:
    assert next_payout_time(schedule, after) == expected


schedules = st.one_of(
    st.builds(Schedule, st.just(Interval.DAILY), st.just(2)),
    st.builds(Schedule, st.just(Interval.WEEKLY), st.just(2), st.sampled_from(Weekday)),
    st.builds(Schedule, st.just(Interval.MONTHLY), st.just(2), st.none(), st.integers(1, 31)),
)


def is_payout_day(schedule: Schedule, day: date) -> bool:
    """The schedule's payout days, restated independently of the implementation."""
    if schedule.interval is Interval.DAILY:
        return True
    if schedule.interval is Interval.WEEKLY:
        return day.strftime("%A").lower() == schedule.weekly_anchor
    assert schedule.monthly_anchor is not None
    last_of_month = (day + timedelta(days=1)).day == 1
    return day.day == schedule.monthly_anchor or (last_of_month and day.day < schedule.monthly_anchor)


@given(schedule=schedules, after=st.integers(min_value=0, max_value=4_102_444_800))
def test_next_payout_time_is_the_first_payout_midnight(schedule: Schedule, after: int) -> None:
    result = next_payout_time(schedule, after)
    assert result is not None
    assert result > after
    assert result % 86_400 == 0
    assert is_payout_day(schedule, to_date_utc(result))
    midnight = after - after % 86_400 + 86_400
    while midnight < result:  # no payout day between `after` and the result is skipped
        assert not is_payout_day(schedule, to_date_utc(midnight))
        midnight += 86_400
