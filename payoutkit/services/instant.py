"""Instant payouts: the platform's pricing (a Payoutkit extension endpoint), eligibility, the daily limit
and what the Balance reports as `instant_available`.

Eligibility follows what Stripe's balances component requires, checked in this order, each refusal
naming its rule:

1. the destination must list `instant` in its `available_payout_methods`;
2. the engine's own limits: the account's country supports instant payouts, the payout is in the
   account's local currency and from `card` funds;
3. when the platform pays the account's fees (`controller.fees.payer` is the application), the
   platform must have instant payout pricing for the currency (it collects its costs through it);
4. when the platform is liable for the account's negative balances (`controller.losses.payments` is
   the application), the account must be in the platform's country and pay out in its local currency;
5. the daily volume limit, reset at midnight in the account's region.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from payoutkit.api.context import Ctx
from payoutkit.api.params import DecimalString, Int, Nested, Params
from payoutkit.errors import InvalidRequest
from payoutkit.ids import new_id
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import INSTANT_COUNTRIES, largest_payout, local_day
from payoutkit.ledger.money import check_currency
from payoutkit.ledger.payouts import payout_limit
from payoutkit.ledger.postings import BalanceType, Bucket, SourceType
from payoutkit.services.accounts import COUNTRY_CURRENCY, account_data, external_accounts_list
from payoutkit.services.policy import require_platform
from payoutkit.store import resources as objects
from payoutkit.store.schema import instant_volume, resources

PRICING_OBJECT = "instant_payout_pricing"


# ---- the platform's pricing ---------------------------------------------------------------------


def _pricing_row(conn: Connection, platform_id: str, livemode: bool) -> dict[str, Any] | None:
    row = conn.execute(
        select(resources.c.data).where(
            resources.c.account_id == platform_id,
            resources.c.livemode == livemode,
            resources.c.object == PRICING_OBJECT,
        )
    ).first()
    return dict(row.data) if row else None


def _fee_of(entry: dict[str, Any]) -> PercentFee:
    return PercentFee(
        percent_bps=entry["percent_bps"], minimum=entry.get("minimum") or 0, maximum=entry.get("maximum")
    )


def platform_pricing(
    conn: Connection, ctx_state: Any, platform_id: str, livemode: bool
) -> dict[str, PercentFee]:
    """Per currency: the platform's instant payout fee — set through the API, else from configuration."""
    out = dict(ctx_state.settings.instant_pricing)
    stored = _pricing_row(conn, platform_id, livemode)
    if stored:
        for currency, entry in stored["currencies"].items():
            if entry is None:
                out.pop(currency, None)
            else:
                out[currency] = _fee_of(entry)
    return out


def _render_pricing(conn: Connection, ctx: Ctx) -> dict[str, Any]:
    stored = (_pricing_row(conn, ctx.platform_id, ctx.livemode) or {}).get("currencies", {})
    currencies = {}
    for currency, fee in sorted(platform_pricing(conn, ctx.state, ctx.platform_id, ctx.livemode).items()):
        currencies[currency] = {
            "percent": str(Decimal(fee.percent_bps) / 100),
            "minimum": fee.minimum,
            "maximum": fee.maximum,
            "source": "api" if currency in stored else "configuration",
        }
    return {"object": "payoutkit.instant_payout_pricing", "livemode": ctx.livemode, "currencies": currencies}


class CurrencyPricing(Nested):
    percent: DecimalString
    minimum: Int | None = None
    maximum: Int | None = None


class PricingUpdate(Params):
    # `currencies[usd][percent]=1.5&currencies[usd][minimum]=50`; `currencies[usd]=` removes the
    # currency's pricing (no instant payout fee for it, even if configuration sets one).
    currencies: dict[str, CurrencyPricing | None]


def retrieve_pricing(conn: Connection, ctx: Ctx, p: Params) -> dict[str, Any]:
    require_platform(ctx, "read instant payout pricing")
    return _render_pricing(conn, ctx)


