"""Settlement as a unit of work: due pending funds become available, and reserves follow.

Settling usually raises a connected account's available balance (a release of its reserve), but it can
lower it too: a direct charge whose application fee exceeds its net leaves a negative pending net. So
after `settle_due`, every liable account that has something reserved or had payments funds due is
re-synced.
Every path that settles on its own (the worker, the test clock, a balance or transaction read) goes
through `settle`; a movement settles the buckets it locks and re-syncs their reserves itself. Both
announce what became available (`balance.available`, services/availability.py).
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from payoutkit.clock import mode_time
from payoutkit.ledger.postings import BalanceType, BucketKey
from payoutkit.services.actor import Moment
from payoutkit.services.availability import announce_available
from payoutkit.services.movement import Movement, is_liable, prefetch_liability
from payoutkit.store.balances import settle_due
from payoutkit.store.schema import balances, connect_reserves


def settle(conn: Connection, now: int, *, livemode: bool, account_id: str | None = None) -> int:
    now = mode_time(now, livemode)  # live funds settle by the real clock, whoever asks
    due = select(balances.c.account_id, balances.c.currency).where(
        balances.c.livemode == livemode,
        balances.c.next_settle_at <= now,
        balances.c.balance_type == BalanceType.PAYMENTS.value,
    )
    if account_id is not None:
        due = due.where(balances.c.account_id == account_id)
    due_rows = conn.execute(due.distinct()).all()
    moved_accounts: set[tuple[str, bool]] = set()
    moved = settle_due(conn, now, account_id=account_id, livemode=livemode, moved_accounts=moved_accounts)
    if moved == 0:
        return 0
    reserved = select(connect_reserves.c.account_id, connect_reserves.c.currency).where(
        connect_reserves.c.livemode == livemode, connect_reserves.c.amount > 0
    )
    if account_id is not None:
        reserved = reserved.where(connect_reserves.c.account_id == account_id)
    rows = [*conn.execute(reserved).all(), *due_rows]
    prefetch_liability(conn, (r.account_id for r in rows))
    liable = sorted({(r.account_id, r.currency) for r in rows if is_liable(conn, r.account_id)[0]})
    if liable:
        mv = Movement(conn, Moment.job(livemode, now))
        mv.touch(*(BucketKey(account, livemode, currency) for account, currency in liable)).lock()
        mv.sync_reserves()
    announce_available(conn, now, moved_accounts)
    return moved
