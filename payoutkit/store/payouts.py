"""Every SQL statement of payouts: their documents (`resources`), their `payout_tracking` rows, the
sweep links an automatic payout puts on balance transactions, the `payout_runs` table, and instant
payouts' volume and the platform's pricing. Statements are built once, at import.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Select,
    String,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)

from payoutkit.ledger.payout_record import Payout, PayoutInternal
from payoutkit.lists import Page, Window
from payoutkit.records.accounts import PayoutSettings
from payoutkit.records.payouts import InstantPricing, LockedPayout, PayoutFilter, PayoutTracking
from payoutkit.store import holders
from payoutkit.store import resources as objects
from payoutkit.store.among import among
from payoutkit.store.fast import Query, Write
from payoutkit.store.paging import page, range_filter
from payoutkit.store.schema import (
    accounts,
    balance_transactions,
    balances,
    instant_volume,
    object_is,
    payout_runs,
    payout_tracking,
    resources,
)
from payoutkit.store.units import PRICING_READ

# ---- payouts --------------------------------------------------------------------------------------

_TRACK = Write(insert(payout_tracking), deferred=True)  # every payout
_TRACKING = select(payout_tracking).where(payout_tracking.c.payout_id == bindparam("payout_id"))
_TRACKING_LOCKED = _TRACKING.with_for_update()
_DOC = select(resources.c.data, resources.c.internal, resources.c.account_id).where(
    resources.c.id == bindparam("payout_id")
)
_SAVE_DOC = (
    update(resources)
    .where(resources.c.id == bindparam("b_id"))
    .values(data=bindparam("b_data"), status=bindparam("b_status"))
)
_SAVE_TRACKING = (
    update(payout_tracking)
    .where(payout_tracking.c.payout_id == bindparam("b_id"))
    .values(status=bindparam("b_status"), next_action_at=bindparam("b_next"))
)
_PLATFORM_OF = select(accounts.c.platform_id, accounts.c.kind).where(accounts.c.id == bindparam("account_id"))


def create(tx: Connection, payout: Payout, internal: PayoutInternal, *, account_id: str) -> None:
    """Store a new payout's document, with what it keeps to itself, in one statement."""
    objects.create(
        tx,
        payout.doc(),
        account_id=account_id,
        parent_id=payout.destination,
        status=payout.status.value,
        internal=internal.doc(),
    )


def create_many(tx: Connection, made: Sequence[tuple[dict[str, Any], PayoutInternal, str]]) -> None:
    """`create` of many payouts (its document `Payout.doc()`, internal, account id) in one statement."""
    objects.create_many(
        tx,
        [
            {"obj": doc, "account_id": a, "parent_id": doc["destination"], "status": doc["status"],
             "internal": i.doc()}
            for doc, i, a in made
        ],
    )  # fmt: skip


def track(tx: Connection, tracking: PayoutTracking) -> None:
    track_many(tx, [tracking])


def track_many(tx: Connection, trackings: Sequence[PayoutTracking]) -> None:
    """Insert the payouts' tracking rows (one statement)."""
    if not trackings:
        return
    rows = [
        {
            "payout_id": t.payout_id,
            "account_id": t.account_id,
            "livemode": t.livemode,
            "status": t.status,
            "arrival_date": t.arrival_date,
            "next_action_at": t.next_action_at,
        }
        for t in trackings
    ]
    _TRACK.run(tx, rows)


def get(tx: Connection, payout_id: str, *, for_update: bool = False) -> tuple[Payout, str] | None:
    """The payout and the account that owns it (None if there is no payout of that id)."""
    found = objects.get(tx, payout_id, for_update=for_update)
    if found is None or found[0].get("object") != "payout":
        return None
    return Payout.from_doc(found[0]), found[1]


def lock(tx: Connection, payout_id: str) -> LockedPayout | None:
    """The payout's tracking row, document and internal state, locked in that order (the worker's)."""
    stmt = _TRACKING_LOCKED if tx.dialect.name == "postgresql" else _TRACKING
    track_row = tx.execute(stmt, {"payout_id": payout_id}).first()
    row = tx.execute(_DOC, {"payout_id": payout_id}).first()
    if track_row is None or row is None:
        return None
    payout = Payout.from_doc(row.data)
    tracking = PayoutTracking(
        payout_id=track_row.payout_id,
        account_id=track_row.account_id,
        livemode=bool(track_row.livemode),
        status=track_row.status,
        arrival_date=track_row.arrival_date,
        next_action_at=track_row.next_action_at,
    )
    internal = PayoutInternal.from_doc(row.internal or {}, payout)
    return LockedPayout(tracking, payout, internal, row.account_id)


def save(tx: Connection, payout: Payout) -> None:
    """Save the payout's document (and its status column)."""
    tx.execute(_SAVE_DOC, {"b_id": payout.id, "b_data": payout.doc(), "b_status": payout.status.value})