def update_pricing(conn: Connection, ctx: Ctx, p: PricingUpdate) -> dict[str, Any]:
    require_platform(ctx, "set instant payout pricing")
    changes: dict[str, Any] = {}
    for raw_currency, entry in p.currencies.items():
        param = f"currencies[{raw_currency}]"
        currency = check_currency(raw_currency, param=param)
        if entry is None:
            changes[currency] = None
            continue
        bps = entry.percent * 100
        if bps != bps.to_integral_value() or not 0 <= bps <= 10_000:
            raise InvalidRequest(
                "percent must be a number from 0 to 100 with at most two decimals, e.g. 1.5.",
                param=f"{param}[percent]",
            )
        minimum = entry.minimum or 0
        if minimum < 0:
            raise InvalidRequest("minimum cannot be negative.", param=f"{param}[minimum]")
        if entry.maximum is not None and entry.maximum < minimum:
            raise InvalidRequest("maximum must be at least minimum.", param=f"{param}[maximum]")
        changes[currency] = {"percent_bps": int(bps), "minimum": minimum, "maximum": entry.maximum}
    stored = _pricing_row(conn, ctx.platform_id, ctx.livemode)
    if stored is None:
        objects.create(
            conn,
            {
                "id": new_id("ipp"),
                "object": PRICING_OBJECT,
                "livemode": ctx.livemode,
                "created": ctx.now,
                "currencies": changes,
            },
            account_id=ctx.platform_id,
        )
    else:
        stored["currencies"] = {**stored["currencies"], **changes}
        objects.save(conn, stored)
    return _render_pricing(conn, ctx)


# ---- eligibility --------------------------------------------------------------------------------


def daily_limit(state: Any, currency: str) -> int:
    limits: dict[str, int] = state.settings.instant_daily_limits
    return limits.get(currency, limits.get("*", 0))


def volume_today(conn: Connection, account_id: str, livemode: bool, currency: str, day: str) -> int:
    row = conn.execute(
        select(instant_volume.c.amount).where(
            instant_volume.c.account_id == account_id,
            instant_volume.c.livemode == livemode,
            instant_volume.c.currency == currency,
            instant_volume.c.day == day,
        )
    ).first()
    return int(row.amount) if row else 0


def add_volume(
    conn: Connection, account_id: str, livemode: bool, currency: str, day: str, amount: int
) -> None:
    where = (
        instant_volume.c.account_id == account_id,
        instant_volume.c.livemode == livemode,
        instant_volume.c.currency == currency,
        instant_volume.c.day == day,
    )
    done = conn.execute(update(instant_volume).where(*where).values(amount=instant_volume.c.amount + amount))
    if done.rowcount == 0:
        conn.execute(
            insert(instant_volume).values(
                account_id=account_id, livemode=livemode, currency=currency, day=day, amount=amount
            )
        )


class Terms:
    """What an account's instant payouts in one currency may do and cost."""

    def __init__(
        self,
        *,
        refusal: InvalidRequest | None,
        application: PercentFee | None,
        processing: PercentFee,
        platform_pays_processing: bool,
        remaining_today: int,
        day: str,
    ) -> None:
        self.refusal = refusal
        self.application = application
        self.processing = processing
        self.platform_pays_processing = platform_pays_processing
        self.remaining_today = remaining_today
        self.day = day


