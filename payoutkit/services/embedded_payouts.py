"""Payouts as the components show them (docs/embedded.md, "Objects"), and made from them.

A payout's `fee` is what the account paid for it: its balance transaction's fee (an instant payout's
fees charged to the account; 0 for a standard or automatic one). The destination receives `amount`
(the fee is taken from the balance on top of it), so `net` = `amount` and `total` = `amount + fee` is
what left the balance.

A payout's details add its status history (from its events: each change of status, when it was
recorded) and the balance transactions it settled: an automatic payout's swept transactions (linked to
it, its own among them), and for every payout the account's transactions about it (its own, its
failure's or cancellation's, its fees returned).

The preview and the creation run `payout_create.preview` and `payout_create.create`, the use cases of
`POST /v1/payouts`: the same checks, fees, ledger entries, events and idempotency. A payout made here
must carry an Idempotency-Key (a double click, or a retry, pays once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from payoutkit.clock import mode_time
from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest
from payoutkit.lists import Page, Window
from payoutkit.records.balance import BalanceTransaction
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.records.payouts import Payout, PayoutFilter
from payoutkit.services import payout_create, payouts
from payoutkit.services.actor import Actor
from payoutkit.services.embedded import METHOD_FEATURES, paying_component
from payoutkit.services.policy import require_component, require_component_feature
from payoutkit.services.rail import Rail
from payoutkit.store import Tx, transactions
from payoutkit.store import events as store_events
from payoutkit.store import external_accounts as store_external_accounts

LISTING = ("payouts", "payouts_list")
DETAILS = ("payouts", "payouts_list", "payout_details")
# The transactions a payout's details list at most (newest first; `more_transactions` says if cut).
DETAILS_TRANSACTIONS = 100


@dataclass(frozen=True)
class PayoutDestination:
    """Where a payout goes, as a row shows it (only the id, when the external account is gone)."""

    id: str
    object: str
    last4: str | None = None
    bank_name: str | None = None
    brand: str | None = None

    @classmethod
    def of(cls, ea: ExternalAccount) -> PayoutDestination:
        return cls(
            id=ea.id,
            object=ea.object,
            last4=ea.last4,
            bank_name=ea.bank.bank_name if ea.bank is not None else None,
            brand=ea.card.brand if ea.card is not None else None,
        )


@dataclass(frozen=True)
class PayoutView:
    payout: Payout
    fee: int
    destination: PayoutDestination

    @property
    def net(self) -> int:
        """What the destination receives."""
        return self.payout.amount

    @property
    def total(self) -> int:
        """What the payout took from the balance, its fees included."""
        return self.payout.amount + self.fee


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: int


@dataclass(frozen=True)
class PayoutDetails:
    view: PayoutView
    history: tuple[StatusChange, ...]
    transactions: tuple[BalanceTransaction, ...]
    more_transactions: bool


def _views(tx: Tx, actor: Actor, found: Sequence[Payout]) -> list[PayoutView]:
    """The payouts with their fees and destinations (one read of each for the whole page)."""
    txns = transactions.by_ids(tx, [p.balance_transaction for p in found if p.balance_transaction])
    dests = {d.id: d for d in store_external_accounts.for_account(tx, actor.account_id, actor.livemode)}
    out = []
    for p in found:
        txn = txns.get(p.balance_transaction)
        dest = dests.get(p.destination)
        shown = PayoutDestination.of(dest) if dest is not None else PayoutDestination(p.destination, p.type)
        out.append(PayoutView(p, txn.fee if txn is not None else 0, shown))
    return out


def list_payouts(tx: Tx, actor: Actor, window: Window) -> Page[PayoutView]:
    """The acting account's payouts, newest first (`payouts` or `payouts_list`)."""
    require_component(actor, *LISTING)
    found = payouts.list_payouts(tx, actor, window, PayoutFilter())
    return Page(_views(tx, actor, found.items), found.has_more)


def _history(events: Iterable[tuple[Mapping[str, Any], int]], created: int) -> tuple[StatusChange, ...]:
    """Each change of status the payout's events record (a payout starts `pending`)."""
    out = [StatusChange("pending", created)]
    for obj, at in events:
        status = obj.get("status")
        if isinstance(status, str) and status != out[-1].status:
            out.append(StatusChange(status, at))
    return tuple(out)


