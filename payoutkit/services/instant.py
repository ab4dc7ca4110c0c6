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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import new_id
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import INSTANT_COUNTRIES, largest_payout, local_day
from payoutkit.ledger.money import check_currency
from payoutkit.ledger.payouts import payout_limit
from payoutkit.ledger.postings import BalanceType, Bucket, SourceType
from payoutkit.records.accounts import Account
from payoutkit.records.balance import InstantAmount
from payoutkit.records.payouts import CurrencyPrice, InstantPricing, PricedCurrency
from payoutkit.services.account_rules import COUNTRY_CURRENCY
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.policy import require_platform
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payouts as store

# ---- the platform's pricing ---------------------------------------------------------------------


def _fee_of(price: CurrencyPrice) -> PercentFee:
    return PercentFee(percent_bps=price.percent_bps, minimum=price.minimum, maximum=price.maximum)


def platform_pricing(tx: Tx, settings: Settings, platform_id: str, livemode: bool) -> dict[str, PercentFee]:
    """Per currency: the platform's instant payout fee — set through the API, else from configuration."""
    out = dict(settings.instant_pricing)
    stored = store.pricing(tx, platform_id, livemode)
    if stored:
        for currency, price in stored.currencies.items():
            if price is None:
                out.pop(currency, None)
            else:
                out[currency] = _fee_of(price)
    return out


def _priced(tx: Tx, actor: Actor, settings: Settings) -> list[PricedCurrency]:
    stored = store.pricing(tx, actor.platform_id, actor.livemode)
    from_api = stored.currencies if stored else {}
    return [
        PricedCurrency(
            currency,
            fee.percent_bps,
            fee.minimum,
            fee.maximum,
            "api" if currency in from_api else "configuration",
        )
        for currency, fee in sorted(platform_pricing(tx, settings, actor.platform_id, actor.livemode).items())
    ]


@dataclass(frozen=True)
class PriceChange:
    """A currency's new pricing: `percent` (two decimals at most), an optional floor and ceiling."""

    percent: Decimal
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class SetPricing:
    """Changes per currency (as given): a price, or None to remove the currency's pricing (no instant
    payout fee for it, even if configuration sets one)."""

    currencies: Mapping[str, PriceChange | None]


def retrieve_pricing(tx: Tx, actor: Actor, settings: Settings) -> list[PricedCurrency]:
    require_platform(actor, "read instant payout pricing")
    return _priced(tx, actor, settings)


def _price(change: PriceChange, param: str) -> CurrencyPrice:
    bps = change.percent * 100
    if bps != bps.to_integral_value() or not 0 <= bps <= 10_000:
        raise InvalidRequest(
            "percent must be a number from 0 to 100 with at most two decimals, e.g. 1.5.",
            param=f"{param}[percent]",
        )
    minimum = change.minimum or 0
    if minimum < 0:
        raise InvalidRequest("minimum cannot be negative.", param=f"{param}[minimum]")
    if change.maximum is not None and change.maximum < minimum:
        raise InvalidRequest("maximum must be at least minimum.", param=f"{param}[maximum]")
    return CurrencyPrice(percent_bps=int(bps), minimum=minimum, maximum=change.maximum)


def update_pricing(tx: Tx, actor: Actor, command: SetPricing, settings: Settings) -> list[PricedCurrency]:
    require_platform(actor, "set instant payout pricing")
    changes: dict[str, CurrencyPrice | None] = {}
    for raw_currency, change in command.currencies.items():
        param = f"currencies[{raw_currency}]"
        currency = check_currency(raw_currency, param=param)
        changes[currency] = None if change is None else _price(change, param)
    stored = store.pricing(tx, actor.platform_id, actor.livemode)
    if stored is None:
        pricing = InstantPricing(new_id("ipp"), actor.livemode, actor.now, changes)
    else:
        pricing = replace(stored, currencies={**stored.currencies, **changes})
    store.save_pricing(tx, pricing, platform_id=actor.platform_id, new=stored is None)
    return _priced(tx, actor, settings)


# ---- eligibility --------------------------------------------------------------------------------


def daily_limit(settings: Settings, currency: str) -> int:
    limits = settings.instant_daily_limits
    return limits.get(currency, limits.get("*", 0))


