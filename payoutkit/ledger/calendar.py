"""Settlement dates: when pending funds become available, in UTC business days.

Model (ours, kept simple and written down so tests can hold it):

- Days are UTC calendar days. A business day is Monday to Friday; there are no holidays.
- Stripe reports ``available_on`` as midnight UTC of the day funds become available, so
  ``available_on(created, n)`` takes the UTC date of ``created``, moves ``n`` business days
  forward and returns that date's 00:00 UTC. With ``n == 0`` the funds are available at
  ``created`` itself (``tok_bypassPending``, top-ups into available, transfers).
- Moving forward from a weekend counts from the next Monday: Saturday + 1 business day is
  Monday, exactly as Friday + 1 is.
- ``SETTLEMENT_DELAY_DAYS`` is the default delay per source type: ``card`` 2 (US rolling),
  ``bank_account`` 6 (legacy ACH through Charges), ``fpx`` 3. The FPX figure is our model;
  Stripe's FPX timing is unverified. An account's ``settings.payouts.schedule.delay_days``
  may lengthen it; that choice is made by the caller, not here.

The functions take and return unix seconds; ``datetime`` is used only for calendar arithmetic on
the timestamps given (never for "now").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

__all__ = [
    "SECONDS_PER_DAY",
    "SETTLEMENT_DELAY_DAYS",
    "add_business_days",
    "available_on",
    "days_in_month",
    "start_of_day_utc",
    "to_date_utc",
    "to_timestamp",
]

SECONDS_PER_DAY = 86_400

SETTLEMENT_DELAY_DAYS: Mapping[str, int] = MappingProxyType(
    {
        "card": 2,
        "bank_account": 6,
        "fpx": 3,  # our model: Stripe's FPX settlement timing is unverified
    }
)

_SATURDAY = 5  # date.weekday(): Monday is 0


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    return value


def to_date_utc(ts: int) -> date:
    """The UTC calendar date of unix time ``ts``."""
    return datetime.fromtimestamp(_require_int("ts", ts), tz=UTC).date()


def to_timestamp(day: date) -> int:
    """Unix time of 00:00 UTC on ``day``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def start_of_day_utc(ts: int) -> int:
    """Unix time of 00:00 UTC on the UTC date of ``ts``."""
    _require_int("ts", ts)
    return ts - ts % SECONDS_PER_DAY


def days_in_month(year: int, month: int) -> int:
    """Number of days in ``month`` of ``year`` (Gregorian)."""
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - timedelta(days=1)).day


def add_business_days(ts: int, days: int) -> int:
    """``ts`` moved forward ``days`` business days (Mon-Fri, UTC), keeping the time of day.

    ``days == 0`` returns ``ts`` unchanged, even on a weekend.
    """
    if _require_int("days", days) < 0:
        raise ValueError(f"days must be non-negative, not {days}")
    weekday = to_date_utc(ts).weekday()
    if days == 0:
        return ts
    if weekday >= _SATURDAY:
        # Counting forward from a weekend is the same as counting from the Friday before it.
        ts -= (weekday - _SATURDAY + 1) * SECONDS_PER_DAY
        weekday = 4
    weeks, rest = divmod(days, 5)
    shift = weeks * 7 + rest
    if weekday + rest >= _SATURDAY:
        shift += 2  # the remainder crosses a weekend
    return ts + shift * SECONDS_PER_DAY


def available_on(created: int, delay_days: int) -> int:
    """When funds created at ``created`` become available, as Stripe reports ``available_on``.

    Midnight UTC of the date ``delay_days`` business days after ``created``'s UTC date, or
    ``created`` itself when ``delay_days == 0``.
    """
    if _require_int("delay_days", delay_days) == 0:
        return _require_int("created", created)
    return start_of_day_utc(add_business_days(created, delay_days))
