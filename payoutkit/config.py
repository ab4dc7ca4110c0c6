"""Settings, read from the environment in exactly one place (`Settings.from_env`).

Nothing here is created at import time: the CLI (or a test) builds a `Settings`, `open_runtime(settings)`
(payoutkit/runtime.py) builds the process's runtime from it, and the runtime's parts are passed down,
so tests can run many differently configured servers in one process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from payoutkit.ledger.fees import PercentFee

DEFAULT_DATABASE_URL = "sqlite:///payoutkit.db"
T = TypeVar("T")


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


def _parse_minor_units(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError(f"{text!r}: expected a non-negative amount in minor units")
    return value


def parse_per_currency(text: str, parse: Callable[[str], T]) -> dict[str, T]:
    """`"usd=1.5% min 50 max 1500; eur=1% min 50"` or `"usd=1000000; *=500000"`: per-currency values
    separated by `;` (`*` stands for every other currency)."""
    out: dict[str, T] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        currency, sep, value = part.partition("=")
        currency = currency.strip().lower()
        if not sep or not (currency == "*" or re.fullmatch(r"[a-z]{3}", currency)):
            raise ValueError(f"{part!r}: expected <currency>=<value>, e.g. usd=1.5% min 50")
        out[currency] = parse(value)
    return out


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def parse_origins(text: str) -> tuple[str, ...]:
    """`"https://shop.example, https://admin.example:8443"`: exact origins (scheme, host, port; no
    path), comma separated. A trailing slash is dropped; anything else is refused."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        origin = part.rstrip("/")
        if not _ORIGIN.match(origin):
            raise ValueError(
                f"PAYOUTKIT_EMBED_ORIGINS: {part!r} is not an origin (e.g. https://shop.example)"
            )
        found.append(origin.lower())
    return tuple(found)


def _listed(env: dict[str, str]) -> dict[str, Any]:
    """The settings that are lists (per-currency values, origins), from the variables that are set."""
    values: dict[str, Any] = {}
    if env.get("PAYOUTKIT_INSTANT_PRICING"):
        values["instant_pricing"] = parse_per_currency(env["PAYOUTKIT_INSTANT_PRICING"], parse_fee)
    if env.get("PAYOUTKIT_INSTANT_DAILY_LIMIT"):
        values["instant_daily_limits"] = parse_per_currency(
            env["PAYOUTKIT_INSTANT_DAILY_LIMIT"], _parse_minor_units
        )
    if env.get("PAYOUTKIT_EMBED_ORIGINS"):
        values["embed_origins"] = parse_origins(env["PAYOUTKIT_EMBED_ORIGINS"])
    return values


@dataclass(frozen=True)
class Pricing:
    """Processing fees per source type (basis points plus fixed minor units), and the dispute fee."""

    processing: dict[str, PercentFee] = field(default_factory=_default_processing)
    dispute_fee: int = 1500
    # Payoutkit's own fee on an instant payout, paid by the account or, when `controller.fees.payer`
    # is the application, by the platform.
    instant_payout: PercentFee = field(default_factory=lambda: PercentFee(percent_bps=100, minimum=50))


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
    # The in-process worker (payoutkit/worker.py): settles due funds, advances payouts, runs automatic
    # payouts, prunes expired idempotency records, and delivers webhooks, every `worker_interval` seconds.
    worker: bool = True
    worker_interval: float = 1.0
    # On PostgreSQL the worker's settlement runs as this many units of work at once, on as many
    # connections, each over its own share of the accounts (store/shards.py); SQLite's is one unit.
    worker_shards: int = 2
    pricing: Pricing = field(default_factory=Pricing)
    # The platform's instant payout pricing per currency (its application fee on each instant payout;
    # the platform can change it through /v1/payoutkit/instant_payout_pricing), and the daily instant
    # payout volume each account may pay out, per currency in minor units ("*": any other currency).
    instant_pricing: dict[str, PercentFee] = field(default_factory=dict)
    instant_daily_limits: dict[str, int] = field(default_factory=lambda: {"*": 500_000})
    # Webhook delivery (wall-clock seconds): each attempt's time limit, the first retry's delay (then
    # doubling: 1 min, 2 min, 4 min, … by default) and the attempts made before a delivery fails.
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 60.0
    webhook_max_attempts: int = 12
    # Log each request line (never headers, so never keys).
    access_log: bool = False
    # The largest request body accepted, in bytes; a larger one is answered 413 unread.
    max_body_bytes: int = 1_048_576
    # The origins whose pages may call the embedded API (`/embedded/v1/*`) cross-origin: exact
    # `scheme://host[:port]` origins (docs/embedded.md, "CORS"). Loopback origins are allowed besides
    # for test mode.
    embed_origins: tuple[str, ...] = ()

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
        if env.get("PAYOUTKIT_SIMULATED_CLOCK_START"):
            # Where a new database's simulated clock starts (unix seconds); a stored clock keeps its time.
            values["simulated_clock_start"] = int(env["PAYOUTKIT_SIMULATED_CLOCK_START"])
        processing = _default_processing()
        for source_type in processing:
            given = env.get(f"PAYOUTKIT_FEE_{source_type.upper()}")
            if given:
                processing[source_type] = parse_fee(given)
        dispute_fee = int(env.get("PAYOUTKIT_DISPUTE_FEE", Pricing.dispute_fee))
        instant_fee = env.get("PAYOUTKIT_FEE_INSTANT_PAYOUT")
        values["pricing"] = Pricing(
            processing=processing,
            dispute_fee=dispute_fee,
            **({"instant_payout": parse_fee(instant_fee)} if instant_fee else {}),
        )
        values |= _listed(env)
        for name, key, parse in (
            ("webhook_timeout", "PAYOUTKIT_WEBHOOK_TIMEOUT", float),
            ("webhook_retry_base", "PAYOUTKIT_WEBHOOK_RETRY_BASE", float),
            ("webhook_max_attempts", "PAYOUTKIT_WEBHOOK_MAX_ATTEMPTS", int),
            ("max_body_bytes", "PAYOUTKIT_MAX_BODY_BYTES", int),
            ("worker_shards", "PAYOUTKIT_WORKER_SHARDS", int),
        ):
            if env.get(key):
                values[name] = parse(env[key])
                if values[name] <= 0:
                    raise ValueError(f"{key} must be positive")
        settings = cls(**values)
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
