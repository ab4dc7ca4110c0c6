"""Opening a payout: the one way every payout — asked for through the API, automatic, a reversal — is
booked and recorded, on a movement whose buckets are locked and whose funds were checked.

A payout takes its amount (and, for an instant payout, its fees) out of the account's available
balance by a `payout` balance transaction in the same unit of work that creates it, with the bucket
locked: no interleaving can overdraw it.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from payoutkit.ids import new_id
from payoutkit.ledger.frozen import made_whole
from payoutkit.ledger.payout_record import (
    NO_FEES,
    PENDING_TRACE,
    Payout,
    PayoutFees,
    PayoutInternal,
    PayoutStatus,
)
from payoutkit.ledger.payouts import Booking, book_payout
from payoutkit.ledger.postings import PROCESSOR, WORLD, BalanceType, BucketKey, SourceType
from payoutkit.records.external_accounts import ExternalAccount, PayoutOutcome
from payoutkit.records.payouts import PayoutTracking
from payoutkit.services import events
from payoutkit.services.actor import Moment
from payoutkit.services.movement import Movement, currency_keys
from payoutkit.services.rail import Rail, RailPayout
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payouts as store


def payout_keys(source: BucketKey, platform_id: str) -> list[BucketKey]:
    """Every bucket a payout on `source` may move: its own, the world's, and for fees the processor's
    and the platform's."""
    return list(_payout_keys(source, platform_id))


@functools.lru_cache(maxsize=4096)
def _payout_keys(source: BucketKey, platform_id: str) -> tuple[BucketKey, ...]:
    k = source
    return (k, *_shared_keys(k.livemode, k.currency, k.balance_type, k.source_type, platform_id))


@functools.lru_cache(maxsize=256)
def _shared_keys(
    livemode: bool, currency: str, bt: BalanceType, st: SourceType, platform_id: str
) -> tuple[BucketKey, ...]:
    """The world's, the processor's and the platform's buckets of a payout's source (the same for all
    the platform's accounts: made once)."""
    return tuple(BucketKey(a, livemode, currency, bt, st) for a in (WORLD, PROCESSOR, platform_id))


def siblings(source: BucketKey) -> list[BucketKey]:
    """Every source type's bucket of the source's currency (a payout never takes their total below 0)."""
    return list(currency_keys(source))


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
    destination: ExternalAccount
    outcome: PayoutOutcome | None = None  # the destination's, when read with it (else read on opening)
    method: str = "standard"
    automatic: bool = False
    fees: PayoutFees = NO_FEES
    description: str | None = None
    statement_descriptor: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    original_payout: str | None = None


