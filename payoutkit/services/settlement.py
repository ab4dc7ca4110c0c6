"""Settlement as a unit of work: due pending funds become available, and reserves follow.

Settling usually raises a connected account's available balance (a release of its reserve), but it can
lower it too: a direct charge whose application fee exceeds its net leaves a negative pending net. So
after `settle_due`, every liable account that has something reserved or had payments funds due is
re-synced.
Every path that settles on its own (the worker's job `settle_at`, the test clock, a payout run) goes
through `settle`; on PostgreSQL the worker splits its settlement into one unit per shard of the
accounts (`settle_shard`, store/shards.py), run concurrently (payoutkit/worker.py `settle_all`). A
shard's accounts are all its own: their buckets, reserves and events. A liable account's reserve
re-sync moves its platform's two buckets, which another shard may hold (the platform's own due funds)
or move too; those moves are relative updates at the end of each unit, in row-id order, so two shards
at worst meet in a deadlock PostgreSQL breaks, and `Database.transaction` runs the loser again. A
movement settles the buckets it locks and re-syncs their reserves itself. Every path announces what
became available (`balance.available`, services/availability.py). Reads do not settle: they show
due funds as settlement will leave them (services/balance.py).
"""

from __future__ import annotations

from payoutkit.clock import mode_time
from payoutkit.ledger.postings import BucketKey
from payoutkit.services.actor import Moment
from payoutkit.services.availability import announce_available
from payoutkit.services.movement import Movement, is_liable, prefetch_liability
from payoutkit.store import Tx, reserves
from payoutkit.store.settlement import Due, due_payments, settle_due
from payoutkit.store.shards import Shard, whole


def settle(
    conn: Tx, now: int, *, livemode: bool, account_id: str | None = None, shard: Shard | None = None
) -> int:
    """Settle what is due by `now` in a mode (of one account, or of a shard's accounts, if given);
    returns how many transactions became available. Liable accounts whose available funds moved have
    their reserves re-synced."""
    now = mode_time(now, livemode)  # live funds settle by the real clock, whoever asks
    where = Due(account_id=account_id, livemode=livemode, shard=whole(shard))
    due_rows = due_payments(conn, now, livemode, where)
    moved_accounts: set[tuple[str, bool]] = set()
    moved = settle_due(conn, now, where, moved_accounts=moved_accounts)
    if moved == 0:
        return 0
    rows = [*reserves.held(conn, livemode, account_id, where.shard), *due_rows]
    prefetch_liability(conn, (account for account, _ in rows))
    liable = sorted({(account, currency) for account, currency in rows if is_liable(conn, account)[0]})
    if liable:
        mv = Movement(conn, Moment.job(livemode, now))
        mv.touch(*(BucketKey(account, livemode, currency) for account, currency in liable)).lock()
        mv.sync_reserves()
    announce_available(conn, now, moved_accounts)
    return moved


def settle_at(tx: Tx, moment: Moment, account_id: str | None = None) -> int:
    """The job: settle what is due at the moment in its mode (of one account, if given)."""
    return settle(tx, moment.now, livemode=moment.livemode, account_id=account_id)


def settle_shard(tx: Tx, moment: Moment, shard: Shard) -> int:
    """The job, one shard of it: settle what is due at the moment in its mode, of the shard's accounts."""
    return settle(tx, moment.now, livemode=moment.livemode, shard=shard)
