"""Settlement as a unit of work: due pending funds become available, and reserves follow.

Settling only raises connected accounts' available balances, so the only reserve change it can cause
is a release: after `settle_due`, every liable account that has something reserved is re-synced.
Every path that settles (the worker, the test clock, a balance read) goes through `settle`.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from payoutkit.ledger.postings import BucketKey
from payoutkit.services.money import JobMoment, Movement
from payoutkit.store.ledger import settle_due
from payoutkit.store.schema import connect_reserves


def settle(conn: Connection, now: int, *, livemode: bool, account_id: str | None = None) -> int:
    moved = settle_due(conn, now, account_id=account_id, livemode=livemode)
    if moved == 0:
        return 0
    reserved = select(connect_reserves.c.account_id, connect_reserves.c.currency).where(
        connect_reserves.c.livemode == livemode, connect_reserves.c.amount > 0
    )
    if account_id is not None:
        reserved = reserved.where(connect_reserves.c.account_id == account_id)
    rows = conn.execute(reserved.order_by(connect_reserves.c.account_id, connect_reserves.c.currency)).all()
    if rows:
        mv = Movement(conn, JobMoment(livemode, now))
        mv.touch(*(BucketKey(r.account_id, livemode, r.currency) for r in rows)).lock()
        mv.sync_reserves()
    return moved