def terms(
    conn: Connection,
    state: Any,
    *,
    account: dict[str, Any],
    platform: dict[str, Any],
    livemode: bool,
    currency: str,
    now: int,
) -> Terms:
    """Rules 2-5 for `account` paying out instantly in `currency` (rule 1 is per destination)."""
    connected = account["id"] != platform["id"]
    controller = account.get("controller", {})
    platform_pays = connected and str(controller.get("fees", {}).get("payer", "account")).startswith(
        "application"
    )
    liable = connected and controller.get("losses", {}).get("payments") == "application"
    pricing = platform_pricing(conn, state, platform["id"], livemode) if connected else {}
    application = pricing.get(currency)
    country = account["country"]
    day = local_day(now, country)
    remaining = max(
        0, daily_limit(state, currency) - volume_today(conn, account["id"], livemode, currency, day)
    )
    refusal: InvalidRequest | None = None
    local = COUNTRY_CURRENCY.get(country)
    if country not in INSTANT_COUNTRIES:
        refusal = InvalidRequest(
            f"Instant payouts are not supported for accounts in {country}.",
            code="instant_payouts_unsupported",
        )
    elif currency != local:
        refusal = InvalidRequest(
            f"Instant payouts can only be made in the account's local currency ({local}).",
            param="currency",
            code="instant_payouts_currency_disabled",
        )
    elif platform_pays and application is None:
        refusal = InvalidRequest(
            "Instant payouts for this account need the platform's instant payout pricing for "
            f"{currency}: the platform pays this account's fees (controller.fees.payer). Set it with "
            "POST /v1/payoutkit/instant_payout_pricing.",
            code="instant_payouts_config_disabled",
        )
    elif liable and (country != platform["country"] or currency != COUNTRY_CURRENCY.get(platform["country"])):
        refusal = InvalidRequest(
            "Instant payouts for an account whose negative balances the platform is liable for need the "
            f"account to be in the platform's country ({platform['country']}) and to pay out in its local "
            "currency.",
            code="instant_payouts_unsupported",
        )
    return Terms(
        refusal=refusal,
        application=application,
        processing=state.settings.pricing.instant_payout,
        platform_pays_processing=platform_pays,
        remaining_today=remaining,
        day=day,
    )


def limit_refusal(amount: int, t: Terms, currency: str) -> InvalidRequest | None:
    if amount > t.remaining_today:
        return InvalidRequest(
            f"This instant payout of {amount} exceeds what the account may still pay out instantly today "
            f"({t.remaining_today} {currency}); the limit resets at midnight in the account's region.",
            param="amount",
            code="instant_payouts_limit_exceeded",
        )
    return None


# ---- what the Balance shows ----------------------------------------------------------------------


def instant_available(conn: Connection, ctx: Ctx, buckets: list[Bucket]) -> list[dict[str, Any]]:
    """`instant_available` per currency with an instant-capable destination: the card funds available
    now (never more than the currency's available total across source types), capped by what is left
    of today's limit (0 when a rule refuses instant payouts), and per eligible destination the largest
    payout whose amount plus fees fits (`net_available`)."""
    destinations = [
        ea
        for ea in external_accounts_list(conn, ctx.account_id, ctx.livemode)
        if "instant" in ea.get("available_payout_methods", ()) and ea.get("status") != "errored"
    ]
    if not destinations:
        return []
    account = account_data(conn, ctx.account_id)
    platform = account if ctx.is_platform else account_data(conn, ctx.platform_id)
    out = []
    for currency in sorted({ea["currency"] for ea in destinations}):
        payments = [
            b for b in buckets if b.key.currency == currency and b.key.balance_type is BalanceType.PAYMENTS
        ]
        card = sum(b.available for b in payments if b.key.source_type is SourceType.CARD)
        # Never more than the currency's total: a payout does not take the account below zero.
        card = payout_limit(card, sum(b.available for b in payments))
        t = terms(
            conn,
            ctx.state,
            account=account,
            platform=platform,
            livemode=ctx.livemode,
            currency=currency,
            now=ctx.now,
        )
        amount = 0 if t.refusal is not None else max(0, min(card, t.remaining_today))
        net = largest_payout(
            amount,
            application=t.application,
            processing=t.processing,
            platform_pays_processing=t.platform_pays_processing,
        )
        out.append(
            {
                "amount": amount,
                "currency": currency,
                "net_available": [
                    {"amount": net, "destination": ea["id"], "source_types": {"card": net}}
                    for ea in destinations
                    if ea["currency"] == currency
                ],
                "source_types": {"card": amount},
            }
        )
    return out
