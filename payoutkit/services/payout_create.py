"""Creating a payout: a standard or instant payout asked for through the API, and the one way every
payout (automatic ones and reversals too) is opened.

A payout takes its amount (and, for an instant payout, its fees) out of the account's available
balance by a `payout` balance transaction in the same unit of work that creates it, with the bucket
locked: no interleaving can overdraw it. No payout, of any kind, takes the account's available total
in a currency below zero; all source types of the currency are locked to check it
(payoutkit/ledger/payouts.py, "What a payout may take").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger import instant as instant_math
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.payouts import Booking, book_payout, check_payout_amount, require_payout_funds
from payoutkit.ledger.postings import PROCESSOR, WORLD, BucketKey, SourceType
from payoutkit.records.payouts import (
    NO_FEES,
    Payout,
    PayoutFees,
    PayoutInternal,
    PayoutStatus,
    PayoutTracking,
    TraceId,
)
from payoutkit.services import events
from payoutkit.services import instant as instant_rules
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.movement import Movement, movement
from payoutkit.services.payout_parties import (
    Destination,
    PayoutAccount,
    destination_outcome,
    destinations,
    find_destination,
    payout_account,
)
from payoutkit.services.rail import Rail, RailPayout
from payoutkit.store import Tx
from payoutkit.store import payouts as store


def payout_keys(source: BucketKey, platform_id: str) -> list[BucketKey]:
    """Every bucket a payout on `source` may move: its own, the world's, and for fees the processor's
    and the platform's."""
    return [
        source,
        source.with_account(WORLD),
        source.with_account(PROCESSOR),
        source.with_account(platform_id),
    ]


def siblings(source: BucketKey) -> list[BucketKey]:
    """Every source type's bucket of the source's currency (a payout never takes their total below 0)."""
    return [replace(source, source_type=st) for st in SourceType]


def rail_payout(payout: Payout, internal: PayoutInternal) -> RailPayout:
    """What a rail knows of a payout."""
    return RailPayout(
        id=payout.id,
        amount=payout.amount,
        currency=payout.currency,
        method=payout.method,
        created=payout.created,
        arrival_date=payout.arrival_date,
        destination=payout.destination,
        failure_code=internal.failure_code,
    )


# ---- opening a payout -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PayoutOrder:
    """A payout to open: `amount` out of the `source` bucket (negative: a debit of the destination, or a
    reversal) to `destination`, with its fees."""

    account_id: str
    platform_id: str
    amount: int
    source: BucketKey
    destination: Destination
    method: str = "standard"
    automatic: bool = False
    fees: PayoutFees = NO_FEES
    description: str | None = None
    statement_descriptor: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    original_payout: str | None = None


def _payout(order: PayoutOrder, moment: Moment, ids: tuple[str, str | None], arrival: int) -> Payout:
    po, fee_id = ids
    return Payout(
        id=po,
        amount=order.amount,
        application_fee=fee_id,
        application_fee_amount=order.fees.application_fee if fee_id else None,
        arrival_date=arrival,
        automatic=order.automatic,
        balance_transaction="",
        created=moment.now,
        currency=order.source.currency,
        description=order.description,
        destination=order.destination.id,
        livemode=moment.livemode,
        metadata=dict(order.metadata),
        method=order.method,
        original_payout=order.original_payout,
        reconciliation_status="in_progress" if order.automatic else "not_applicable",
        source_type=order.source.source_type.value,
        statement_descriptor=order.statement_descriptor,
        status=PayoutStatus.PENDING,
        trace_id=TraceId("pending", None),
        type=order.destination.object,
    )


def _fee_doc(payout: Payout, order: PayoutOrder, mv: Movement) -> dict[str, Any]:
    """The platform's application fee on an instant payout, as Stripe shows it."""
    fee_id = payout.application_fee
    assert fee_id is not None
    return {
        "id": fee_id,
        "object": "application_fee",
        "account": order.account_id,
        "amount": order.fees.application_fee,
        "amount_refunded": 0,
        "application": order.platform_id,
        "balance_transaction": mv.txn_for(order.platform_id, fee_id),
        # Stripe's schema requires `charge`; a payout's fee names the payout it was taken from
        # (`fee_source` says so), and `expand[]=charge` leaves it an id.
        "charge": payout.id,
        "created": payout.created,
        "currency": payout.currency,
        "fee_source": {"payout": payout.id, "type": "payout"},
        "livemode": payout.livemode,
        "originating_transaction": None,
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [],
            "has_more": False,
            "url": f"/v1/application_fees/{fee_id}/refunds",
        },
    }


def _track(tx: Tx, payout: Payout, internal: PayoutInternal, order: PayoutOrder, rail: Rail) -> None:
    step = rail.advance(rail_payout(payout, internal), payout.created)
    next_at = step.next_at if step.status is PayoutStatus.PENDING else payout.created
    tracking = PayoutTracking(
        payout.id, order.account_id, payout.livemode, payout.status.value, payout.arrival_date, next_at
    )
    store.track(tx, tracking)