def save_tracked(tx: Connection, payout: Payout, next_at: int | None) -> None:
    """Save the payout and its tracking row: its status, and when its next step is due."""
    save(tx, payout)
    tx.execute(_SAVE_TRACKING, {"b_id": payout.id, "b_status": payout.status.value, "b_next": next_at})


def platform_of(tx: Connection, account_id: str) -> str:
    row = tx.execute(_PLATFORM_OF, {"account_id": account_id}).one()
    return account_id if row.kind == "platform" else str(row.platform_id)


def page_of(
    tx: Connection,
    account_id: str,
    livemode: bool,
    filters: PayoutFilter,
    window: Window,
) -> Page[Payout]:
    """A page of the account's payouts, newest first, narrowed by `filters`."""
    where = [
        resources.c.account_id == account_id,
        resources.c.livemode == livemode,
        object_is("payout"),
    ]
    if filters.status:
        where.append(resources.c.status == filters.status)
    if filters.destination:
        where.append(resources.c.parent_id == filters.destination)
    arrival = filters.arrival_date
    if arrival is not None:
        arriving = select(payout_tracking.c.payout_id).where(
            payout_tracking.c.account_id == account_id,
            payout_tracking.c.livemode == livemode,
            *range_filter(payout_tracking.c.arrival_date, arrival),
        )
        where.append(resources.c.id.in_(arriving))
    return page(tx, resources, where, window).map(lambda row: Payout.from_doc(row.data))


def _claim(tx: Connection, stmt: Select[Any], params: dict[str, Any]) -> list[str]:
    if tx.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [row[0] for row in tx.execute(stmt, params).all()]


_DUE = (
    select(payout_tracking.c.payout_id)
    .where(
        payout_tracking.c.livemode == bindparam("livemode"),
        payout_tracking.c.next_action_at <= bindparam("now"),
    )
    .order_by(payout_tracking.c.next_action_at)
    .limit(bindparam("limit"))
)


def due(tx: Connection, livemode: bool, now: int, limit: int) -> list[str]:
    """The payouts whose next step is due, claimed (others' workers skip them on PostgreSQL)."""
    return _claim(tx, _DUE, {"livemode": livemode, "now": now, "limit": limit})


# ---- the sweep links (`balance_transactions.payout`) ------------------------------------------------

# An automatic payout's sweep: its bucket's available transactions not yet swept, found by the index on
# (balance_seq, payout). The payout's own transaction is written swept (`Entry.payout`), not updated.
# Each sweep is its own bucket's, which the unit has locked: many at once are one statement (`by`).
_SWEEP = Write(
    update(balance_transactions)
    .where(
        balance_transactions.c.balance_seq == bindparam("b_seq", type_=BigInteger),
        balance_transactions.c.payout.is_(None),
        balance_transactions.c.status == "available",
    )
    .values(payout=bindparam("b_payout", type_=String)),
    by={"b_seq": balance_transactions.c.balance_seq},
)
_RELEASE = (
    update(balance_transactions)
    .where(balance_transactions.c.payout == bindparam("b_payout"))
    .values(payout=None)
)
# A bucket's pending transactions are found from its `next_settle_at` on (none is available earlier;
# NULL: none is pending), by the index on (balance_seq, available_on), never through its swept past.
_ARRIVING = (
    select(balance_transactions.c.id)
    .select_from(balances.join(balance_transactions, balance_transactions.c.balance_seq == balances.c.seq))
    .where(
        balances.c.seq == bindparam("seq"),
        balance_transactions.c.available_on >= balances.c.next_settle_at,
        balance_transactions.c.status == "pending",
        balance_transactions.c.payout.is_not(None),
    )
    .limit(1)
)
_IN_FLIGHT = select(resources.c.data).where(
    resources.c.account_id == bindparam("account_id"),
    resources.c.livemode == bindparam("livemode"),
    object_is("payout"),
    resources.c.status.in_(("pending", "in_transit")),
)


def sweep_many(tx: Connection, sweeps: Sequence[tuple[int, str]]) -> None:
    """Each automatic payout (bucket row, payout; each on a bucket of its own) sweeps every available,
    not yet swept transaction of its bucket: one statement for them all, one row update per swept row.
    Its own transaction was written swept."""
    if sweeps:
        _SWEEP.run(tx, [{"b_seq": seq, "b_payout": payout} for seq, payout in sweeps])


def release_sweeps(tx: Connection, payout_id: str) -> None:
    """What a failed or canceled payout swept is free to be swept again."""
    tx.execute(_RELEASE, {"b_payout": payout_id})


def debit_arriving(tx: Connection, seq: int) -> bool:
    """Whether a swept transaction of the bucket (row `seq`) is still pending: a debit on its way."""
    return tx.execute(_ARRIVING, {"seq": seq}).first() is not None


