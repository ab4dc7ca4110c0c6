"""The write path shared by every money-moving service.

`Movement` collects the buckets a unit of work will touch, locks them (settling due funds first, so a
debit sees everything that is available by now), lets the service check funds and post entries, and
keeps the platform's `connect_reserved` equal to the negative available balances of the connected
accounts it is liable for.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Collection, Iterable, Mapping, Sequence

from payoutkit.clock import mode_time
from payoutkit.ledger.booking import book_reserve, reserve_delta
from payoutkit.ledger.postings import PROCESSOR, WORLD, BalanceType, Bucket, BucketKey, Entry, SourceType
from payoutkit.services.actor import Moment
from payoutkit.services.availability import announce_available
from payoutkit.store import Tx, holders, reserves
from payoutkit.store.balances import (
    Known,
    Locked,
    Written,
    append_entries,
    bucket_seqs,
    lock_buckets,
    lock_known,
    stage_entries,
    write_entries,
)
from payoutkit.store.bucket_lock import lock_movement
from payoutkit.store.engines import engine_cache
from payoutkit.store.settlement import Due, settle_due


def key(
    ctx: Moment,
    account: str,
    currency: str,
    source_type: SourceType | str = SourceType.CARD,
    balance_type: BalanceType = BalanceType.PAYMENTS,
) -> BucketKey:
    return BucketKey(account, ctx.livemode, currency, balance_type, SourceType(source_type))


# account id → (liable, platform), per database. An account's kind, controller and platform never
# change after it is created, so every process may keep what it has read.


def is_liable(conn: Tx, account_id: str) -> tuple[bool, str | None]:
    """Whether the platform is liable for this connected account's negative balances, and the platform."""
    cache: dict[str, tuple[bool, str | None]] = engine_cache(conn, "liability")
    known = cache.get(account_id)
    if known is None:
        found = holders.holder(conn, account_id)
        if found is None:  # never cache a miss: the account may be created later
            return False, None
        known = cache[account_id] = found.liability
    return known


def prefetch_liability(conn: Tx, account_ids: Iterable[str]) -> None:
    """Read the liability of many accounts in a few statements (settlement asks for thousands)."""
    cache: dict[str, tuple[bool, str | None]] = engine_cache(conn, "liability")
    wanted = {a for a in account_ids if a not in cache and a.startswith("acct_")}
    for account_id, found in holders.holders(conn, wanted).items():
        cache[account_id] = found.liability


def remember_liability(conn: Tx, known: Mapping[str, tuple[bool, str | None]]) -> None:
    """Keep the liability of accounts read along with something else (`store.payouts.run_accounts`)."""
    cache: dict[str, tuple[bool, str | None]] = engine_cache(conn, "liability")
    cache.update(known)


@functools.lru_cache(maxsize=1024)
def _shard_of(k: BucketKey, shard: int) -> BucketKey:
    """A system account's bucket on one of its shards (a few keys, asked for by every unit)."""
    return k.with_account(f"{k.account}_{shard:02d}")


_EVERY_SOURCE_TYPE = tuple(SourceType)  # iterating the enum itself is a Python generator


@functools.lru_cache(maxsize=4096)
def _payments_keys(account: str, livemode: bool, currency: str) -> tuple[BucketKey, ...]:
    """An account's payments buckets of a currency, of every source type."""
    payments = BalanceType.PAYMENTS
    return tuple(BucketKey(account, livemode, currency, payments, st) for st in _EVERY_SOURCE_TYPE)


@functools.lru_cache(maxsize=4096)
def currency_keys(k: BucketKey) -> tuple[BucketKey, ...]:
    """Every source type's bucket of `k`'s account, balance type and currency, `k` itself among them
    (a payout's source: checked, declared, summed for its reserve; made once, the same objects)."""
    return tuple(k if st is k.source_type else k.with_source_type(st) for st in _EVERY_SOURCE_TYPE)


@functools.lru_cache(maxsize=1024)
def _reserve_keys(platform: str, livemode: bool, currency: str) -> tuple[BucketKey, BucketKey]:
    """The platform's two buckets a reserve change moves (`book_reserve`)."""
    return BucketKey(platform, livemode, currency), BucketKey(
        platform, livemode, currency, BalanceType.CONNECT_RESERVED
    )


