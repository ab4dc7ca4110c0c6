"""Allocation: what part of a linked amount a refund carries back, so that the parts add up.

A refund of a charge can take back, in proportion, amounts linked to it: the transfer of a destination
charge (`reverse_transfer`) and the application fee (`refund_application_fee`). Stripe's rule is
proportional ("if a full charge refund is given, the full application fee will be refunded; otherwise
an amount proportional to the amount of the charge refunded"), and the parts must add up to the whole
once the charge is refunded in full: a 333 transfer of a 1000 charge refunded as 333+333+333+1 must
come back whole, not 110+110+110+0.

So each refund is allocated **cumulatively**: the progress so far (the sum of the refunds that asked
for it, this one included) entitles to ``round_half_up(total * progress / whole)``; the refund carries
what that entitlement exceeds what was already allocated, by any path (an earlier refund, a reversal
made by hand, a refund of the connected account's payment). Rounding errors then never accumulate:
whatever was rounded down earlier is made up by a later part, and the last part lands exactly on the
total. The rounding rule is `fees.py`'s: half up, integers only.
"""

from __future__ import annotations

__all__ = ["entitled", "next_share"]


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    return value


def entitled(total: int, whole: int, progress: int) -> int:
    """``round_half_up(total * progress / whole)``: the part of `total` that `progress` of `whole` earns.

    `progress` beyond `whole` counts as `whole` (two paths may each bring it to the end).
    """
    for name, value in (("total", total), ("whole", whole), ("progress", progress)):
        if _require_int(name, value) < 0:
            raise ValueError(f"{name} must be non-negative, not {value}")
    if whole == 0:
        raise ValueError("whole must be positive")
    progress = min(progress, whole)
    return (2 * total * progress + whole) // (2 * whole)


def next_share(total: int, whole: int, progress: int, allocated: int) -> int:
    """What to allocate now: the entitlement of `progress` less what is `allocated` already, never
    negative and never more than what is left of `total`.

    At ``progress == whole`` this is exactly ``total - allocated``: the parts of a full refund sum to
    the total whatever the steps were.
    """
    earned = entitled(total, whole, progress)
    if _require_int("allocated", allocated) < 0 or allocated > total:
        raise ValueError(f"allocated must be within [0, {total}], not {allocated}")
    return max(0, earned - allocated)
