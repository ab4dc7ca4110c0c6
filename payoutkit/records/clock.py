"""The test clock (a Payoutkit extension, `payoutkit.test_clock`) as a record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TestClock:
    now: int
    simulated: bool  # False: the server runs on the real clock

    def doc(self) -> dict[str, Any]:
        return {
            "object": "payoutkit.test_clock",
            "now": self.now,
            "simulated": self.simulated,
            "livemode": False,
        }
