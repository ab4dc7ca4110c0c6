"""Instant payouts, pure: their fees, the largest payout that fits a balance, and the daily limit's day.

An instant payout of `amount` costs the account the platform's application fee (its instant payout
pricing, when it has set one) and, unless the platform pays the account's fees, Payoutkit's processing
fee. `net_available` for a destination is the largest amount whose own cost fits what is instantly
available; the sum of two fee schedules is non-decreasing in the amount, so it is found by bisection.

The daily volume limit resets at midnight in the account's region, as Stripe's does (US and Canada on
US Central time, the UK on London time, the euro area on Paris time, …).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.payouts import PayoutFees

# Countries where connected accounts can receive instant payouts (Stripe's current list; EU members
# are listed one by one).
INSTANT_COUNTRIES = frozenset(
    {"AE", "AU", "CA", "DK", "GB", "HK", "MY", "NO", "NZ", "SE", "SG", "US"}
    | {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT"}
    | {"NL", "PT", "SI", "SK"}
)

_REGION_TIMEZONES = {
    "US": "America/Chicago",
    "CA": "America/Chicago",
    "GB": "Europe/London",
    "SG": "Asia/Singapore",
    "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland",
    "HK": "Asia/Hong_Kong",
    "MY": "Asia/Kuala_Lumpur",
    "AE": "Asia/Dubai",
    "NO": "Europe/Oslo",
    "SE": "Europe/Stockholm",
    "DK": "Europe/Copenhagen",
}
_EUROPE = "Europe/Paris"


def region_timezone(country: str) -> str:
    if country in _REGION_TIMEZONES:
        return _REGION_TIMEZONES[country]
    return _EUROPE if country in INSTANT_COUNTRIES else "UTC"


def local_day(ts: int, country: str) -> str:
    """The date (YYYY-MM-DD) in the account's region at `ts`: the daily limit's key."""
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(region_timezone(country))).date().isoformat()


def instant_fees(
    amount: int,
    *,
    application: PercentFee | None,
    processing: PercentFee,
    platform_pays_processing: bool,
    application_fee_id: str | None = None,
) -> PayoutFees:
    return PayoutFees(
        application_fee=application.fee_for(amount) if application else 0,
        application_fee_id=application_fee_id,
        processing_fee=processing.fee_for(amount),
        platform_pays_processing=platform_pays_processing,
    )


def largest_payout(
    available: int, *, application: PercentFee | None, processing: PercentFee, platform_pays_processing: bool
) -> int:
    """The largest `a >= 0` whose amount plus the fees charged to the account fit in `available`."""

    def cost(amount: int) -> int:
        fees = instant_fees(
            amount,
            application=application,
            processing=processing,
            platform_pays_processing=platform_pays_processing,
        )
        return amount + fees.charged_to_account()

    if available <= 0 or cost(0) > available:
        return 0
    low, high = 0, available
    while low < high:
        middle = (low + high + 1) // 2
        if cost(middle) <= available:
            low = middle
        else:
            high = middle - 1
    return low
