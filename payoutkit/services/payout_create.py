"""Creating a payout through the API: a standard or instant payout of the acting account, checked
(its amount, destination, schedule, instant payout rules and the daily limit) and opened on its locked
buckets. No payout, of any kind, takes the account's available total in a currency below zero; all
source types of the currency are locked to check it (payoutkit/ledger/payouts.py, "What a payout may
take").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id
from payoutkit.ledger import instant as instant_math
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.payout_record import Payout, PayoutFees
from payoutkit.ledger.payouts import check_payout_amount, require_payout_funds
from payoutkit.ledger.postings import BucketKey, SourceType
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.accounts import Account
from payoutkit.records.external_accounts import ExternalAccount, PayoutOutcome
from payoutkit.services import accounts, balance
from payoutkit.services import instant as instant_rules
from payoutkit.services.actor import Actor
from payoutkit.services.movement import movement
from payoutkit.services.payout_open import PayoutOrder, open_payout, payout_keys, siblings
from payoutkit.services.rail import Rail
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payers as store_payers


@dataclass(frozen=True, kw_only=True)
class CreatePayout:
    amount: int
    currency: str
    description: str | None = None
    destination: str | None = None
    metadata: MetadataChange = None
    method: str | None = None
    source_type: str | None = None
    statement_descriptor: str | None = None


Destinations = list[tuple[ExternalAccount, PayoutOutcome]]


def _destination(
    tx: Tx, actor: Actor, currency: str, given: str | None, destinations: Destinations
) -> tuple[ExternalAccount, PayoutOutcome | None]:
    """The destination and, when it was read with it, what a payout to it does. `destinations`: the
    account's external accounts of the mode, with their outcomes (read with the account)."""
    if given:
        check_id(given, ("ba", "card"), "destination", "external account")
        known = [(d, outcome) for d, outcome in destinations if d.id == given]
        dest, read = known[0] if known else (store_external_accounts.get(tx, given), None)
        if dest is None or dest.account != actor.account_id or dest.livemode != actor.livemode:
            raise ResourceMissing(f"No such external account: '{given}'", param="destination")
        if dest.currency != currency:
            raise InvalidRequest(
                f"The destination {given} takes {dest.currency}, not {currency}.",
                param="currency",
                code="invalid_currency",
            )
        return dest, read
    for dest, outcome in destinations:
        if dest.currency == currency and dest.default_for_currency:
            return dest, outcome
    raise InvalidRequest(
        f"This account has no external account for {currency}: add one (default_for_currency) or pass "
        "destination.",
        param="destination",
    )


def _check_destination(dest: ExternalAccount, method: str) -> None:
    if dest.errored:
        raise InvalidRequest(
            f"The external account {dest.id} failed a payout and cannot receive payouts until its details "
            "are updated.",
            param="destination",
            code="bank_account_unusable",
        )
    if not dest.takes(method):
        raise InvalidRequest(
            f"The destination {dest.id} does not support {method} payouts (its available_payout_methods "
            f"are {', '.join(dest.available_payout_methods)}).",
            param="method",
            code="instant_payouts_unsupported",
        )


def _check_request(actor: Actor, command: CreatePayout, account: Account, method: str) -> None:
    if command.statement_descriptor is not None and len(command.statement_descriptor) > 22:
        raise InvalidRequest(
            "The statement descriptor must be at most 22 characters.", param="statement_descriptor"
        )
    interval = account.schedule.interval.value
    if method == "standard" and not actor.is_platform and interval != "manual":
        raise InvalidRequest(
            "This account is paid out automatically (settings.payouts.schedule.interval is "
            f"{interval}). Set the interval to manual to create standard payouts through the API.",
            param="method",
            code="payouts_not_allowed",
        )


@dataclass(frozen=True)
class _Instant:
    terms: instant_rules.Terms
    fees: PayoutFees


def _instant(tx: Tx, actor: Actor, settings: Settings, account: Account, order: PayoutOrder) -> _Instant:
    """An instant payout's terms (refused by its rules 2-4) and fees."""
    if order.source.source_type is not SourceType.CARD:
        raise InvalidRequest(
            "Instant payouts are paid from card funds only (source_type=card).", param="source_type"
        )
    platform = account if actor.is_platform else accounts.get(tx, actor.platform_id)
    terms = instant_rules.terms(
        tx, settings, instant_rules.Parties(account, platform), order.source.currency, actor
    )
    if terms.refusal is not None:
        raise terms.refusal
    fees = instant_math.instant_fees(
        order.amount,
        application=terms.application,
        processing=terms.processing,
        platform_pays_processing=terms.platform_pays_processing,
    )
    return _Instant(terms, fees)


