"""Payouts: reading and updating them. Creating one through the API is `payout_create.py`, opening any
payout (automatic ones and reversals too) `payout_open.py`; its lifecycle (cancel,
reverse, advance on the rail) `payout_lifecycle.py`; automatic runs `payout_automatic.py` (when they
are due: `payout_runs.py`); instant payouts' rules and pricing `instant.py`; what a transition does,
the pure plan in `payoutkit/ledger/payouts.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from payoutkit.errors import ResourceMissing
from payoutkit.ids import check_id
from payoutkit.ledger.payout_record import Payout
from payoutkit.lists import Page, Window
from payoutkit.metadata import MetadataChange
from payoutkit.metadata import merge as merge_metadata
from payoutkit.records.payouts import PayoutFilter
from payoutkit.services.actor import Actor
from payoutkit.services.policy import may_reach
from payoutkit.store import Tx
from payoutkit.store import payouts as store


def _owned(tx: Tx, actor: Actor, payout_id: str, *, for_update: bool = False) -> Payout:
    check_id(payout_id, ("po",), "payout", "payout")
    found = store.get(tx, payout_id, for_update=for_update)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("payout", payout_id, "payout")
    return found[0]


def retrieve(tx: Tx, actor: Actor, payout_id: str) -> Payout:
    return _owned(tx, actor, payout_id)


@dataclass(frozen=True)
class UpdatePayout:
    payout: str
    metadata: MetadataChange


def modify(tx: Tx, actor: Actor, command: UpdatePayout) -> Payout:
    payout = _owned(tx, actor, command.payout, for_update=True)
    payout = replace(payout, metadata=merge_metadata(payout.metadata, command.metadata))
    store.save(tx, payout)
    return payout


def list_payouts(tx: Tx, actor: Actor, window: Window, filters: PayoutFilter) -> Page[Payout]:
    """The acting account's payouts, newest first."""
    return store.page_of(tx, actor.account_id, actor.livemode, filters, window)