def open_payout(tx: Tx, moment: Moment, rail: Rail, mv: Movement, order: PayoutOrder) -> Payout:
    """Book and record a payout on a movement whose buckets are locked and whose funds were checked."""
    fee_id = new_id("fee") if order.fees.application_fee else None
    order = replace(order, fees=replace(order.fees, application_fee_id=fee_id))
    arrival = rail.arrival_date(moment.now, order.method)
    payout = _payout(order, moment, (new_id("po"), fee_id), arrival)
    booking = Booking(order.source, order.amount, payout.id, moment.now, order.platform_id, order.fees)
    mv.post(book_payout(booking, arrival=arrival, description=order.description))
    mv.sync_reserves()
    payout = replace(payout, balance_transaction=mv.txn_for(order.account_id, payout.id))
    internal = PayoutInternal(
        failure_code=destination_outcome(tx, order.destination.id),
        fees=order.fees,
        txn_available_on=arrival if order.amount < 0 else moment.now,
    )
    store.create(tx, payout, internal, account_id=order.account_id)
    _track(tx, payout, internal, order, rail)
    if fee_id:
        store.create_fee(tx, _fee_doc(payout, order, mv), platform_id=order.platform_id)
    if order.automatic:
        # The transactions this payout settles: every available one of the bucket not yet swept, and
        # the payout's own.
        store.sweep(tx, mv.seqs[mv.route(order.source)], payout.id, payout.balance_transaction)
    events.emit(
        tx,
        moment,
        "payout.created",
        payout.doc(),
        platform_id=order.platform_id,
        account_id=order.account_id,
        request_id=moment.request_id,
        idempotency_key=moment.idempotency_key,
    )
    return payout


# ---- a payout asked for through the API ------------------------------------------------------------

# How the wire's metadata rules make a payout's metadata from what it had (`metadata=` clears,
# `metadata[k]=` deletes a key); applied where the request's metadata is checked.
MetadataEdit = Callable[[dict[str, str]], dict[str, str]]


def unchanged(metadata: dict[str, str]) -> dict[str, str]:
    return metadata


@dataclass(frozen=True, kw_only=True)
class CreatePayout:
    amount: int
    currency: str
    description: str | None = None
    destination: str | None = None
    metadata: MetadataEdit = unchanged
    method: str | None = None
    source_type: str | None = None
    statement_descriptor: str | None = None


def _destination(tx: Tx, actor: Actor, currency: str, given: str | None) -> Destination:
    if given:
        check_id(given, ("ba", "card"), "destination", "external account")
        found = find_destination(tx, given)
        if found is None or found[1] != actor.account_id or found[0].livemode != actor.livemode:
            raise ResourceMissing(f"No such external account: '{given}'", param="destination")
        dest = found[0]
        if dest.currency != currency:
            raise InvalidRequest(
                f"The destination {given} takes {dest.currency}, not {currency}.",
                param="currency",
                code="invalid_currency",
            )
        return dest
    for dest in destinations(tx, actor.account_id, actor.livemode):
        if dest.currency == currency and dest.default_for_currency:
            return dest
    raise InvalidRequest(
        f"This account has no external account for {currency}: add one (default_for_currency) or pass "
        "destination.",
        param="destination",
    )


def _check_destination(dest: Destination, method: str) -> None:
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
            f"are {', '.join(dest.available_payout_methods or ())}).",
            param="method",
            code="instant_payouts_unsupported",
        )


def _check_request(actor: Actor, command: CreatePayout, account: PayoutAccount, method: str) -> None:
    if command.statement_descriptor is not None and len(command.statement_descriptor) > 22:
        raise InvalidRequest(
            "The statement descriptor must be at most 22 characters.", param="statement_descriptor"
        )
    interval = account.payouts.schedule.interval.value
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


def _instant(
    tx: Tx, actor: Actor, settings: Settings, account: PayoutAccount, order: PayoutOrder
) -> _Instant:
    """An instant payout's terms (refused by its rules 2-4) and fees."""
    if order.source.source_type is not SourceType.CARD:
        raise InvalidRequest(
            "Instant payouts are paid from card funds only (source_type=card).", param="source_type"
        )
    platform = account if actor.is_platform else payout_account(tx, actor.platform_id)
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


def _order(tx: Tx, actor: Actor, command: CreatePayout, account: PayoutAccount) -> PayoutOrder:
    currency = check_currency(command.currency)
    amount = check_payout_amount(check_amount(command.amount, currency), currency)
    method = command.method or "standard"
    _check_request(actor, command, account, method)
    source = BucketKey(
        actor.account_id, actor.livemode, currency, source_type=SourceType(command.source_type or "card")
    )
    dest = _destination(tx, actor, currency, command.destination)
    _check_destination(dest, method)
    return PayoutOrder(
        account_id=actor.account_id,
        platform_id=actor.platform_id,
        amount=amount,
        source=source,
        destination=dest,
        method=method,
        description=command.description,
        statement_descriptor=command.statement_descriptor or account.payouts.statement_descriptor,
    )


def create(tx: Tx, actor: Actor, command: CreatePayout, *, settings: Settings, rail: Rail) -> Payout:
    """A standard or instant payout of the acting account, by the API."""
    account = payout_account(tx, actor.account_id)
    order = _order(tx, actor, command, account)
    instant = _instant(tx, actor, settings, account, order) if order.method == "instant" else None
    if instant is not None:
        order = replace(order, fees=instant.fees)
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
    payout = open_payout(tx, actor, rail, mv, replace(order, metadata=command.metadata({})))
    if instant is not None:
        instant_rules.add_volume(tx, {**volume_key, "day": instant.terms.day}, order.amount)
    return payout
