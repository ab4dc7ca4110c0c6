"""A liable account's reserve read with its buckets' lock (store/bucket_lock.py `lock_movement`): its
row is made at 0 the first time a unit syncs it, every later unit reads it in the lock statement, and
on PostgreSQL it is read as last committed even when the lock statement waited for another unit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import Connection, event, select, text, update

from payoutkit.ledger.postings import PROCESSOR, WORLD, BucketKey
from payoutkit.services import payout_create
from payoutkit.services.actor import Actor
from payoutkit.services.movement import SYSTEM_SHARDS, Movement, movement
from payoutkit.services.rail import SIMULATED
from payoutkit.store.balances import bucket_seqs
from payoutkit.store.db import Database
from payoutkit.store.schema import balances, connect_reserves
from tests.contract.test_payouts import manual_account
from tests.support.server import RunningServer


@pytest.fixture
def db(server: RunningServer) -> Iterator[Database]:
    database = Database(server.settings.database_url, pool_size=2)
    yield database
    database.dispose()


def _actor(http: httpx.Client, account: str) -> Actor:
    platform = http.get("/v1/account").json()["id"]
    now = http.get("/v1/test_helpers/clock").json()["now"]
    return Actor(account_id=account, platform_id=platform, livemode=False, now=now, request_id="req_1")


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
    got: list[Any] = []
    done = threading.Event()

    def locker() -> None:
        try:
            got.append(_lock(db, actor))
        except BaseException as exc:  # reported by the test itself
            got.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=locker)
    thread.start()
    try:
        with db.engine.connect() as probe:
            waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            for _ in range(200):  # the locker waits for the rows `holder` locked
                if probe.execute(waiting).scalar_one() > 0 or done.is_set():
                    break
                probe.rollback()
                threading.Event().wait(0.02)
            assert not done.is_set(), got
        holder.commit()
    finally:
        holder.close()
        thread.join(30)

    def restore(conn: Connection) -> None:  # the ledger's invariants hold again
        conn.execute(reserve.values(amount=0))

    db.transaction(restore)
    [mv] = got
    assert isinstance(mv, Movement)
    assert mv.reserved == {(account, False, "usd"): 123}