def _settled(tx: Tx, actor: Actor, payout: Payout) -> tuple[list[BalanceTransaction], bool]:
    """What the payout settled: the transactions an automatic payout swept, and every transaction of
    the account about the payout (its own, its failure's or cancellation's, its fees and their
    returns), newest first; and whether an automatic payout swept more than are listed."""
    found: dict[str, BalanceTransaction] = {}
    more = False
    window = Window(limit=DETAILS_TRANSACTIONS)
    wheres = [
        transactions.Filter(actor.account_id, actor.livemode, source=source)
        for source in (payout.id, payout.application_fee)
        if source
    ]
    if payout.automatic:
        wheres.append(transactions.Filter(actor.account_id, actor.livemode, payout=payout.id))
    for where in wheres:
        page = transactions.listed(tx, where, window)
        found.update((t.id, t) for t in page.items)
        more = more or (page.has_more and where.payout is not None)
    own = [t for t in (payout.balance_transaction, payout.failure_balance_transaction) if t]
    found.update(transactions.by_ids(tx, [t for t in own if t not in found]))
    now = mode_time(actor.now, actor.livemode)
    ordered = sorted(found.values(), key=lambda t: (t.created, t.id), reverse=True)
    return [t.as_of(now) for t in ordered], more


def retrieve(tx: Tx, actor: Actor, payout_id: str) -> PayoutDetails:
    """One of the acting account's payouts, with its history and what it settled (another account's,
    or another mode's: 404)."""
    require_component(actor, *DETAILS)
    payout = payouts.retrieve(tx, actor, payout_id)
    [view] = _views(tx, actor, [payout])
    scope = store_events.Scope(
        platform_id=actor.platform_id,
        account_id=None if actor.is_platform else actor.account_id,
        livemode=actor.livemode,
        since=payout.created,
    )
    events = store_events.payout_events(tx, scope, payout.id)
    history = _history(((e.object, e.created) for e in events), payout.created)
    settled, more = _settled(tx, actor, payout)
    return PayoutDetails(view, history, tuple(settled), more)


# ---- previewing and making a payout --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PayoutRequest:
    amount: int
    currency: str
    method: str = "standard"
    destination: str | None = None
    component: str | None = None

    def command(self) -> payout_create.CreatePayout:
        return payout_create.CreatePayout(
            amount=self.amount, currency=self.currency, method=self.method, destination=self.destination
        )


def _authorize(actor: Actor, request: PayoutRequest) -> None:
    component = paying_component(actor, request.component)
    feature = METHOD_FEATURES.get(request.method)
    if feature is None:
        raise InvalidRequest(
            f"Invalid method: must be one of {', '.join(METHOD_FEATURES)}.",
            param="method",
            code="parameter_invalid_string",
        )
    require_component_feature(actor, component, feature)


@dataclass(frozen=True)
class PayoutPreview:
    amount: int
    currency: str
    method: str
    fee: int
    arrival_date: int
    destination: PayoutDestination

    @property
    def net(self) -> int:
        return self.amount

    @property
    def total(self) -> int:
        return self.amount + self.fee


def preview(tx: Tx, actor: Actor, request: PayoutRequest, *, settings: Settings, rail: Rail) -> PayoutPreview:
    """What the payout would be (fee, arrival, destination), or the refusal its creation would raise;
    nothing is written."""
    _authorize(actor, request)
    found = payout_create.preview(tx, actor, request.command(), settings=settings, rail=rail)
    order = found.order
    return PayoutPreview(
        amount=order.amount,
        currency=order.source.currency,
        method=order.method,
        fee=found.fee,
        arrival_date=found.arrival_date,
        destination=PayoutDestination.of(order.destination),
    )


def create(tx: Tx, actor: Actor, request: PayoutRequest, *, settings: Settings, rail: Rail) -> PayoutView:
    """The payout, made by `POST /v1/payouts`'s use case; the request must carry an Idempotency-Key."""
    _authorize(actor, request)
    if not actor.idempotency_key:
        raise InvalidRequest(
            "A payout needs an Idempotency-Key header, so that a repeated request pays once.",
            param="Idempotency-Key",
            code="parameter_missing",
        )
    made = payout_create.create(tx, actor, request.command(), settings=settings, rail=rail)
    [view] = _views(tx, actor, [made])
    return view
