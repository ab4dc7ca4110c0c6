"""Payouts as use cases: created, listed, canceled, refused and advanced with an actor, no HTTP (the
accounts and funds they need are set up through the API)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stripe
from sqlalchemy import Connection, event, select, update

from payoutkit.errors import InvalidRequest, PermissionDenied
from payoutkit.ledger.payout_record import Payout, PayoutStatus
from payoutkit.ledger.postings import PROCESSOR, WORLD, BucketKey
from payoutkit.ledger.schedule import Interval, Schedule
from payoutkit.lists import Window
from payoutkit.records.accounts import Account, Controller, PayoutSettings
from payoutkit.records.payouts import PayoutFilter
from payoutkit.services import payout_create, payout_lifecycle, payouts
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.movement import SYSTEM_SHARDS, Movement, movement
from payoutkit.services.rail import SIMULATED
from payoutkit.store.balances import bucket_seqs
from payoutkit.store.db import Database
from payoutkit.store.schema import balances, connect_reserves
from tests.contract.test_payouts import manual_account
from tests.support.server import RunningServer
from tests.support.waiting import InThread, wait_for_a_lock_wait

DAY = 86_400


@pytest.fixture
def db(server: RunningServer) -> Iterator[Database]:
    database = Database(server.settings.database_url, pool_size=2)
    yield database
    database.dispose()


def _actor(http: httpx.Client, account: str) -> Actor:
    platform = http.get("/v1/account").json()["id"]
    now = http.get("/v1/test_helpers/clock").json()["now"]
    return Actor(account_id=account, platform_id=platform, livemode=False, now=now, request_id="req_1")


def _create(db: Database, server: RunningServer, actor: Actor, amount: int) -> Payout:
    command = payout_create.CreatePayout(amount=amount, currency="usd")
    return db.transaction(payout_create.create, actor, command, settings=server.settings, rail=SIMULATED)


def test_a_payout_is_created_listed_and_canceled_as_records(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    made = _create(db, server, actor, 1200)
    assert (made.amount, made.status, made.method, made.automatic) == (
        1200,
        PayoutStatus.PENDING,
        "standard",
        False,
    )
    assert made.balance_transaction.startswith("txn_")

    shown = http.get(f"/v1/payouts/{made.id}", headers={"Stripe-Account": account}).json()
    assert shown == made.doc()

    listed = db.transaction(payouts.list_payouts, actor, Window(limit=10), PayoutFilter(status="pending"))
    assert [p.id for p in listed.items] == [made.id]

    canceled = db.transaction(payout_lifecycle.cancel, actor, payout_lifecycle.CancelPayout(made.id))
    assert canceled.status is PayoutStatus.CANCELED
    assert canceled.failure_balance_transaction is not None
    with pytest.raises(InvalidRequest, match="Only pending payouts"):
        db.transaction(payout_lifecycle.cancel, actor, payout_lifecycle.CancelPayout(made.id))


@pytest.mark.parametrize(
    ("acting", "liable", "allowed"),
    [("acct_c", True, True), ("acct_c", False, False), ("acct_p", True, False)],
)
def test_only_a_connected_account_its_platform_is_liable_for_reverses_payouts(
    acting: str, liable: bool, allowed: bool
) -> None:
    actor = Actor(account_id=acting, platform_id="acct_p", livemode=False, now=0)
    settings = PayoutSettings(Schedule(Interval.MANUAL, 2), False, None)
    losses = "application" if liable else "stripe"
    controller = Controller("application", "application", losses, "stripe", "express")
    account = Account("acct_c", "US", "usd", 0, "none", settings, controller=controller, platform_id="acct_p")
    if allowed:
        payout_lifecycle.require_reversal_rights(actor, account)
    else:
        with pytest.raises(PermissionDenied):
            payout_lifecycle.require_reversal_rights(actor, account)


def test_the_rail_advances_a_due_payout_to_paid(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    made = _create(db, server, actor, 900)
    later = Moment.job(False, made.arrival_date + DAY)
    moved = db.transaction(payout_lifecycle.advance_due, later, SIMULATED)
    assert moved >= 1
    paid = db.transaction(payouts.retrieve, actor, made.id)
    assert paid.status is PayoutStatus.PAID
    assert paid.trace_id.status == "supported"


def test_a_liable_account_s_payout_does_not_wait_for_its_platform_s_buckets(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    """The platform is liable for a custom account, but a payout that leaves the account's reserve as
    it is never touches the platform's buckets: with both of them locked by another transaction (as
    the platform's own payout or another liable account's reserve change would hold them), it still
    completes at once. PostgreSQL only: SQLite units are serialized and take no row locks."""
    if db.is_sqlite:
        pytest.skip("row locks are PostgreSQL's")
    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    platform_rows = (
        select(balances.c.seq)
        .where(balances.c.account_id == actor.platform_id, balances.c.currency == "usd")
        .with_for_update()
    )
    with db.engine.connect() as holder, holder.begin():
        held = holder.execute(platform_rows).scalars().all()
        assert len(held) >= 2  # the platform's payments and connect_reserved buckets (at least)

        def payout_within_a_second(conn: Connection) -> Payout:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            command = payout_create.CreatePayout(amount=700, currency="usd")
            return payout_create.create(conn, actor, command, settings=server.settings, rail=SIMULATED)

        made = db.transaction(payout_within_a_second)
    assert (made.amount, made.status) == (700, PayoutStatus.PENDING)
    balance = http.get("/v1/balance", headers={"Stripe-Account": account}).json()
    assert balance["available"][0]["amount"] == 5000 - 700


# -- a liable account's reserve read with its buckets' lock (store/bucket_lock.py `lock_movement`): its
# row is made at 0 the first time a unit of its own syncs it, every later unit reads it in the lock
# statement, and on PostgreSQL it is read as last committed even when the lock statement waited.


def _reserve_rows(db: Database, account: str) -> list[tuple[str, int]]:
    q = select(connect_reserves.c.currency, connect_reserves.c.amount).where(
        connect_reserves.c.account_id == account
    )
    return db.transaction(lambda conn: [(r[0], int(r[1])) for r in conn.execute(q)])


def _warm(db: Database) -> None:
    """This process knows the rows of every shard of the system accounts' usd buckets (a unit moves
    money on one shard, picked at random): a unit then finds none of its buckets but the ones without a
    row."""
    keys = [BucketKey(f"{a}_{i:02d}", False, "usd") for a in (WORLD, PROCESSOR) for i in range(SYSTEM_SHARDS)]
    db.transaction(bucket_seqs, keys)


def _lock(db: Database, actor: Actor) -> Movement:
    key = BucketKey(actor.account_id, False, "usd")
    return db.transaction(lambda conn: movement(conn, actor, [key], exact=[key]))


def test_a_liable_accounts_payout_reads_its_reserve_with_its_lock(
    server: RunningServer, http: httpx.Client, stripe_client: stripe.StripeClient, db: Database
) -> None:
    account = manual_account(stripe_client)  # funded by a transfer: a unit that synced its reserve
    assert _reserve_rows(db, account) == [("usd", 0)]  # its row, at 0
    actor = _actor(http, account)
    command = payout_create.CreatePayout(amount=100, currency="usd")
    create = payout_create.create
    db.transaction(create, actor, command, settings=server.settings, rail=SIMULATED)  # this process: warm
    _warm(db)
    seen: list[str] = []

    def listener(conn: object, cursor: object, sql: str, *rest: object) -> None:
        seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        db.transaction(create, actor, command, settings=server.settings, rail=SIMULATED)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    reads = [s for s in seen if "INSERT" not in s and "UPDATE balances" not in s]
    [lock] = [s for s in reads if "FROM connect_reserves" in s or "FROM balances" in s]
    assert "FROM connect_reserves" in lock
    assert "FROM balances" in lock
    assert _reserve_rows(db, account) == [("usd", 0)]


def test_the_reserve_is_read_as_last_committed_after_the_lock_waited(
    http: httpx.Client, stripe_client: stripe.StripeClient, db: Database
) -> None:
    """The lock statement's snapshot is taken before it waits for the unit holding the account's buckets;
    that unit changes the reserve and commits: the reserve read with the lock is the committed one."""
    if db.is_sqlite:
        pytest.skip("row locks are PostgreSQL's: SQLite units are serialized")
    account = manual_account(stripe_client)
    actor = _actor(http, account)
    _lock(db, actor)  # this process knows the account's buckets: the next lock is one statement
    _warm(db)
    mine = select(balances.c.seq).where(balances.c.account_id == account).with_for_update()
    reserve = update(connect_reserves).where(connect_reserves.c.account_id == account)
    holder = db.engine.connect()
    holder.begin()
    holder.execute(mine).all()
    holder.execute(reserve.values(amount=123))  # as a unit changing the reserve, under the lock
    locker = InThread(lambda: _lock(db, actor))
    try:
        wait_for_a_lock_wait(db.engine, locker.done)  # it waits for the rows `holder` locked
        assert not locker.done.is_set(), locker.got
        holder.commit()
    finally:
        holder.close()
    mv = locker.result()

    def restore(conn: Connection) -> None:  # the ledger's invariants hold again
        conn.execute(reserve.values(amount=0))

    db.transaction(restore)
    assert isinstance(mv, Movement)
    assert mv.reserved == {(account, False, "usd"): 123}