# As `_ARRIVING` for many buckets, bounded by the earliest of their `next_settle_at` (no pending
# transaction is due earlier) as a bind parameter, and without a join: the statement then reads the
# buckets' rows from that time on through the index on (balance_seq, available_on). Joined to
# `balances` (the bound a column), SQLite drove the read from `balance_transactions` through the index
# on (balance_seq, payout) with `payout IS NOT NULL` as its range: every transaction the bucket's
# earlier payouts swept, 5 ms per account with 1,000 of them (the autopayout probe). `payout` is
# tested through `coalesce` so that no index on it can be chosen (a payout id is never empty).
_ARRIVING_OF = (
    select(balance_transactions.c.balance_seq)
    .where(
        among(balance_transactions.c.balance_seq, "seqs"),
        balance_transactions.c.available_on >= bindparam("since"),
        balance_transactions.c.status == "pending",
        func.coalesce(balance_transactions.c.payout, "") != "",
    )
    .distinct()
)


def debits_arriving(tx: Connection, next_settle: Mapping[int, int | None]) -> set[int]:
    """`debit_arriving` of many buckets in one statement: of these rows (each with its
    `next_settle_at`, as read under lock in this unit), those with a swept transaction still pending.
    A bucket whose `next_settle_at` is NULL has nothing pending, and is not read."""
    pending = {seq: at for seq, at in next_settle.items() if at is not None}
    if not pending:
        return set()
    values = {"seqs": sorted(pending), "since": min(pending.values())}
    return {row[0] for row in tx.execute(_ARRIVING_OF, values)}


def payouts_in_flight(tx: Connection, account_id: str, livemode: bool) -> list[Payout]:
    """The account's payouts still pending or in transit."""
    rows = tx.execute(_IN_FLIGHT, {"account_id": account_id, "livemode": livemode}).all()
    return [Payout.from_doc(row.data) for row in rows]


# ---- what a payout touches of other objects ------------------------------------------------------


def create_fee(tx: Connection, fee: dict[str, Any], *, platform_id: str) -> None:
    """The application fee an instant payout pays the platform (the platform's document)."""
    objects.create(tx, fee, account_id=platform_id)


# ---- payout runs ----------------------------------------------------------------------------------

_DUE_RUNS = (
    select(payout_runs.c.account_id)
    .where(payout_runs.c.livemode == bindparam("livemode"), payout_runs.c.next_run_at <= bindparam("now"))
    .order_by(payout_runs.c.next_run_at)
    .limit(bindparam("limit"))
)
_SET_RUN = (
    update(payout_runs)
    .where(
        and_(
            payout_runs.c.account_id == bindparam("r_account", type_=String),
            payout_runs.c.livemode == bindparam("r_mode", type_=Boolean),
        )
    )
    .values(next_run_at=bindparam("r_next", type_=BigInteger))
)
# Many accounts' next runs at once are one statement (`by`): rows a unit's due runs claimed.
_SET_RUN_FAST = Write(_SET_RUN, by={"r_account": payout_runs.c.account_id, "r_mode": payout_runs.c.livemode})
_ADD_RUN = insert(payout_runs)
_RUN_ROWS = select(payout_runs.c.account_id, payout_runs.c.livemode)
_RUNNABLE = select(accounts.c.id, accounts.c.kind, accounts.c.livemode)


def due_runs(tx: Connection, livemode: bool, now: int, limit: int) -> list[str]:
    """The accounts whose payout run is due, claimed (others' workers skip them on PostgreSQL)."""
    return _claim(tx, _DUE_RUNS, {"livemode": livemode, "now": now, "limit": limit})


def set_next_runs(tx: Connection, livemode: bool, at: Mapping[str, int]) -> None:
    """Each account's next run time (rows that exist)."""
    if at:
        _SET_RUN_FAST.run(tx, [{"r_account": a, "r_mode": livemode, "r_next": at[a]} for a in sorted(at)])


def put_next_run(tx: Connection, account_id: str, livemode: bool, at: int) -> None:
    """The account's next run time, its row made if it has none."""
    done = tx.execute(_SET_RUN, {"r_account": account_id, "r_mode": livemode, "r_next": at})
    if done.rowcount == 0:
        tx.execute(_ADD_RUN, {"account_id": account_id, "livemode": livemode, "next_run_at": at})


def add_missing_runs(tx: Connection, now: int) -> int:
    """Give every account without a payout run row one, due now (accounts from before payouts)."""
    have = {(r.account_id, bool(r.livemode)) for r in tx.execute(_RUN_ROWS)}
    missing = []
    for row in tx.execute(_RUNNABLE):
        if row.kind == "system":
            continue
        modes = (False, True) if row.kind == "platform" else (bool(row.livemode),)
        missing += [
            {"account_id": row.id, "livemode": m, "next_run_at": now}
            for m in modes
            if (row.id, m) not in have
        ]
    if missing:
        tx.execute(_ADD_RUN, missing)
    return len(missing)


