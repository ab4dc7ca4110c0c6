"""A payout's lifecycle: canceled or reversed through the API, advanced by its rail.

`payout_tracking` holds when a payout's next step is due, which the worker (`advance_due`) asks the
payout's rail about. What a transition does is planned by the pure ledger (`plan_transition`) and
applied here: the returned funds are posted, the destination is marked `errored` (a failure stops
automatic payouts to it until its details are updated), what an automatic payout swept is released,
the payout is saved and its events emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ids import check_id
from payoutkit.ledger.payout_record import Payout, PayoutStatus
from payoutkit.ledger.payouts import (
    REVERSAL_WINDOW_SECONDS,
    Parties,
    Plan,
    PlannedEvent,
    Transition,
    plan_reversed,
    plan_transition,
)
from payoutkit.ledger.postings import BucketKey, SourceType
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.accounts import Account
from payoutkit.records.payouts import LockedPayout
from payoutkit.services import accounts, events
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.movement import movement
from payoutkit.services.payout_open import PayoutOrder, open_payout, payout_keys, rail_payout
from payoutkit.services.policy import may_reach
from payoutkit.services.rail import Rail
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payouts as store

# ---- applying a plan ------------------------------------------------------------------------------


def emit(tx: Tx, moment: Moment, payout: Payout, planned: tuple[PlannedEvent, ...], parties: Parties) -> None:
    for event in planned:
        events.emit(
            tx,
            moment,
            event.type,
            payout.doc(),
            platform_id=parties.platform,
            account_id=parties.account,
            previous_attributes=dict(event.previous_attributes) if event.previous_attributes else None,
            request_id=moment.request_id,
            idempotency_key=moment.idempotency_key,
        )


def _mark_errored(tx: Tx, moment: Moment, destination_id: str, parties: Parties) -> None:
    """Mark the destination `errored` (a payout to it failed), unless it already is (or is gone)."""
    destination = store_external_accounts.get(tx, destination_id, for_update=True)
    if destination is None or destination.errored:
        return
    errored = replace(destination, status="errored")
    store_external_accounts.save(tx, errored)
    events.emit(
        tx,
        moment,
        "account.external_account.updated",
        errored.rendered(),
        platform_id=parties.platform,
        account_id=parties.account,
        previous_attributes={"status": "new"},
        request_id=moment.request_id,
        idempotency_key=moment.idempotency_key,
    )


def apply(tx: Tx, moment: Moment, plan: Plan, parties: Parties) -> Payout:
    """Carry out a plan's effects on others: post its returns, mark the destination, release the sweeps.
    Returns the payout as it now is; the caller saves it and then emits the plan's events (`emit`)."""
    after = plan.after
    if plan.returns:
        mv = movement(tx, moment, [e.key for e in plan.returns])
        mv.post(plan.returns)
        mv.sync_reserves()
        after = replace(after, failure_balance_transaction=mv.txn_for(parties.account, after.id))
    if plan.mark_destination_errored:
        _mark_errored(tx, moment, after.destination, parties)
    if plan.release_sweeps:
        store.release_sweeps(tx, after.id)
    return after


def _parties(tx: Tx, account_id: str) -> Parties:
    return Parties(account_id, store.platform_of(tx, account_id))


def _locked(tx: Tx, payout_id: str) -> LockedPayout:
    found = store.lock(tx, payout_id)
    if found is None:
        raise ResourceMissing.for_id("payout", payout_id, "payout")
    return found


def _owned(tx: Tx, actor: Actor, payout_id: str) -> None:
    check_id(payout_id, ("po",), "payout", "payout")
    found = store.get(tx, payout_id)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("payout", payout_id, "payout")


# ---- cancel ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CancelPayout:
    payout: str


def _refuse_cancel(payout: Payout) -> InvalidRequest | None:
    def refuse(message: str) -> InvalidRequest:
        return InvalidRequest(message, param="payout", code="payout_not_cancelable")

    if payout.automatic:
        return refuse("Automatic payouts cannot be canceled.")
    if payout.method == "instant":
        return refuse("Instant payouts cannot be canceled.")
    if payout.status is not PayoutStatus.PENDING:
        return refuse(f"Only pending payouts can be canceled; this one is {payout.status.value}.")
    return None


def cancel(tx: Tx, actor: Actor, command: CancelPayout) -> Payout:
    """Cancel a manual standard payout while it is pending: its funds come back."""
    _owned(tx, actor, command.payout)
    locked = _locked(tx, command.payout)
    refusal = _refuse_cancel(locked.payout)
    if refusal is not None:
        raise refusal
    parties = _parties(tx, locked.account_id)
    plan = plan_transition(
        locked.payout, locked.internal, Transition(PayoutStatus.CANCELED, actor.now), parties
    )
    payout = apply(tx, actor, plan, parties)
    store.save_tracked(tx, payout, None)
    emit(tx, actor, payout, plan.events, parties)
    return payout


# ---- reverse --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReversePayout:
    payout: str
    metadata: MetadataChange = None


