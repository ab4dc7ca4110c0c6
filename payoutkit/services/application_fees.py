"""Application fees: the platform's fee on a charge, and its refund in proportion to the charge's.

The fee goes back from the platform to the account it was taken from. Which part: Stripe's rule is
the full fee for a full refund, otherwise in proportion to the amount refunded; `ledger.allocation`
makes the parts of a series of refunds add up to the fee exactly. The progress that entitles to a part
(the sum of the refunds that asked for it, in units of the charge's amount) is kept in the fee's
`internal` state, `refund_basis`: a refund that did not ask for the fee back does not count.

For a destination charge with an application fee the transfer is the whole charge, so a reversal of
the transfer (by a refund, by hand, or by the connected account refunding its payment) counts in the
same units.
"""

from __future__ import annotations

from dataclasses import dataclass

from payoutkit.ids import new_id
from payoutkit.ledger.allocation import next_share
from payoutkit.ledger.booking import book_application_fee_refund
from payoutkit.ledger.postings import BalanceType, BucketKey, SourceType
from payoutkit.records.charges import ApplicationFee, FeeRefund, embedded_list
from payoutkit.services.actor import Actor
from payoutkit.services.movement import Movement
from payoutkit.store import Tx
from payoutkit.store import charges as store

REFUND_BASIS = "refund_basis"


def payments_key(actor: Actor, account: str, currency: str, source_type: SourceType | str) -> BucketKey:
    """The `payments` bucket of `account` in the actor's mode."""
    return BucketKey(account, actor.livemode, currency, BalanceType.PAYMENTS, SourceType(source_type))


@dataclass(frozen=True, kw_only=True)
class NewFee:
    """An application fee a charge takes: `charge` is what Stripe names (the destination's payment for
    a destination charge), `originating` the charge itself."""

    id: str
    account: str
    amount: int
    currency: str
    charge: str
    originating: str
    balance_transaction: str | None


def record_fee(tx: Tx, actor: Actor, new: NewFee) -> ApplicationFee:
    """Store the fee (on the platform) that a charge's booking took."""
    fee = ApplicationFee(
        id=new.id,
        account=new.account,
        amount=new.amount,
        amount_refunded=0,
        application=actor.platform_id,
        balance_transaction=new.balance_transaction,
        charge=new.charge,
        created=actor.now,
        currency=new.currency,
        fee_source=None,
        livemode=actor.livemode,
        originating_transaction=new.originating,
        refunded=False,
        refunds=embedded_list(f"/v1/application_fees/{new.id}/refunds"),
    )
    store.add_application_fee(tx, fee, account_id=actor.platform_id)
    return fee


@dataclass(frozen=True, kw_only=True)
class FeeProgress:
    """Progress towards an application fee's refund: `progress` more of `whole` (the charge's amount,
    or the transfer's) asked for the fee back; the fee's buckets are of `source_type`."""

    fee_id: str
    progress: int
    whole: int
    source_type: SourceType | str


def refund_fee(tx: Tx, actor: Actor, mv: Movement, step: FeeProgress) -> int:
    """Count the step towards the fee's refund and give back what it now entitles to.

    `mv` must hold the platform's and the fee's account's buckets of `source_type`. Returns the amount
    given back (0 when the fee is gone or nothing is due yet).
    """
    fee = store.application_fee(tx, step.fee_id, for_update=True)
    if fee is None:
        return 0
    state = store.internal(tx, step.fee_id)
    basis = min(step.whole, int(state.get(REFUND_BASIS, 0)) + step.progress)
    back = next_share(fee.amount, step.whole, basis, fee.amount_refunded)
    store.save_internal(tx, step.fee_id, {**state, REFUND_BASIS: basis})
    if back <= 0:
        return 0
    fee_refund_id = new_id("fr")
    mv.post(
        book_application_fee_refund(
            payments_key(actor, actor.platform_id, fee.currency, step.source_type),
            fee.account,
            back,
            fee_refund_id=fee_refund_id,
            created=actor.now,
        )
    )
    # The platform's fee refund (`fr_…`): the source of both accounts' balance transactions.
    fee_refund = FeeRefund(
        id=fee_refund_id,
        amount=back,
        balance_transaction=mv.txn_for(actor.platform_id, fee_refund_id),
        created=actor.now,
        currency=fee.currency,
        fee=fee.id,
    )
    store.add_fee_refund(tx, fee_refund, account_id=actor.platform_id, livemode=actor.livemode)
    store.save_application_fee(tx, fee.refunded_by(fee_refund))
    return back
