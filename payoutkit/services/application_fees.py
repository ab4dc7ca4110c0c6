"""Application fees given back, in proportion, when the charge they came from is refunded.

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

from typing import Any

from sqlalchemy import Connection, insert

from payoutkit.api.context import Ctx
from payoutkit.ids import new_id
from payoutkit.ledger.allocation import next_share
from payoutkit.ledger.booking import book_application_fee_refund
from payoutkit.ledger.postings import SourceType
from payoutkit.services.movement import Movement, key
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources

REFUND_BASIS = "refund_basis"


def refund_in_proportion(
    conn: Connection,
    ctx: Ctx,
    mv: Movement,
    fee_id: str,
    *,
    progress: int,
    whole: int,
    source_type: SourceType | str,
) -> int:
    """Count `progress` (of `whole`) towards the fee's refund and give back what it now entitles to.

    `mv` must hold the platform's and the fee's account's buckets of `source_type`. Returns the amount
    given back (0 when the fee is gone or nothing is due yet).
    """
    found = objects.get(conn, fee_id, for_update=True)
    if found is None:
        return 0
    fee = found[0]
    state = objects.internal(conn, fee_id)
    basis = min(whole, int(state.get(REFUND_BASIS, 0)) + progress)
    back = next_share(fee["amount"], whole, basis, fee["amount_refunded"])
    objects.save_internal(conn, fee_id, {**state, REFUND_BASIS: basis})
    if back <= 0:
        return 0
    fee_refund_id = new_id("fr")
    mv.post(
        book_application_fee_refund(
            key(ctx, ctx.platform_id, fee["currency"], source_type),
            fee["account"],
            back,
            fee_refund_id=fee_refund_id,
            created=ctx.now,
        )
    )
    fee["amount_refunded"] += back
    fee["refunded"] = fee["amount_refunded"] == fee["amount"]
    _record_fee_refund(conn, ctx, mv, fee, fee_refund_id, back)
    objects.save(conn, fee)
    return back


def _record_fee_refund(
    conn: Connection, ctx: Ctx, mv: Movement, fee: dict[str, Any], fee_refund_id: str, amount: int
) -> None:
    """The platform's fee refund (`fr_…`): the source of both accounts' balance transactions."""
    fee_refund = {
        "id": fee_refund_id,
        "object": "fee_refund",
        "amount": amount,
        "balance_transaction": mv.txn_for(ctx.platform_id, fee_refund_id),
        "created": ctx.now,
        "currency": fee["currency"],
        "fee": fee["id"],
        "metadata": {},
    }
    fee["refunds"]["data"] = [fee_refund, *fee["refunds"]["data"]][:10]
    conn.execute(
        insert(resources).values(
            id=fee_refund_id,
            object="fee_refund",
            account_id=ctx.platform_id,
            livemode=ctx.livemode,
            created=ctx.now,
            parent_id=fee["id"],
            data=fee_refund,
        )
    )