def require_reversal_rights(actor: Actor, account: Account) -> None:
    """Policy: a payout is reversed by the connected account itself, and only when its platform is
    liable for its negative balances."""
    if actor.is_platform or not account.liable:
        raise PermissionDenied(
            "Payout reversals are for connected accounts whose negative balances the platform is liable for "
            "(controller.losses.payments = application)."
        )


def _refuse_reversal(payout: Payout) -> str | None:
    if payout.amount <= 0:
        return "Debits and reversals cannot be reversed."
    if payout.method != "standard":
        return "Instant payouts cannot be reversed."
    if payout.reversed_by:
        return f"This payout was already reversed by {payout.reversed_by}; a payout is reversed once."
    if payout.status is PayoutStatus.PENDING:
        return "This payout is still pending: cancel it instead."
    if payout.status not in (PayoutStatus.IN_TRANSIT, PayoutStatus.PAID):
        return f"A {payout.status.value} payout cannot be reversed."
    return None


def reverse(tx: Tx, actor: Actor, command: ReversePayout, *, rail: Rail) -> Payout:
    """Pull a paid (or in transit) standard payout back from the account's bank; returns the reversal."""
    _owned(tx, actor, command.payout)
    locked = _locked(tx, command.payout)
    payout, account_id = locked.payout, locked.account_id
    require_reversal_rights(actor, accounts.get(tx, account_id))
    message = _refuse_reversal(payout)
    dest = store_external_accounts.get(tx, payout.destination) if message is None else None
    if message is None and not (dest and dest.object == "bank_account" and dest.country in ("US", "CA")):
        message = "Only payouts to US or Canadian bank accounts can be reversed."
    if message is None and payout.arrival_date < actor.now - REVERSAL_WINDOW_SECONDS:
        message = "Payouts that arrived more than 90 days ago cannot be reversed."
    if message is not None or dest is None:
        raise InvalidRequest(message or "", param="payout", code="payout_not_reversible")
    source = BucketKey(
        account_id, actor.livemode, payout.currency, source_type=SourceType(payout.source_type)
    )
    mv = movement(tx, actor, payout_keys(source, actor.platform_id))
    order = PayoutOrder(
        account_id=account_id,
        platform_id=actor.platform_id,
        amount=-payout.amount,
        source=source,
        destination=dest,
        description=f"Reversal of {payout.id}",
        metadata=merge_metadata({}, command.metadata),
        original_payout=payout.id,
    )
    reversal = open_payout(tx, actor, rail, mv, order)
    plan = plan_reversed(payout, reversal.id)
    store.save(tx, plan.after)
    emit(tx, actor, plan.after, plan.events, _parties(tx, account_id))
    return reversal


# ---- advancing on the rail ------------------------------------------------------------------------


def advance_due(tx: Tx, moment: Moment, rail: Rail, *, limit: int = 200) -> int:
    """Advance every payout whose next step is due, as its rail reports; return how many moved."""
    due = store.due(tx, moment.livemode, moment.now, limit)
    for payout_id in due:
        advance(tx, moment, rail, payout_id)
    return len(due)


def _move(tx: Tx, moment: Moment, locked: LockedPayout, step: Transition) -> LockedPayout:
    parties = _parties(tx, locked.account_id)
    plan = plan_transition(locked.payout, locked.internal, step, parties)
    payout = apply(tx, moment, plan, parties)
    emit(tx, moment, payout, plan.events, parties)
    return replace(locked, payout=payout)


def advance(tx: Tx, moment: Moment, rail: Rail, payout_id: str) -> None:
    """Ask the rail where the payout stands at each due time up to now, and move it there."""
    locked = _locked(tx, payout_id)
    due = locked.tracking.next_action_at
    while due is not None and due <= moment.now:
        step = rail.advance(rail_payout(locked.payout, locked.internal), due)
        if step.status is not locked.payout.status:
            if step.status is PayoutStatus.PAID and locked.payout.status is PayoutStatus.PENDING:
                # A rail may report arrival without the submission: pass through in_transit.
                locked = _move(tx, moment, locked, Transition(PayoutStatus.IN_TRANSIT, moment.now))
            locked = _move(tx, moment, locked, Transition(step.status, moment.now, step.failure_code))
            if step.status is PayoutStatus.FAILED and locked.payout.reversed_by:
                _cancel_reversal(tx, moment, locked.payout.reversed_by)
        if step.next_at is not None and step.next_at <= due:
            raise RuntimeError(f"rail did not move payout {payout_id} forward from {due}")
        due = step.next_at
    store.save_tracked(tx, locked.payout, due)


def _cancel_reversal(tx: Tx, moment: Moment, reversal_id: str) -> None:
    """A payout that fails while its reversal is pending takes the reversal down with it."""
    locked = _locked(tx, reversal_id)
    if locked.payout.status is not PayoutStatus.PENDING:
        return
    parties = _parties(tx, locked.account_id)
    plan = plan_transition(
        locked.payout, locked.internal, Transition(PayoutStatus.CANCELED, moment.now), parties
    )
    payout = apply(tx, moment, plan, parties)
    store.save_tracked(tx, payout, None)
    emit(tx, moment, payout, plan.events, parties)