def _order(
    tx: Tx, actor: Actor, command: CreatePayout, account: Account, destinations: Destinations
) -> PayoutOrder:
    currency = check_currency(command.currency)
    amount = check_payout_amount(check_amount(command.amount, currency), currency)
    method = command.method or "standard"
    _check_request(actor, command, account, method)
    source = BucketKey(
        actor.account_id, actor.livemode, currency, source_type=SourceType(command.source_type or "card")
    )
    dest, outcome = _destination(tx, actor, currency, command.destination, destinations)
    _check_destination(dest, method)
    return PayoutOrder(
        account_id=actor.account_id,
        platform_id=actor.platform_id,
        amount=amount,
        source=source,
        destination=dest,
        outcome=outcome,
        method=method,
        description=command.description,
        statement_descriptor=command.statement_descriptor or account.payouts.statement_descriptor,
    )


@dataclass(frozen=True)
class Checked:
    """A payout request checked as `create` checks it before locking anything: the order (with an
    instant payout's fees) and, for an instant payout, its terms."""

    order: PayoutOrder
    instant: _Instant | None


def check(tx: Tx, actor: Actor, command: CreatePayout, settings: Settings) -> Checked:
    """Every check of the request that needs no lock: amount, destination, schedule, and for an instant
    payout its rules 2-4 and its fees (services/instant.py)."""
    # The account, its destinations and its platform's webhook endpoints (for `payout.created`) in one read
    # (store/payers.py).
    account, destinations = store_payers.payer(
        tx, actor.account_id, actor.livemode, endpoints_of=actor.platform_id
    )
    if account is None:
        raise ResourceMissing.for_id("account", actor.account_id)
    order = _order(tx, actor, command, account, destinations)
    instant = _instant(tx, actor, settings, account, order) if order.method == "instant" else None
    if instant is not None:
        order = replace(order, fees=instant.fees)
    return Checked(order, instant)


def create(tx: Tx, actor: Actor, command: CreatePayout, *, settings: Settings, rail: Rail) -> Payout:
    """A standard or instant payout of the acting account, by the API."""
    checked = check(tx, actor, command, settings)
    order, instant = checked.order, checked.instant
    source, currency = order.source, order.source.currency
    # Every source type of the currency is read under its lock: a payout never takes the account's
    # total below zero (payoutkit/ledger/payouts.py, "What a payout may take").
    mv = movement(tx, actor, payout_keys(source, actor.platform_id), exact=siblings(source))
    volume_key = {"account_id": actor.account_id, "livemode": actor.livemode, "currency": currency}
    if instant is not None:
        # Read today's volume only now, under the bucket's lock: concurrent instant payouts of this
        # account queue here, so they cannot pass the limit together.
        terms = instant_rules.remaining_today(tx, settings, instant.terms, volume_key)
        refusal = instant_rules.limit_refusal(order.amount, terms, currency)
        if refusal is not None:
            raise refusal
    total = sum(mv.bucket(k).available for k in siblings(source))
    cost = order.amount + order.fees.charged_to_account()
    require_payout_funds(cost, mv.bucket(source).available, total, currency)
    if command.metadata is not None:  # else the order's own: none
        order = replace(order, metadata=merge_metadata({}, command.metadata))
    payout = open_payout(tx, actor, rail, mv, order)
    if instant is not None:
        instant_rules.add_volume(tx, {**volume_key, "day": instant.terms.day}, order.amount)
    return payout


@dataclass(frozen=True)
class Preview:
    """What `create` would make of a request: the checked order (its destination, method and fees)
    and the arrival date the rail gives it."""

    order: PayoutOrder
    arrival_date: int

    @property
    def fee(self) -> int:
        """The fees the account pays for the payout, on top of its amount."""
        return self.order.fees.charged_to_account()


def preview(tx: Tx, actor: Actor, command: CreatePayout, *, settings: Settings, rail: Rail) -> Preview:
    """The payout `create` would open for `command`, or the refusal it would raise, with nothing
    written: the same checks and fees, with the funds and the daily instant limit read without locks
    (so a payout created next may still be refused if they changed meanwhile)."""
    checked = check(tx, actor, command, settings)
    order, instant = checked.order, checked.instant
    currency = order.source.currency
    if instant is not None:
        refusal = instant_rules.limit_refusal(order.amount, instant.terms, currency)
        if refusal is not None:
            raise refusal
    available = {b.key: b.available for b in balance.read_balance(tx, actor).buckets}
    total = sum(available.get(k, 0) for k in siblings(order.source))
    cost = order.amount + order.fees.charged_to_account()
    require_payout_funds(cost, available.get(order.source, 0), total, currency)
    return Preview(order, rail.arrival_date(actor.now, order.method))
