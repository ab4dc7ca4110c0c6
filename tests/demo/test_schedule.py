"""When the console's "Next scheduled payout" moves the clock to: 00:00 UTC of the schedule's next day."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

from payoutkit_demo.platform import next_payout_run


def _at(year: int, month: int, day: int, hour: int = 0) -> int:
    return calendar.timegm(dt.datetime(year, month, day, hour).timetuple())


WED_NOON = _at(2026, 12, 2, 12)  # Wednesday 2 December 2026


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ({"interval": "daily"}, _at(2026, 12, 3)),
        ({"interval": "weekly", "weekly_anchor": "friday"}, _at(2026, 12, 4)),
        ({"interval": "weekly", "weekly_anchor": "wednesday"}, _at(2026, 12, 9)),  # today's run is past
        ({"interval": "monthly", "monthly_anchor": 1}, _at(2027, 1, 1)),
        ({"interval": "monthly", "monthly_anchor": 31}, _at(2026, 12, 31)),
        ({"interval": "manual"}, None),
    ],
)
def test_next_payout_run(schedule: dict[str, object], expected: int | None) -> None:
    assert next_payout_run(schedule, WED_NOON) == expected


def test_a_monthly_anchor_past_the_months_end_runs_on_its_last_day() -> None:
    end_of_month = {"interval": "monthly", "monthly_anchor": 31}
    assert next_payout_run(end_of_month, _at(2027, 2, 1, 12)) == _at(2027, 2, 28)