@dataclass(frozen=True)
class Terms:
    """What an account's instant payouts in one currency may do and cost."""

    refusal: InvalidRequest | None
    application: PercentFee | None
    processing: PercentFee
    platform_pays_processing: bool
    remaining_today: int
    day: str


class Party(Protocol):
    """What the rules read of an account: an `Account`, or its `Standing` (what never changes)."""

    @property
    def id(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def platform_pays_fees(self) -> bool: ...
    @property
    def liable(self) -> bool: ...


@dataclass(frozen=True)
class Parties:
    """The account paying out instantly, and its platform (the same account for the platform)."""

    account: Account | Party
    platform: Account | Party

    @property
    def connected(self) -> bool:
        return self.account.id != self.platform.id


def _unsupported(parties: Parties, currency: str) -> InvalidRequest | None:
    """Rule 2: the account's country and local currency (what no read can change)."""
    country = parties.account.country
    local = COUNTRY_CURRENCY.get(country)
    if country not in INSTANT_COUNTRIES:
        return InvalidRequest(
            f"Instant payouts are not supported for accounts in {country}.",
            code="instant_payouts_unsupported",
        )
    if currency != local:
        return InvalidRequest(
            f"Instant payouts can only be made in the account's local currency ({local}).",
            param="currency",
            code="instant_payouts_currency_disabled",
        )
    return None


def _not_home(parties: Parties, currency: str) -> InvalidRequest | None:
    """Rule 4: the country and currency of an account the platform is liable for."""
    account, home = parties.account, parties.platform.country
    if (
        parties.connected
        and account.liable
        and (account.country != home or currency != COUNTRY_CURRENCY.get(home))
    ):
        return InvalidRequest(
            "Instant payouts for an account whose negative balances the platform is liable for need the "
            f"account to be in the platform's country ({home}) and to pay out in its local currency.",
            code="instant_payouts_unsupported",
        )
    return None


def _refusal(parties: Parties, currency: str, application: PercentFee | None) -> InvalidRequest | None:
    unsupported = _unsupported(parties, currency)
    if unsupported is not None:
        return unsupported
    if parties.connected and parties.account.platform_pays_fees and application is None:
        return InvalidRequest(
            "Instant payouts for this account need the platform's instant payout pricing for "
            f"{currency}: the platform pays this account's fees (controller.fees.payer). Set it with "
            "POST /v1/payoutkit/instant_payout_pricing.",
            code="instant_payouts_config_disabled",
        )
    return _not_home(parties, currency)


def terms(tx: Tx, settings: Settings, parties: Parties, currency: str, moment: Moment) -> Terms:
    """Rules 2-5 for the account paying out instantly in `currency` (rule 1 is per destination)."""
    account = parties.account
    pricing = (
        platform_pricing(tx, settings, parties.platform.id, moment.livemode) if parties.connected else {}
    )
    application = pricing.get(currency)
    day = local_day(moment.now, account.country)
    used = store.volume(tx, account.id, moment.livemode, currency, day)
    return Terms(
        refusal=_refusal(parties, currency, application),
        application=application,
        processing=settings.pricing.instant_payout,
        platform_pays_processing=parties.connected and account.platform_pays_fees,
        remaining_today=max(0, daily_limit(settings, currency) - used),
        day=day,
    )


def remaining_today(tx: Tx, settings: Settings, t: Terms, key: Mapping[str, Any]) -> Terms:
    """`t` with what is left of today's limit read again (under the balance's lock). `key`:
    account_id, livemode, currency."""
    used = store.volume(tx, key["account_id"], key["livemode"], key["currency"], t.day)
    return replace(t, remaining_today=max(0, daily_limit(settings, key["currency"]) - used))


def limit_refusal(amount: int, t: Terms, currency: str) -> InvalidRequest | None:
    if amount > t.remaining_today:
        return InvalidRequest(
            f"This instant payout of {amount} exceeds what the account may still pay out instantly today "
            f"({t.remaining_today} {currency}); the limit resets at midnight in the account's region.",
            param="amount",
            code="instant_payouts_limit_exceeded",
        )
    return None


def add_volume(tx: Tx, key: Mapping[str, Any], amount: int) -> None:
    """Count an instant payout in its day's volume. `key`: account_id, livemode, currency, day."""
    store.add_volume(tx, key, amount)


# ---- what the Balance shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class InstantAvailable(InstantAmount):
    """`instant_available` in one currency (`InstantAmount`), and the terms it was computed from (why
    it is 0, when it is)."""

    terms: Terms | None = None


def _card_funds(buckets: list[Bucket], currency: str) -> int:
    payments = [
        b for b in buckets if b.key.currency == currency and b.key.balance_type is BalanceType.PAYMENTS
    ]
    card = sum(b.available for b in payments if b.key.source_type is SourceType.CARD)
    # Never more than the currency's total: a payout does not take the account below zero.
    return payout_limit(card, sum(b.available for b in payments))


def _standing(tx: Tx, actor: Actor) -> Parties:
    """The acting account and its platform, as the rules read them (kept per process: they never
    change)."""
    account, platform = store_accounts.standings(tx, actor.account_id, actor.platform_id)
    if account is None:
        raise ResourceMissing.for_id("account", actor.account_id)
    if platform is None:
        raise ResourceMissing.for_id("account", actor.platform_id)
    return Parties(account, platform)


def _figures(
    tx: Tx, settings: Settings, parties: Parties, currency: str, moment: Moment, funds: int
) -> tuple[int, int]:
    """The Balance's figures (`amount`, `net`) of `currency` with `funds` card funds available: `terms`
    with each part read only once nothing before it has made them 0 (no funds, a refusal)."""
    if funds <= 0 or _unsupported(parties, currency) or _not_home(parties, currency):
        return 0, 0
    connected = parties.connected
    pays = connected and parties.account.platform_pays_fees
    application = (
        platform_pricing(tx, settings, parties.platform.id, moment.livemode).get(currency)
        if connected
        else None
    )
    if pays and application is None:  # rule 3
        return 0, 0
    day = local_day(moment.now, parties.account.country)
    used = store.volume(tx, parties.account.id, moment.livemode, currency, day)
    amount = max(0, min(funds, daily_limit(settings, currency) - used))
    net = largest_payout(
        amount,
        application=application,
        processing=settings.pricing.instant_payout,
        platform_pays_processing=pays,
    )
    return amount, net


def balance_instantly(tx: Tx, actor: Actor, settings: Settings, buckets: list[Bucket]) -> list[InstantAmount]:
    """`available_instantly` as the Balance shows it (the figures, not the terms), reading only what
    can change them (`_figures`): a currency refused by rule 2 or 4, or without card funds, shows 0
    without the platform's pricing or today's volume being read."""
    usable = store_external_accounts.instant_capable(tx, actor.account_id, actor.livemode)
    if not usable:
        return []
    parties = _standing(tx, actor)
    out: list[InstantAmount] = []
    for currency in sorted({c for _, c in usable}):
        amount, net = _figures(tx, settings, parties, currency, actor, _card_funds(buckets, currency))
        out.append(InstantAmount(currency, amount, net, tuple(i for i, c in usable if c == currency)))
    return out


def available_instantly(
    tx: Tx, actor: Actor, settings: Settings, buckets: list[Bucket]
) -> list[InstantAvailable]:
    """Per currency with an instant-capable destination: the card funds available now (never more
    than the currency's available total across source types), capped by what is left of today's
    limit (0 when a rule refuses instant payouts), and the largest payout that fits."""
    usable = store_external_accounts.instant_capable(tx, actor.account_id, actor.livemode)
    if not usable:
        return []
    parties = _standing(tx, actor)
    out = []
    for currency in sorted({c for _, c in usable}):
        t = terms(tx, settings, parties, currency, actor)
        amount = (
            0 if t.refusal is not None else max(0, min(_card_funds(buckets, currency), t.remaining_today))
        )
        net = largest_payout(
            amount,
            application=t.application,
            processing=t.processing,
            platform_pays_processing=t.platform_pays_processing,
        )
        ids = tuple(i for i, c in usable if c == currency)
        out.append(InstantAvailable(currency, amount, net, ids, t))
    return out
