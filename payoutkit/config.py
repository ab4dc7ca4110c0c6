"""Settings, read from the environment in exactly one place (`Settings.from_env`).

Nothing here is created at import time: `create_app(settings)` and the CLI build a `Settings` and pass it
down, so tests can run many differently configured servers in one process.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from payoutkit.ledger.fees import PercentFee

DEFAULT_DATABASE_URL = "sqlite:///payoutkit.db"


def _default_processing() -> dict[str, PercentFee]:
    return {
        "card": PercentFee(percent_bps=290, fixed=30),
        "bank_account": PercentFee(percent_bps=80, maximum=500),
        "fpx": PercentFee(percent_bps=250),
    }


_FEE = re.compile(
    r"^\s*(?P<percent>\d+(?:\.\d+)?)\s*%\s*(?:\+\s*(?P<fixed>\d+))?"
    r"\s*(?:min\s+(?P<minimum>\d+))?\s*(?:max\s+(?P<maximum>\d+))?\s*$"
)


def parse_fee(text: str) -> PercentFee:
    """`"2.9% + 30"`, `"0.8% max 500"`, `"1.5% min 50 max 1500"`: a percentage (to the basis point)
    plus fixed minor units, with an optional minimum and maximum. Parsed exactly, without floats."""
    match = _FEE.match(text)
    if match is None:
        raise ValueError(f"fee {text!r}: expected e.g. '2.9% + 30', '0.8% max 500'")
    try:
        bps = Decimal(match["percent"]) * 100
    except InvalidOperation:
        raise ValueError(f"fee {text!r}: bad percentage") from None
    if bps != bps.to_integral_value():
        raise ValueError(f"fee {text!r}: percentages go to the basis point (two decimals)")
    return PercentFee(
        percent_bps=int(bps),
        fixed=int(match["fixed"] or 0),
        minimum=int(match["minimum"] or 0),
        maximum=int(match["maximum"]) if match["maximum"] else None,
    )


@dataclass(frozen=True)
class Pricing:
    """Processing fees per source type (basis points plus fixed minor units), and the dispute fee."""

    processing: dict[str, PercentFee] = field(default_factory=_default_processing)
    dispute_fee: int = 1500


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 4242
    # Test keys of the platform account; generated on first start when not given.
    secret_key: str | None = None
    publishable_key: str | None = None
    live_secret_key: str | None = None
    live_publishable_key: str | None = None
    platform_country: str = "US"
    platform_currency: str = "usd"
    # Start on the simulated clock (test mode only), advanced by /v1/test_helpers/clock/advance.
    simulated_clock: bool = False
    simulated_clock_start: int | None = None
    # The in-process worker: settles due funds (and later advances payouts, delivers webhooks).
    worker: bool = True
    worker_interval: float = 1.0
    pricing: Pricing = field(default_factory=Pricing)
    # Log each request line (never headers, so never keys).
    access_log: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        if "DATABASE_URL" in env:
            values["database_url"] = env["DATABASE_URL"]
        for name, key in (
            ("secret_key", "PAYOUTKIT_SECRET_KEY"),
            ("publishable_key", "PAYOUTKIT_PUBLISHABLE_KEY"),
            ("live_secret_key", "PAYOUTKIT_LIVE_SECRET_KEY"),
            ("live_publishable_key", "PAYOUTKIT_LIVE_PUBLISHABLE_KEY"),
        ):
            if env.get(key):
                values[name] = env[key]
        if env.get("PAYOUTKIT_SIMULATED_CLOCK", "").lower() in {"1", "true", "yes"}:
            values["simulated_clock"] = True
        processing = _default_processing()
        for source_type in processing:
            given = env.get(f"PAYOUTKIT_FEE_{source_type.upper()}")
            if given:
                processing[source_type] = parse_fee(given)
        dispute_fee = int(env.get("PAYOUTKIT_DISPUTE_FEE", Pricing.dispute_fee))
        values["pricing"] = Pricing(processing=processing, dispute_fee=dispute_fee)
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
