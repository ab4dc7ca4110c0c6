"""Fees: a percentage plus a fixed part, clamped, with one rounding rule.

Rounding rule (the only one in payoutkit): the percentage part is ``amount * percent_bps / 10_000``
rounded **half up** (to the nearest minor unit; exact halves go up), computed with integers only as
``(amount * percent_bps + 5_000) // 10_000``. Amounts are never negative here, so "half up" and
"half away from zero" agree. Then ``fixed`` is added and the result is clamped to
``[minimum, maximum]``.

The fee is not capped by the amount it is charged on: a minimum fee may exceed a tiny amount (an
instant payout of 0.10 with a 0.50 minimum costs 0.50). Whether such a payout is allowed is the
caller's decision; ``largest_amount_with_fee`` simply never proposes one that does not fit.

Since ``fee_for`` is non-decreasing in the amount, ``amount + fee_for(amount)`` is strictly
increasing, which is what lets ``largest_amount_with_fee`` binary-search for the largest payout
whose amount plus fee fits in a balance (an instant payout's ``net_available``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BPS_DENOMINATOR", "PercentFee", "largest_amount_with_fee"]

BPS_DENOMINATOR = 10_000
"""Basis points per whole: 150 bps is 1.5 %."""


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class PercentFee:
    """``round_half_up(amount * percent_bps / 10_000) + fixed``, clamped to ``[minimum, maximum]``.

    All figures are in the minor unit of the currency the fee is charged in; ``maximum=None``
    means no cap.
    """

    percent_bps: int
    fixed: int = 0
    minimum: int = 0
    maximum: int | None = None

    def __post_init__(self) -> None:
        for name in ("percent_bps", "fixed", "minimum"):
            if _require_int(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must be non-negative")
        if self.maximum is not None and _require_int("maximum", self.maximum) < self.minimum:
            raise ValueError("maximum must be at least minimum")

    def fee_for(self, amount: int) -> int:
        """The fee on ``amount`` (minor units, ``>= 0``)."""
        if _require_int("amount", amount) < 0:
            raise ValueError(f"fees are computed on non-negative amounts, not {amount}")
        percent_part = (amount * self.percent_bps + BPS_DENOMINATOR // 2) // BPS_DENOMINATOR
        fee = max(self.minimum, percent_part + self.fixed)
        if self.maximum is not None:
            fee = min(self.maximum, fee)
        return fee


def largest_amount_with_fee(available: int, fee: PercentFee) -> int:
    """The largest ``a >= 0`` with ``a + fee.fee_for(a) <= available``; 0 when nothing fits.

    "Nothing fits" includes a negative or zero ``available`` and one smaller than the minimum fee;
    the caller treats 0 as "no payout possible".
    """
    _require_int("available", available)

    def fits(amount: int) -> bool:
        return amount + fee.fee_for(amount) <= available

    if not fits(0):
        return 0
    low, high = 0, max(available, 0)  # fits(low) holds; any amount above ``available`` cannot fit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