# The system accounts' buckets are credited by nearly every unit of work; spreading each over a few
# rows (`sys_world_00` …) keeps concurrent units from queueing on one row. Balances sum over them.
SYSTEM_SHARDS = 16


class Movement:
    """The buckets one unit of work moves money in.

    `touch(*keys)` declares buckets; `touch(*keys, exact=True)` declares ones whose value the unit
    checks (funds), which `lock()` locks and reads. A liable connected account's buckets are always
    exact: the reserve follows their value. Its platform's two buckets that a reserve change moves
    (payments → `connect_reserved`, `book_reserve`) are declared but not locked: nothing reads them to
    decide, so they are moved like any credited bucket, by a relative update just before the commit,
    which locks them only from that update to the commit (and not at all when the reserve does not
    change). A unit that checks the platform's funds (its own payout, a transfer) declares them exact
    itself and locks them; a reserve change then waits for its commit, or it waits for the change's:
    either way the outcome is that of one order of the two units. All a platform's liable accounts'
    payouts used to queue on these two rows.
    """

    def __init__(self, conn: Tx, ctx: Moment) -> None:
        self.conn = conn
        self.ctx = ctx
        self.keys: set[BucketKey] = set()
        self.exact: set[BucketKey] = set()
        self.liable: dict[tuple[str, str], str] = {}  # (account, currency) → platform
        self._own: dict[tuple[str, str], tuple[BucketKey, ...]] = {}  # and its payments buckets
        self.seqs: dict[BucketKey, int] = {}
        self.locked = Locked()
        self.written: list[Written] = []
        self.shard = random.randrange(SYSTEM_SHARDS)
        # A staging movement (`stage()`) posts in memory only and writes its transactions at `flush()`.
        self.staged: list[Written] | None = None
        self.reserved: dict[tuple[str, bool, str], int | None] | None = None
        self._by_account: dict[str, list[tuple[tuple[str, str], str]]] | None = None

    def route(self, k: BucketKey) -> BucketKey:
        if k.account in (WORLD, PROCESSOR):
            return _shard_of(k, self.shard)
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
                    self._by_account = None
                    # The reserve follows the account's value: its buckets are exact. The platform's two
                    # are only moved (`book_reserve`, never checked): by a relative update at the end.
                    own = (
                        currency_keys(k)
                        if k.balance_type is BalanceType.PAYMENTS
                        else _payments_keys(k.account, k.livemode, k.currency)
                    )
                    self._own[(k.account, k.currency)] = own
                    self.keys.update(own)
                    self.exact.update(own)
                    self.keys.update(_reserve_keys(platform, k.livemode, k.currency))
        return self

    def lock(self, known: Known | None = None) -> Movement:
        """Find and lock the declared buckets (given what the unit has read of some accounts' buckets
        and still holds, on SQLite: `Known`, those are not read again)."""
        done = lock_known(self.conn, self.keys, self.exact, known) if known is not None else None
        if done is None:
            # With the one liable account's reserve, when there is one (store/bucket_lock.py).
            reserve = self._one_reserve()
            locking = lock_movement(self.conn, self.keys, self.exact, reserve)
            if locking is not None:
                done = locking.seqs, locking.locked
                if reserve is not None and locking.reserved is not None:
                    self.reserved = {reserve: locking.reserved}
        if done is None:
            self.seqs = bucket_seqs(self.conn, self.keys)
            self.locked = lock_buckets(self.conn, {k: self.seqs[k] for k in self.exact})
        else:
            self.seqs, self.locked = done
        exact = {k: self.seqs[k] for k in self.exact}
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
            seqs = tuple(sorted(s for k, s in due.items() if k.livemode == livemode))
            settle_due(self.conn, at, Due(seqs=seqs), moved_accounts=moved)
            announce_available(self.conn, at, moved)
        if due:
            self.locked = lock_buckets(self.conn, exact)
        return self

    def _one_reserve(self) -> tuple[str, bool, str] | None:
        """The (account, livemode, currency) of the reserve to read with the lock: of the one liable
        account and currency this unit moves, if it moves one."""
        if self.reserved is not None or len(self.liable) != 1:
            return None
        [(account, currency)] = self.liable
        return account, self.ctx.livemode, currency

    def bucket(self, k: BucketKey) -> Bucket:
        return self.locked.get(self.route(k))

    def post(self, entries: Sequence[Entry]) -> list[Written]:
        routed = []
        for e in entries:
            to = self.route(e.key)
            routed.append(e if to is e.key else e.with_key(to))
        if self.staged is not None:
            written = stage_entries(self.locked, self.seqs, routed)
            self.staged.extend(written)
        else:
            written = write_entries(self.conn, self.locked, self.seqs, routed)
        self.written.extend(written)
        return written

    def stage(self) -> Movement:
        """From now on, post in memory only (the locked values move at once) until `flush()`; and read
        the reserves of its liable accounts once, here, for `sync_reserves` (a batch of accounts)."""
        self.staged = []
        self.read_reserves()
        return self

    def read_reserves(self) -> None:
        """Read now, before the unit writes, the reserves `sync_reserves` will read later: on
        PostgreSQL the unit's writes then all go at its end, in one round trip (store/pipeline.py),
        instead of the ones before this read being sent for it."""
        if self.reserved is None and self.liable:
            pairs = [(a, self.ctx.livemode, c) for a, c in self.liable]
            self.reserved = reserves.reserved_many(self.conn, pairs)

    def flush(self) -> None:
        """Write what was staged (one statement for every balance transaction)."""
        if self.staged:
            append_entries(self.conn, self.seqs, self.staged)
            self.staged = []

    def txn_for(self, account: str, source: str | None = None) -> str:
        """The id of the first balance transaction written for `account` (and `source`)."""
        for w in self.written:
            if w.entry.key.account == account and (source is None or w.entry.source == source):
                return w.id
        raise LookupError(f"no balance transaction written for {account}")

    def _liable_of(self, accounts: Collection[str]) -> list[tuple[tuple[str, str], str]]:
        by_account = self._by_account
        if by_account is None:
            by_account = self._by_account = {}
            for pair, platform in self.liable.items():
                by_account.setdefault(pair[0], []).append((pair, platform))
        return [item for a in accounts for item in by_account.get(a, [])]

    def sync_reserves(self, accounts: Collection[str] | None = None) -> None:
        """Make each liable account's reserve follow its available balance (book the difference); of
        only `accounts`, if given."""
        pairs = self.liable.items() if accounts is None else self._liable_of(accounts)
        for (account, currency), platform in sorted(pairs):
            get = self.locked.get  # a connected account's payments buckets are never routed
            available = sum(get(k).available for k in self._own[(account, currency)])
            row = (account, self.ctx.livemode, currency)
            known = self.reserved if self.reserved is not None and row in self.reserved else None
            stored = known[row] if known is not None else reserves.reserved(self.conn, *row)
            reserved = stored or 0
            delta = reserve_delta(reserved, available)
            if delta == 0:
                # Its row, at 0, so that the next unit reads it with its lock (store/bucket_lock.py): by a
                # unit of one account, not a batch (which reads its accounts' reserves in one statement,
                # `stage`, and would write a row per account).
                if stored is None and self.staged is None:
                    reserves.set_reserved(self.conn, platform, row, 0, exists=False)
                    if self.reserved is not None:
                        self.reserved[row] = 0
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
            reserves.set_reserved(self.conn, platform, row, reserved + delta, exists=stored is not None)
            if self.reserved is not None:
                self.reserved[row] = reserved + delta


def movement(
    conn: Tx,
    ctx: Moment,
    keys: Iterable[BucketKey],
    *,
    exact: Iterable[BucketKey] = (),
    available: bool = True,
) -> Movement:
    """Declare and lock a unit's buckets: `exact` are the ones it checks funds in; `available=False`
    when it moves only pending funds (see `Movement.touch`)."""
    return Movement(conn, ctx).touch(*keys, available=available).touch(*exact, exact=True).lock()
