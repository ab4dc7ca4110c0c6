"""The write path shared by every money-moving service.

`Movement` collects the buckets a unit of work will touch, locks them (settling due funds first, so a
debit sees everything that is available by now), lets the service check funds and post entries, and
keeps the platform's `connect_reserved` equal to the negative available balances of the connected
accounts it is liable for.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace

from sqlalchemy import Connection, insert, select, update

from payoutkit.api.context import Ctx
from payoutkit.clock import mode_time
from payoutkit.ledger.booking import book_reserve, reserve_delta
from payoutkit.ledger.postings import PROCESSOR, WORLD, BalanceType, Bucket, BucketKey, Entry, SourceType
from payoutkit.services.actor import Moment
from payoutkit.services.availability import announce_available
from payoutkit.store.balances import (
    Locked,
    Written,
    bucket_seqs,
    lock_buckets,
    settle_due,
    write_entries,
)
from payoutkit.store.db import engine_cache
from payoutkit.store.schema import accounts, connect_reserves


def key(
    ctx: Ctx,
    account: str,
    currency: str,
    source_type: SourceType | str = SourceType.CARD,
    balance_type: BalanceType = BalanceType.PAYMENTS,
) -> BucketKey:
    return BucketKey(account, ctx.livemode, currency, balance_type, SourceType(source_type))


# account id → (liable, platform), per database. An account's kind, controller and platform never
# change after it is created, so every process may keep what it has read.


def is_liable(conn: Connection, account_id: str) -> tuple[bool, str | None]:
    """Whether the platform is liable for this connected account's negative balances, and the platform."""
    cache: dict[str, tuple[bool, str | None]] = engine_cache(conn, "liability")
    known = cache.get(account_id)
    if known is None:
        known, exists = _read_liability(conn, account_id)
        if exists:  # an account's answer is final once it exists (never cache a miss)
            cache[account_id] = known
    return known


def prefetch_liability(conn: Connection, account_ids: Iterable[str]) -> None:
    """Read the liability of many accounts in a few statements (settlement asks for thousands)."""
    cache: dict[str, tuple[bool, str | None]] = engine_cache(conn, "liability")
    wanted = sorted({a for a in account_ids if a not in cache and a.startswith("acct_")})
    for start in range(0, len(wanted), 1000):
        rows = conn.execute(
            select(accounts.c.id, accounts.c.kind, accounts.c.platform_id, accounts.c.data).where(
                accounts.c.id.in_(wanted[start : start + 1000])
            )
        ).all()
        for row in rows:
            liable = row.kind == "connected" and (
                row.data.get("controller", {}).get("losses", {}).get("payments") == "application"
            )
            cache[row.id] = (liable, row.platform_id) if row.kind == "connected" else (False, None)


def _read_liability(conn: Connection, account_id: str) -> tuple[tuple[bool, str | None], bool]:
    row = conn.execute(
        select(accounts.c.kind, accounts.c.platform_id, accounts.c.data).where(accounts.c.id == account_id)
    ).first()
    if row is None:
        return (False, None), False
    if row.kind != "connected":
        return (False, None), True
    liable = row.data.get("controller", {}).get("losses", {}).get("payments") == "application"
    return (liable, row.platform_id), True


# The system accounts' buckets are credited by nearly every unit of work; spreading each over a few
# rows (`sys_world_00` …) keeps concurrent units from queueing on one row. Balances sum over them.
SYSTEM_SHARDS = 16


