"""Payout schedules: validation of updates, defaults, and when the next automatic payout runs.

A ``Schedule`` mirrors Stripe's ``transfer_schedule``: ``interval`` (manual, daily, weekly,
monthly), ``delay_days``, and the anchor that belongs to the interval (``weekly_anchor`` for
weekly, ``monthly_anchor`` for monthly, neither otherwise). A ``Schedule`` checks those
invariants when built.

``resolve_schedule`` applies a ``settings[payouts][schedule][...]`` update the way
``POST /v1/accounts/{id}`` does, from the decoded form values (strings, or ints from JSON-ish
callers), and names the exact form field in every ``InvalidSchedule`` it raises:

- ``delay_days``: an integer, or ``"minimum"`` for the country's minimum; below the country
  minimum or above 365 is rejected.
- ``interval``: one of the four literals. Switching interval drops anchors that no longer apply
  and fills the new one with its default (weekly: the previous weekly anchor, else ``monday``;
  monthly: the previous monthly anchor, else 1).
- ``weekly_anchor`` / ``monthly_anchor``: only with the matching (resulting) interval;
  ``monthly_anchor`` is 1-31. An empty string unsets an anchor, so its default applies.
- ``weekly_payout_days`` / ``monthly_payout_days`` (multi-day schedules) are not supported yet.

Timing model for ``next_payout_time``: automatic payouts run at 00:00 UTC of the payout day.
Daily runs every calendar day (funds only become available on business days, so weekend runs
find nothing new); weekly runs on the anchor weekday; monthly on the anchor day, with 29-31
meaning the last day of months that are shorter. ``manual`` never runs. ``MINIMUM_DELAY_DAYS``
is our model of per-country minimums (Stripe's real minimums vary by country and risk).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import TypeVar

from payoutkit.ledger.calendar import (
    SECONDS_PER_DAY,
    days_in_month,
    start_of_day_utc,
    to_date_utc,
    to_timestamp,
)
from payoutkit.ledger.errors import InvalidSchedule

__all__ = [
    "DEFAULT_MINIMUM_DELAY_DAYS",
    "MAXIMUM_DELAY_DAYS",
    "MINIMUM_DELAY_DAYS",
    "Interval",
    "Schedule",
    "Weekday",
    "default_schedule",
    "minimum_delay_days",
    "next_payout_time",
    "resolve_schedule",
    "schedule_param",
]


class Interval(StrEnum):
    MANUAL = "manual"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Weekday(StrEnum):
    """Declared in ``date.weekday()`` order, so ``list(Weekday).index(day)`` is that number."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


_WEEKDAYS = tuple(Weekday)

MAXIMUM_DELAY_DAYS = 365
DEFAULT_MINIMUM_DELAY_DAYS = 2
MINIMUM_DELAY_DAYS: Mapping[str, int] = MappingProxyType(
    {"US": 2, "CA": 2, "AU": 2, "SG": 2, "GB": 3, "JP": 4, "BR": 30}
)
"""Our model of each country's minimum ``delay_days``; others get ``DEFAULT_MINIMUM_DELAY_DAYS``."""

_FIELDS = ("delay_days", "interval", "weekly_anchor", "monthly_anchor")
_UNSUPPORTED_FIELDS = ("weekly_payout_days", "monthly_payout_days")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_UNSET = (None, "")  # an empty form value unsets an anchor
_E = TypeVar("_E", bound=StrEnum)


def schedule_param(field: str) -> str:
    """The form name of a schedule field: ``settings[payouts][schedule][<field>]``."""
    return f"settings[payouts][schedule][{field}]"


def minimum_delay_days(country: str) -> int:
    """The smallest ``delay_days`` an account in ``country`` (ISO 3166 alpha-2) may have."""
    return MINIMUM_DELAY_DAYS.get(country.upper(), DEFAULT_MINIMUM_DELAY_DAYS)


@dataclass(frozen=True, slots=True)
class Schedule:
    interval: Interval
    delay_days: int
    weekly_anchor: Weekday | None = None
    monthly_anchor: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", Interval(self.interval))
        if isinstance(self.delay_days, bool) or not isinstance(self.delay_days, int):
            raise InvalidSchedule("delay_days must be an integer.", param=schedule_param("delay_days"))
        if not 0 <= self.delay_days <= MAXIMUM_DELAY_DAYS:
            raise InvalidSchedule(
                f"delay_days must be between 0 and {MAXIMUM_DELAY_DAYS}.",
                param=schedule_param("delay_days"),
            )
        if (self.weekly_anchor is None) == (self.interval is Interval.WEEKLY):
            raise InvalidSchedule(
                "weekly_anchor is required with, and only allowed with, a weekly interval.",
                param=schedule_param("weekly_anchor"),
            )
        if self.weekly_anchor is not None:
            object.__setattr__(self, "weekly_anchor", Weekday(self.weekly_anchor))
        if (self.monthly_anchor is None) == (self.interval is Interval.MONTHLY):
            raise InvalidSchedule(
                "monthly_anchor is required with, and only allowed with, a monthly interval.",
                param=schedule_param("monthly_anchor"),
            )
        if self.monthly_anchor is not None and not (
            isinstance(self.monthly_anchor, int)
            and not isinstance(self.monthly_anchor, bool)
            and 1 <= self.monthly_anchor <= 31
        ):
            raise InvalidSchedule(
                "monthly_anchor must be an integer between 1 and 31.",
                param=schedule_param("monthly_anchor"),
            )