class RunAccount(NamedTuple):
    kind: str
    platform_id: str | None
    settings: PayoutSettings
    liability: tuple[bool, str | None]  # `holders.Holder.liability`, read with the rest


# The payout settings as their JSON text: most accounts share a few (a platform's defaults), and each
# text is parsed once per process (`PayoutSettings` is a frozen value).
_RUN_ACCOUNTS = select(
    accounts.c.id,
    accounts.c.kind,
    accounts.c.platform_id,
    accounts.c.data[("settings", "payouts")].as_string().label("payouts"),
    holders.LOSSES.label("losses"),
).where(among(accounts.c.id, "account_ids"))


@functools.lru_cache(maxsize=1024)
def _settings(text: str) -> PayoutSettings:
    return PayoutSettings.from_doc(orjson.loads(text))


def run_accounts(tx: Connection, account_ids: Sequence[str]) -> dict[str, RunAccount]:
    """What a payout run needs of each account (not those without payout settings): its kind,
    platform, payout settings and liability, without reading its whole document."""
    if not account_ids:
        return {}
    rows = tx.execute(_RUN_ACCOUNTS, {"account_ids": sorted(set(account_ids))})
    liability = holders.liability_of
    return {
        account_id: RunAccount(kind, platform_id, _settings(payouts), liability(kind, platform_id, losses))
        for account_id, kind, platform_id, payouts, losses in rows
        if payouts is not None
    }


# ---- instant payouts: the daily volume and the platform's pricing ----------------------------------

_VOLUME_KEY = and_(
    instant_volume.c.account_id == bindparam("v_account"),
    instant_volume.c.livemode == bindparam("v_mode"),
    instant_volume.c.currency == bindparam("v_currency"),
    instant_volume.c.day == bindparam("v_day"),
)
_VOLUME = Query(select(instant_volume.c.amount).where(_VOLUME_KEY))  # connected balance reads ask
_ADD_VOLUME = (
    update(instant_volume).where(_VOLUME_KEY).values(amount=instant_volume.c.amount + bindparam("v_amount"))
)
_NEW_VOLUME = insert(instant_volume)
# A platform's (`platform_id`) instant payout pricing in one mode (`livemode`).
PRICING_WHERE = and_(
    resources.c.account_id == bindparam("platform_id"),
    resources.c.livemode == bindparam("livemode"),
    # A literal, not a parameter: so SQLite can use the partial index that holds only these (0009).
    object_is("instant_payout_pricing"),
)
_PRICING = Query(select(resources.c.data).where(PRICING_WHERE))


def volume(tx: Connection, account_id: str, livemode: bool, currency: str, day: str) -> int:
    """The account's instant payout volume in `currency` on its local `day`."""
    key = {"v_account": account_id, "v_mode": livemode, "v_currency": currency, "v_day": day}
    rows = _VOLUME.rows(tx, key)
    return int(rows[0][0]) if rows else 0


def add_volume(tx: Connection, key: Mapping[str, Any], amount: int) -> None:
    """Add to a day's volume; `key`: account_id, livemode, currency, day."""
    where = {"v_account": key["account_id"], "v_mode": key["livemode"], "v_currency": key["currency"]}
    done = tx.execute(_ADD_VOLUME, {**where, "v_day": key["day"], "v_amount": amount})
    if done.rowcount == 0:
        tx.execute(_NEW_VOLUME, {**key, "amount": amount})


def pricing(tx: Connection, platform_id: str, livemode: bool) -> InstantPricing | None:
    primed: dict[tuple[str, bool], Any] | None = tx.info.get(PRICING_READ)
    if primed is not None and (platform_id, bool(livemode)) in primed:
        doc = primed[platform_id, bool(livemode)]
        return None if doc is None else InstantPricing.from_doc(doc)
    rows = _PRICING.rows(tx, {"platform_id": platform_id, "livemode": livemode})
    return InstantPricing.from_doc(rows[0][0]) if rows else None


def prime_pricing(tx: Connection, platform_id: str, livemode: bool, doc: Any) -> None:
    """Keep, for the rest of the unit, the platform's pricing document (None: it has none) that a
    statement of the unit read along with something else. Dropped when the unit ends (store/db.py
    UNIT_STATE) or the pricing is saved."""
    tx.info.setdefault(PRICING_READ, {})[platform_id, bool(livemode)] = doc


def save_pricing(tx: Connection, pricing: InstantPricing, *, platform_id: str, new: bool) -> None:
    tx.info.pop(PRICING_READ, None)
    if new:
        objects.create(tx, pricing.doc(), account_id=platform_id)
    else:
        objects.save(tx, pricing.doc())