class Movement:
    """The buckets one unit of work moves money in.

    `touch(*keys)` declares buckets; `touch(*keys, exact=True)` declares ones whose value the unit
    checks (funds), which `lock()` locks and reads. A liable connected account's buckets, and its
    platform's reserve buckets, are always exact: the reserve follows their value.
    """

    def __init__(self, conn: Connection, ctx: Moment) -> None:
        self.conn = conn
        self.ctx = ctx
        self.keys: set[BucketKey] = set()
        self.exact: set[BucketKey] = set()
        self.liable: dict[tuple[str, str], str] = {}  # (account, currency) → platform
        self.seqs: dict[BucketKey, int] = {}
        self.locked = Locked()
        self.written: list[Written] = []
        self.shard = random.randrange(SYSTEM_SHARDS)

    def route(self, k: BucketKey) -> BucketKey:
        if k.account in (WORLD, PROCESSOR):
            return k.with_account(f"{k.account}_{self.shard:02d}")
        return k

    def touch(self, *keys: BucketKey, exact: bool = False, available: bool = True) -> Movement:
        """Declare buckets. `available=False` promises that this unit moves only *pending* funds of
        these buckets' accounts: a reserve follows available funds, so it cannot change, and a liable
        account's buckets (and its platform's) need not be locked — pending-only charges for
        platform-liable accounts then do not queue on the platform's bucket."""
        for k in map(self.route, keys):
            self.keys.add(k)
            if exact:
                self.exact.add(k)
            if available and k.account.startswith("acct_") and (k.account, k.currency) not in self.liable:
                liable, platform = is_liable(self.conn, k.account)
                if liable and platform:
                    self.liable[(k.account, k.currency)] = platform
                    reserve_keys = [
                        *(
                            BucketKey(k.account, k.livemode, k.currency, BalanceType.PAYMENTS, st)
                            for st in SourceType
                        ),
                        BucketKey(platform, k.livemode, k.currency),
                        BucketKey(platform, k.livemode, k.currency, BalanceType.CONNECT_RESERVED),
                    ]
                    self.keys.update(reserve_keys)
                    self.exact.update(reserve_keys)
        return self

    def lock(self) -> Movement:
        self.seqs = bucket_seqs(self.conn, self.keys)
        exact = {k: self.seqs[k] for k in self.exact}
        self.locked = lock_buckets(self.conn, exact)
        # Settle the locked buckets with funds due, so a check sees all that is available by now. Only
        # these: a liable account's are among them, and this movement re-syncs its reserve.
        # Live buckets settle by the real clock only (clock.mode_time), whatever the unit's time.
        now = self.ctx.now
        due = {
            k: exact[k]
            for k, at in self.locked.next_settle.items()
            if at is not None and at <= mode_time(now, k.livemode)
        }
        for livemode in sorted({k.livemode for k in due}):
            at = mode_time(now, livemode)
            moved: set[tuple[str, bool]] = set()
            settle_due(self.conn, at, seqs=sorted(s for k, s in due.items() if k.livemode == livemode),
                       moved_accounts=moved)  # fmt: skip
            announce_available(self.conn, at, moved)
        if due:
            self.locked = lock_buckets(self.conn, exact)
        return self

    def bucket(self, k: BucketKey) -> Bucket:
        return self.locked.get(self.route(k))

    def post(self, entries: Sequence[Entry]) -> list[Written]:
        routed = [e if self.route(e.key) == e.key else replace(e, key=self.route(e.key)) for e in entries]
        written = write_entries(self.conn, self.locked, self.seqs, routed)
        self.written.extend(written)
        return written

    def txn_for(self, account: str, source: str | None = None) -> str:
        """The id of the first balance transaction written for `account` (and `source`)."""
        for w in self.written:
            if w.entry.key.account == account and (source is None or w.entry.source == source):
                return w.id
        raise LookupError(f"no balance transaction written for {account}")

    def sync_reserves(self) -> None:
        for (account, currency), platform in sorted(self.liable.items()):
            available = sum(
                self.bucket(
                    BucketKey(account, self.ctx.livemode, currency, BalanceType.PAYMENTS, st)
                ).available
                for st in SourceType
            )
            row = self.conn.execute(
                select(connect_reserves.c.amount).where(
                    connect_reserves.c.account_id == account,
                    connect_reserves.c.livemode == self.ctx.livemode,
                    connect_reserves.c.currency == currency,
                )
            ).first()
            reserved = row.amount if row else 0
            delta = reserve_delta(reserved, available)
            if delta == 0:
                continue
            what = "Reserve for" if delta > 0 else "Release of reserve for"
            self.post(
                book_reserve(
                    BucketKey(platform, self.ctx.livemode, currency),
                    delta,
                    created=self.ctx.now,
                    description=f"{what} negative balance of {account}",
                )
            )
            if row is None:
                self.conn.execute(
                    insert(connect_reserves).values(
                        platform_id=platform,
                        account_id=account,
                        livemode=self.ctx.livemode,
                        currency=currency,
                        amount=reserved + delta,
                    )
                )
            else:
                self.conn.execute(
                    update(connect_reserves)
                    .where(
                        connect_reserves.c.account_id == account,
                        connect_reserves.c.livemode == self.ctx.livemode,
                        connect_reserves.c.currency == currency,
                    )
                    .values(amount=reserved + delta)
                )


def movement(
    conn: Connection,
    ctx: Moment,
    keys: Iterable[BucketKey],
    *,
    exact: Iterable[BucketKey] = (),
    available: bool = True,
) -> Movement:
    """Declare and lock a unit's buckets: `exact` are the ones it checks funds in; `available=False`
    when it moves only pending funds (see `Movement.touch`)."""
    return Movement(conn, ctx).touch(*keys, available=available).touch(*exact, exact=True).lock()