def default_schedule(country: str) -> Schedule:
    """A new account's schedule: daily, with the country's minimum delay."""
    return Schedule(interval=Interval.DAILY, delay_days=minimum_delay_days(country))


def _parse_int(field: str, value: object) -> int:
    if isinstance(value, bool):
        raise InvalidSchedule(
            f"Invalid integer: {value!r}",
            param=schedule_param(field),
            code="parameter_invalid_integer",
        )
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise InvalidSchedule(
        f"Invalid integer: {value}", param=schedule_param(field), code="parameter_invalid_integer"
    )


def _parse_delay_days(value: object, country: str) -> int:
    least = minimum_delay_days(country)
    if value == "minimum":
        return least
    days = _parse_int("delay_days", value)
    if days < least:
        raise InvalidSchedule(
            f"delay_days must be at least {least} for accounts in {country.upper()}; "
            'pass "minimum" to use the shortest delay allowed.',
            param=schedule_param("delay_days"),
        )
    if days > MAXIMUM_DELAY_DAYS:
        raise InvalidSchedule(
            f"delay_days must be at most {MAXIMUM_DELAY_DAYS}.",
            param=schedule_param("delay_days"),
        )
    return days


def _parse_enum(field: str, value: object, enum: type[_E]) -> _E:
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    choices = ", ".join(member.value for member in enum)
    raise InvalidSchedule(f"Invalid {field}: must be one of {choices}.", param=schedule_param(field))


def _check_fields(changes: Mapping[str, object]) -> None:
    for field in changes:
        if field in _UNSUPPORTED_FIELDS:
            raise InvalidSchedule(
                f"{field} is not supported by payoutkit; use the single anchor field instead.",
                param=schedule_param(field),
            )
        if field not in _FIELDS:
            raise InvalidSchedule(
                f"Received unknown parameter: {schedule_param(field)}",
                param=schedule_param(field),
                code="parameter_unknown",
            )


def _weekly_anchor(current: Schedule, changes: Mapping[str, object], interval: Interval) -> Weekday | None:
    given = changes.get("weekly_anchor")
    if given not in _UNSET:
        if interval is not Interval.WEEKLY:
            raise InvalidSchedule(
                "weekly_anchor can only be set when interval is weekly.",
                param=schedule_param("weekly_anchor"),
            )
        return _parse_enum("weekly_anchor", given, Weekday)
    if interval is Interval.WEEKLY:  # keep the anchor unless it was unset, else the default
        kept = None if "weekly_anchor" in changes else current.weekly_anchor
        return kept or Weekday.MONDAY
    return None


def _monthly_anchor(current: Schedule, changes: Mapping[str, object], interval: Interval) -> int | None:
    given = changes.get("monthly_anchor")
    if given not in _UNSET:
        if interval is not Interval.MONTHLY:
            raise InvalidSchedule(
                "monthly_anchor can only be set when interval is monthly.",
                param=schedule_param("monthly_anchor"),
            )
        anchor = _parse_int("monthly_anchor", given)
        if not 1 <= anchor <= 31:
            raise InvalidSchedule(
                "monthly_anchor must be between 1 and 31.",
                param=schedule_param("monthly_anchor"),
            )
        return anchor
    if interval is Interval.MONTHLY:
        kept_day = None if "monthly_anchor" in changes else current.monthly_anchor
        return kept_day or 1
    return None


def resolve_schedule(current: Schedule, changes: Mapping[str, object], *, country: str) -> Schedule:
    """``current`` with the ``settings[payouts][schedule]`` update ``changes`` applied."""
    _check_fields(changes)
    delay_days = current.delay_days
    if "delay_days" in changes:
        delay_days = _parse_delay_days(changes["delay_days"], country)
    interval = current.interval
    if "interval" in changes:
        interval = _parse_enum("interval", changes["interval"], Interval)
    return Schedule(
        interval=interval,
        delay_days=delay_days,
        weekly_anchor=_weekly_anchor(current, changes, interval),
        monthly_anchor=_monthly_anchor(current, changes, interval),
    )


def _monthly_payout_day(year: int, month: int, anchor: int) -> date:
    return date(year, month, min(anchor, days_in_month(year, month)))


def next_payout_time(schedule: Schedule, after: int) -> int | None:
    """00:00 UTC of the next automatic payout day strictly after ``after``; None if manual."""
    if schedule.interval is Interval.MANUAL:
        return None
    if schedule.interval is Interval.DAILY:
        return start_of_day_utc(after) + SECONDS_PER_DAY
    today = to_date_utc(after)
    # Midnight of ``today`` is never strictly after ``after``: candidates start tomorrow.
    if schedule.interval is Interval.WEEKLY:
        assert schedule.weekly_anchor is not None
        ahead = (_WEEKDAYS.index(schedule.weekly_anchor) - today.weekday()) % 7 or 7
        return start_of_day_utc(after) + ahead * SECONDS_PER_DAY
    assert schedule.monthly_anchor is not None
    candidate = _monthly_payout_day(today.year, today.month, schedule.monthly_anchor)
    if candidate <= today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        candidate = _monthly_payout_day(year, month, schedule.monthly_anchor)
    return to_timestamp(candidate)
