"""Disputes: a charge made with `tok_createDispute` is disputed at once (the amount and the dispute
fee are withdrawn from its owner), and the dispute can be read and listed."""

from __future__ import annotations

from dataclasses import replace

from payoutkit.errors import ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.booking import book_dispute
from payoutkit.ledger.postings import BucketKey
from payoutkit.lists import Page, Window
from payoutkit.records.charges import Charge, Dispute, DisputeShown
from payoutkit.services.actor import Actor
from payoutkit.services.movement import Movement
from payoutkit.services.policy import may_reach
from payoutkit.store import Tx, transactions
from payoutkit.store import charges as store

EVIDENCE_DAYS = 7


def open_dispute(
    tx: Tx, actor: Actor, charge: Charge, mv: Movement, *, bucket: BucketKey, fee: int
) -> tuple[Charge, Dispute]:
    """Dispute `charge` (its owner's `bucket` pays the amount and the dispute `fee`): the charge, now
    disputed, and the dispute, stored."""
    dispute_id = new_id("dp")
    written = mv.post(book_dispute(bucket, charge.amount, fee, dispute_id=dispute_id, created=actor.now))
    dispute = Dispute(
        id=dispute_id,
        amount=charge.amount,
        balance_transactions=(written[0].id,),
        charge=charge.id,
        created=actor.now,
        currency=charge.currency,
        evidence={},
        evidence_details={
            "due_by": actor.now + EVIDENCE_DAYS * 86400,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        is_charge_refundable=False,
        livemode=actor.livemode,
        metadata={},
        payment_intent=None,
        reason="fraudulent",
        status="needs_response",
    )
    store.add_dispute(tx, dispute, account_id=actor.account_id)
    return replace(charge, disputed=True), dispute


def shown(tx: Tx, dispute: Dispute) -> DisputeShown:
    """The dispute as Stripe shows it: its balance transactions in full, read now (they settle over
    time, so the stored dispute keeps their ids)."""
    found = transactions.by_ids(tx, dispute.balance_transactions)
    return DisputeShown(dispute, tuple(found[i] for i in dispute.balance_transactions if i in found))


def retrieve(tx: Tx, actor: Actor, dispute_id: str) -> Dispute:
    check_id(dispute_id, ("dp", "du"), "dispute", "dispute")
    found = store.dispute(tx, dispute_id)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("dispute", dispute_id, "dispute")
    return found[0]


def list_disputes(tx: Tx, actor: Actor, window: Window) -> Page[Dispute]:
    return store.disputes(tx, actor.account_id, actor.livemode, window)


def load(tx: Tx, dispute_id: str) -> Dispute | None:
    """A dispute by id, whoever's it is (expansion checks who may see it)."""
    found = store.dispute(tx, dispute_id)
    return None if found is None else found[0]
