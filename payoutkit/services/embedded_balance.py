"""The balance summary the `balances` and `payouts` components show (docs/embedded.md, "Objects").

Per currency the account holds: `available` and `pending` as `GET /v1/balance` reads them (due funds
shown as available, services/balance.py), `in_transit` (its payouts still pending or in transit, which
have left the balance but not reached the bank), their `total`, the pending funds by the time they
become available, `instant_available` as the Balance reports it (services/instant.py), and for each
payout method whether a payout may be made now, or the reason it may not:

    not_enabled             the session's feature for the method is off
    not_manual              standard payouts need a manual schedule (automatic ones pay out by it)
    no_instant_destination  no destination in the currency takes instant payouts
    no_pricing              the platform pays the account's fees and has no instant pricing for it
    not_eligible            another rule refuses (the message says which)
    limit_reached           nothing is left of today's instant payout limit
    no_funds                nothing to pay out

The reasons are checked in that order; `max_amount` is the largest payout of the method that the
funds cover now, its fees included (what the payout dialog offers by default).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from payoutkit.clock import mode_time
from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest
from payoutkit.ledger.payouts import payout_limit
from payoutkit.ledger.postings import BalanceType, Bucket, SourceType
from payoutkit.ledger.schedule import Interval
from payoutkit.records.accounts import Account
from payoutkit.records.balance import held_currencies
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services import accounts, balance, instant
from payoutkit.services.actor import Actor
from payoutkit.services.embedded import feature_enabled, paying_component
from payoutkit.store import Tx, bucket_reads
from payoutkit.store import payouts as store_payouts


@dataclass(frozen=True)
class Allowed:
    """Whether a payout method may be used now; else a reason code (above) and a message."""

    allowed: bool
    reason: str | None = None
    message: str | None = None
    max_amount: int = 0


@dataclass(frozen=True)
class PendingOn:
    available_on: int
    amount: int


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    available: int
    pending: int
    in_transit: int
    pending_by_date: tuple[PendingOn, ...]
    instant_available: int | None  # None: no destination in the currency takes instant payouts
    standard: Allowed
    instant: Allowed

    @property
    def total(self) -> int:
        return self.available + self.pending + self.in_transit


@dataclass(frozen=True)
class BalanceSummary:
    component: str
    currencies: tuple[CurrencyBalance, ...]


def _refused(reason: str, message: str) -> Allowed:
    return Allowed(False, reason, message)


def _standard(ctx: _Context, currency: str, destinations: Sequence[ExternalAccount], funds: int) -> Allowed:
    if not feature_enabled(ctx.actor, ctx.component, "standard_payouts"):
        return _refused("not_enabled", "Standard payouts are not enabled for this session.")
    interval = ctx.account.schedule.interval
    if interval is not Interval.MANUAL and not ctx.actor.is_platform:
        return _refused(
            "not_manual",
            f"This account is paid out automatically ({interval.value}); standard payouts need a manual "
            "schedule.",
        )
    if not any(d.currency == currency and d.takes("standard") and not d.errored for d in destinations):
        return _refused("not_eligible", f"No destination can receive {currency.upper()} payouts.")
    if funds <= 0:
        return _refused("no_funds", "There are no available funds to pay out.")
    return Allowed(True, max_amount=funds)


def _instant(ctx: _Context, found: instant.InstantAvailable | None) -> Allowed:
    if not feature_enabled(ctx.actor, ctx.component, "instant_payouts"):
        return _refused("not_enabled", "Instant payouts are not enabled for this session.")
    if found is None or found.terms is None:
        return _refused("no_instant_destination", "No destination can receive instant payouts.")
    refusal: InvalidRequest | None = found.terms.refusal
    if refusal is not None:
        reason = "no_pricing" if refusal.code == "instant_payouts_config_disabled" else "not_eligible"
        return _refused(reason, refusal.message)
    if found.terms.remaining_today <= 0:
        return _refused("limit_reached", "Today's instant payout limit has been reached.")
    if found.net <= 0:
        return _refused("no_funds", "There are no funds available for an instant payout.")
    return Allowed(True, max_amount=found.net)


@dataclass(frozen=True)
class _Context:
    actor: Actor
    component: str
    account: Account


def _standard_funds(buckets: Sequence[Bucket], currency: str) -> int:
    """The largest standard payout (from card funds, as `POST /v1/payouts` makes one): the card funds
    available, never more than the currency's available total."""
    payments = [
        b for b in buckets if b.key.currency == currency and b.key.balance_type is BalanceType.PAYMENTS
    ]
    card = sum(b.available for b in payments if b.key.source_type is SourceType.CARD)
    return payout_limit(card, sum(b.available for b in payments))


def _in_transit(tx: Tx, actor: Actor) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for p in store_payouts.payouts_in_flight(tx, actor.account_id, actor.livemode):
        out[p.currency] += p.amount
    return out


def _currencies(account: Account, *held: Sequence[str]) -> list[str]:
    found = {c for group in held for c in group}
    others = sorted(found - {account.default_currency})
    return [account.default_currency, *others]


def read_summary(tx: Tx, actor: Actor, component: str | None, settings: Settings) -> BalanceSummary:
    """The acting account's balances per currency, as the named component sees them."""
    ctx = _Context(actor, paying_component(actor, component), accounts.get(tx, actor.account_id))
    found = balance.read_balance(tx, actor)
    buckets = list(found.buckets)
    view = accounts.view(tx, actor, ctx.account)
    instantly = {a.currency: a for a in instant.available_instantly(tx, actor, settings, buckets)}
    available = {a.currency: a.amount for a in found.available}
    pending = {a.currency: a.amount for a in found.pending}
    transit = _in_transit(tx, actor)
    now = mode_time(actor.now, actor.livemode)
    by_date = bucket_reads.pending_by_date(tx, actor.account_id, actor.livemode, now)
    out = []
    for currency in _currencies(ctx.account, held_currencies(buckets), list(transit)):
        instant_found = instantly.get(currency)
        out.append(
            CurrencyBalance(
                currency=currency,
                available=available.get(currency, 0),
                pending=pending.get(currency, 0),
                in_transit=transit.get(currency, 0),
                pending_by_date=tuple(PendingOn(on, amount) for on, amount in by_date.get(currency, [])),
                instant_available=instant_found.amount if instant_found is not None else None,
                standard=_standard(ctx, currency, view.external_accounts, _standard_funds(buckets, currency)),
                instant=_instant(ctx, instant_found),
            )
        )
    return BalanceSummary(ctx.component, tuple(out))