def _payout(order: PayoutOrder, moment: Moment, ids: tuple[str, str | None, str], arrival: int) -> Payout:
    po, fee_id, txn = ids
    return made_whole(  # every field (see `made_whole`)
        Payout,
        id=po,
        amount=order.amount,
        application_fee=fee_id,
        application_fee_amount=order.fees.application_fee if fee_id else None,
        arrival_date=arrival,
        automatic=order.automatic,
        balance_transaction=txn,
        created=moment.now,
        currency=order.source.currency,
        description=order.description,
        destination=order.destination.id,
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        livemode=moment.livemode,
        metadata=dict(order.metadata),
        method=order.method,
        original_payout=order.original_payout,
        payout_method=None,
        reconciliation_status="in_progress" if order.automatic else "not_applicable",
        reversed_by=None,
        source_type=order.source.source_type.value,
        statement_descriptor=order.statement_descriptor,
        status=PayoutStatus.PENDING,
        trace_id=PENDING_TRACE,
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


def _tracking(opened: Opened, rail: Rail) -> PayoutTracking:
    payout, internal = opened.payout, opened.internal
    step = rail.advance(rail_payout(payout, internal), payout.created)
    next_at = step.next_at if step.status is PayoutStatus.PENDING else payout.created
    return PayoutTracking(
        payout.id, opened.order.account_id, payout.livemode, payout.status.value, payout.arrival_date, next_at
    )


@dataclass(frozen=True)
class Opened:
    """A payout booked on its movement, not yet recorded: the payout, what it keeps to itself, its
    order (fees with their ids) and, for an automatic payout, the row of the bucket it sweeps."""

    payout: Payout
    internal: PayoutInternal
    order: PayoutOrder
    swept_seq: int | None


def book_order(
    moment: Moment,
    rail: Rail,
    mv: Movement,
    order: PayoutOrder,
    outcome: PayoutOutcome,
    reserves_of: Collection[str] | None = None,
) -> Opened:
    """Book a payout on a movement whose buckets are locked and whose funds were checked: its entries,
    and the reserves that follow them (of `reserves_of` only, if given: a batch movement holds many
    accounts). `outcome` is what the destination does with payouts (test mode)."""
    fee_id = new_id("fee") if order.fees.application_fee else None
    if order.fees.application_fee_id != fee_id:  # only an instant payout's fee has an id to set
        order = replace(order, fees=replace(order.fees, application_fee_id=fee_id))
    arrival = rail.arrival_date(moment.now, order.method)
    po_id = new_id("po")
    fees, automatic = order.fees, order.automatic
    booking = Booking(order.source, order.amount, po_id, moment.now, order.platform_id, fees, automatic)
    mv.read_reserves()
    written = mv.post(book_payout(booking, arrival=arrival, description=order.description))
    mv.sync_reserves(reserves_of)
    # The payout is built once, naming its own `payout` transaction (no copy of a half-made one).
    txn = next(w.id for w in written if w.entry.key.account == order.account_id and w.entry.source == po_id)
    payout = _payout(order, moment, (po_id, fee_id, txn), arrival)
    internal = PayoutInternal(
        failure_code=outcome.failure_code or None,
        fees=order.fees,
        txn_available_on=arrival if order.amount < 0 else moment.now,
    )
    swept = mv.seqs[mv.route(order.source)] if order.automatic else None
    return Opened(payout, internal, order, swept)


def record_opened(tx: Tx, moment: Moment, rail: Rail, mv: Movement, opened: Sequence[Opened]) -> None:
    """Record booked payouts: their documents, tracking rows, application fees, the sweeps of the
    automatic ones, and their `payout.created` events (in order), a few statements for them all."""
    # Each payout's document is made once: stored, and the `payout.created` event's snapshot.
    docs = [o.payout.doc() for o in opened]
    made = [(doc, o.internal, o.order.account_id) for doc, o in zip(docs, opened, strict=True)]
    store.create_many(tx, made)
    store.track_many(tx, [_tracking(o, rail) for o in opened])
    for o in opened:
        if o.payout.application_fee:
            store.create_fee(tx, _fee_doc(o.payout, o.order, mv), platform_id=o.order.platform_id)
    # An automatic payout settles every available transaction of its bucket not yet swept (its own was
    # written swept: `Booking.automatic`).
    store.sweep_many(tx, [(o.swept_seq, o.payout.id) for o in opened if o.swept_seq is not None])
    emissions = [
        events.Emission(
            "payout.created",
            doc,
            platform_id=o.order.platform_id,
            account_id=o.order.account_id,
            request_id=moment.request_id,
            idempotency_key=moment.idempotency_key,
            handed_over=True,  # the document is the event's alone once stored
        )
        for doc, o in zip(docs, opened, strict=True)
    ]
    events.emit_all(tx, moment, emissions)


def open_payout(tx: Tx, moment: Moment, rail: Rail, mv: Movement, order: PayoutOrder) -> Payout:
    """Book and record a payout on a movement whose buckets are locked and whose funds were checked."""
    outcome = order.outcome
    if outcome is None:  # not read with the destination
        outcome = store_external_accounts.outcome(tx, order.destination.id)
    opened = book_order(moment, rail, mv, order, outcome)
    record_opened(tx, moment, rail, mv, [opened])
    return opened.payout
