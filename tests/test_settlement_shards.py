"""The worker's settlement on PostgreSQL: one unit of work per shard of the accounts, at once.

Each shard's unit is made to wait for the other's at the end of its settlement (before its commit),
so the two transactions are open together: if they locked a row in common, one would wait for the
other's commit and the barrier would break. Real PostgreSQL, no mock; the ledger is checked after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select

from devtools.pg import PostgresCluster
from payoutkit import worker
from payoutkit.config import Settings
from payoutkit.ledger.postings import BalanceType, BucketKey, TxnStatus
from payoutkit.runtime import open_runtime
from payoutkit.services.actor import Moment
from payoutkit.services.refunds import RefundCommand, create_refund
from payoutkit.services.settlement import settle_shard
from payoutkit.store.balances import create_buckets
from payoutkit.store.invariants import check_ledger
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import balances, connect_reserves
from payoutkit.store.shards import Shard, in_shard
from tests.conftest import CLOCK_START, SECRET_KEY
from tests.support import databases
from tests.test_settlement import MONDAY, World, _create_charge, _custom_account

SHARDS = 2
PER_SHARD = 3  # accounts in each shard


_IN_BUCKETS = txns.join(balances, balances.c.seq == txns.c.balance_seq)


class Boom(Exception):
    pass


@pytest.fixture
def world(pg_cluster: PostgresCluster, pg_template: str) -> Iterator[World]:
    name = databases.create_pg_database(pg_cluster, pg_template)
    settings = Settings(database_url=pg_cluster.url(name), secret_key=SECRET_KEY, simulated_clock=True,
                        simulated_clock_start=CLOCK_START, worker=False)  # fmt: skip
    state, boot = open_runtime(settings, migrate_new=False)
    yield World(state, boot.platform_id)
    with state.db.engine.connect() as conn:
        assert check_ledger(conn) == []
    state.db.dispose()
    pg_cluster.drop_database(name)


def _shard_of(world: World, account: str) -> int:
    query = select(func.count()).where(in_shard(func.cast(account, balances.c.account_id.type)))
    with world.state.db.engine.connect() as conn:
        for part in range(SHARDS):
            if conn.execute(query, Shard(part, SHARDS).values()).scalar_one():
                return part
    raise AssertionError(f"{account} is in no shard")


def _accounts_by_shard(world: World) -> dict[int, list[str]]:
    """Custom accounts (the platform is liable for them), at least PER_SHARD in every shard; and the
    platform's two buckets their reserves move. Those exist in any store where the platform has had
    funds and a reserve; the first unit to give a bucket its row holds the row's key until it commits,
    and a unit giving it too (another shard's reserve re-sync) waits for that commit: the one wait
    between shards, once per platform and currency, which these tests would see as a broken barrier."""
    types = (BalanceType.PAYMENTS, BalanceType.CONNECT_RESERVED)
    reserve_keys = [BucketKey(world.platform, False, "usd", b) for b in types]
    world.state.db.transaction(create_buckets, reserve_keys)
    out: dict[int, list[str]] = {part: [] for part in range(SHARDS)}
    for _ in range(200):
        if min(len(v) for v in out.values()) >= PER_SHARD:
            return out
        account = _custom_account(world)
        out[_shard_of(world, account)].append(account)
    raise AssertionError("the accounts do not spread over the shards")


def _charge(world: World, account: str, amount: int, source: str = "tok_visa") -> dict[str, Any]:
    made: dict[str, Any] = world.state.db.transaction(_create_charge, world.ctx(account), amount, source)
    return made


def _due_pending(world: World, accounts: list[str] | None = None) -> int:
    query = select(func.count()).select_from(_IN_BUCKETS)
    query = query.where(txns.c.status == TxnStatus.PENDING.value, txns.c.available_on <= MONDAY)
    if accounts is not None:
        query = query.where(balances.c.account_id.in_(accounts))
    with world.state.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _pending_net(world: World, account: str) -> int:
    pending = txns.c.status == TxnStatus.PENDING.value
    query = select(func.sum(txns.c.net)).select_from(_IN_BUCKETS)
    query = query.where(pending, balances.c.account_id == account)
    with world.state.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one() or 0)


def _side_by_side(fail: int | None = None, *, at_start: bool = False) -> Callable[[Any, Moment, Shard], int]:
    """The worker's shard unit, made to wait (up to 10 s) for the other shard's at its end, before its
    commit (both transactions open, both settlements done); the shard `fail` raises there instead of
    committing. `at_start`: wait at the start instead (both transactions begun), on a first attempt
    only, for shards that share rows (a platform's buckets): one of them then waits for the other's
    commit, and a deadlock between them would be broken by PostgreSQL and the loser run again."""
    barrier = threading.Barrier(SHARDS)
    attempts: dict[int, int] = {}

    def unit(conn: Any, moment: Moment, shard: Shard) -> int:
        attempts[shard.part] = attempts.get(shard.part, 0) + 1
        if at_start:
            conn.execute(select(1))
            if attempts[shard.part] == 1:
                barrier.wait(timeout=10)
        moved = settle_shard(conn, moment, shard)
        if not at_start:
            barrier.wait(timeout=10)
        if shard.part == fail:
            raise Boom
        return moved

    return unit


def _settle(world: World, unit: Callable[[Any, Moment, Shard], int]) -> list[int]:
    world.move_clock_without_settling(MONDAY)
    return anyio.run(worker.run_sharded, world.state.db, unit, SHARDS, Moment.job(False, MONDAY))


def test_two_shards_settle_at_once_and_every_due_transaction_settles_exactly_once(world: World) -> None:
    by_shard = _accounts_by_shard(world)
    for accounts in by_shard.values():
        for i, account in enumerate(accounts):
            _charge(world, account, 1_000 + i)
            _charge(world, account, 2_000 + i)
    world.state.db.transaction(_create_charge, world.ctx())  # the platform's own, in one of them
    due = _due_pending(world)
    shard_due = {part: _due_pending(world, accounts) for part, accounts in by_shard.items()}
    owed = {a: _pending_net(world, a) for accounts in by_shard.values() for a in accounts}

    moved = _settle(world, _side_by_side())

    assert sum(moved) == due
    assert all(moved[part] >= n > 0 for part, n in shard_due.items())
    assert _due_pending(world) == 0
    for account, net in owed.items():
        assert net > 0
        assert world.stored_available(account) == net  # settled once: not twice, not lost
    with world.state.db.engine.connect() as conn:
        assert check_ledger(conn) == []
        assert conn.execute(select(func.count()).where(balances.c.next_settle_at <= MONDAY)).scalar_one() == 0
    assert anyio.run(worker.settle_all, world.state.db, Moment.job(False, MONDAY), SHARDS) == 0


def _reserved(world: World) -> dict[str, int]:
    with world.state.db.engine.connect() as conn:
        rows = conn.execute(select(connect_reserves.c.account_id, connect_reserves.c.amount)).all()
    return {r.account_id: int(r.amount) for r in rows}


def _platform(world: World, balance_type: BalanceType) -> int:
    query = select(func.coalesce(func.sum(balances.c.available), 0)).where(
        balances.c.account_id == world.platform, balances.c.balance_type == balance_type.value
    )
    with world.state.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_liable_accounts_reserves_follow_settlement_in_concurrent_shards(world: World) -> None:
    """Each liable account is at -1.17 with 96.80 pending (tests/scenarios' worked example), its
    platform holding 1.17 in connect_reserved for each; the platform has funds due too, so one shard
    holds the platform's bucket while the other's reserve releases move it."""
    by_shard = _accounts_by_shard(world)
    accounts = [a for part in sorted(by_shard) for a in by_shard[part]]
    for account in accounts:
        _charge(world, account, 10_000)
        quick = _charge(world, account, 3_000, "tok_bypassPending")
        world.state.db.transaction(create_refund, world.ctx(account), RefundCommand(charge=quick["id"]))
    world.state.db.transaction(_create_charge, world.ctx(), 5_000)
    assert _reserved(world) == dict.fromkeys(accounts, 117)
    assert _platform(world, BalanceType.CONNECT_RESERVED) == 117 * len(accounts)
    platform_before = _platform(world, BalanceType.PAYMENTS)

    moved = _settle(world, _side_by_side(at_start=True))

    assert all(n > 0 for n in moved)
    for account in accounts:
        assert world.stored_available(account) == 9_680 - 117
    assert _reserved(world) == dict.fromkeys(accounts, 0)
    assert _platform(world, BalanceType.CONNECT_RESERVED) == 0
    # The releases and the platform's own charge (5,000 less 175) are available to it now.
    assert _platform(world, BalanceType.PAYMENTS) == platform_before + 117 * len(accounts) + 4_825
    assert _due_pending(world) == 0


def test_a_failed_shard_loses_nothing_and_doubles_nothing_of_the_others_work(world: World) -> None:
    by_shard = _accounts_by_shard(world)
    for accounts in by_shard.values():
        for account in accounts:
            _charge(world, account, 1_000)
    kept, failed = by_shard[0], by_shard[1]
    kept_due, failed_due = _due_pending(world, kept), _due_pending(world, failed)

    with pytest.raises(Boom):
        _settle(world, _side_by_side(fail=1))

    assert _due_pending(world, kept) == 0  # committed, though the other shard failed
    assert _due_pending(world, failed) == failed_due > 0  # rolled back whole
    for account in kept:
        assert world.stored_available(account) == 1_000 - 59
    for account in failed:
        assert world.stored_available(account) == 0
    with world.state.db.engine.connect() as conn:
        assert check_ledger(conn) == []

    # The next tick settles what the failed shard left, and nothing twice.
    moved = anyio.run(worker.run_sharded, world.state.db, settle_shard, SHARDS, Moment.job(False, MONDAY))
    assert moved[0] == 0
    assert moved[1] == failed_due
    assert kept_due > 0
    for account in kept + failed:
        assert world.stored_available(account) == 1_000 - 59
    assert _due_pending(world) == 0
