"""Settlement: due funds become available by the worker, and lazily before a read or a debit.

These tests move the simulated clock without settling (as time passes between worker ticks) and then
check each path on its own, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from sqlalchemy import select

from payoutkit import worker
from payoutkit.config import Pricing, Settings
from payoutkit.ledger.postings import TxnStatus
from payoutkit.runtime import Runtime, open_runtime
from payoutkit.services import accounts, balance, charges, transfers
from payoutkit.services.actor import Actor as Ctx
from payoutkit.services.new_charges import ChargeCommand
from payoutkit.store.invariants import check_ledger
from payoutkit.store.schema import balance_transactions, balances
from tests.conftest import CLOCK_START, SECRET_KEY

FRIDAY_NOON = CLOCK_START + 86400 + 2 * 3600  # 2026-01-02T12:00:00Z
MONDAY = 1767571200  # 2026-01-05T00:00:00Z: a card charge made Thursday is available from here


@dataclass
class World:
    state: Runtime
    platform: str

    def ctx(self, account: str | None = None) -> Ctx:
        return Ctx(
            account_id=account or self.platform,
            platform_id=self.platform,
            livemode=False,
            now=self.state.test_clock.now(),
            request_id="req_test",
        )

    def run(self, fn: Any, *args: Any, account: str | None = None) -> Any:
        return self.state.db.transaction(fn, self.ctx(account), *args)

    def move_clock_without_settling(self, to: int) -> None:
        assert self.state.simulated is not None
        self.state.db.transaction(self.state.simulated.advance_to, to)

    def stored_available(self, account: str) -> int:
        with self.state.db.engine.connect() as conn:
            rows = conn.execute(select(balances.c.available).where(balances.c.account_id == account)).all()
        return sum(r.available for r in rows)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        simulated_clock=True,
        simulated_clock_start=CLOCK_START,
        worker=False,
    )
    state, boot = open_runtime(settings, migrate_new=False)
    yield World(state, boot.platform_id)
    with state.db.engine.connect() as conn:
        assert check_ledger(conn) == []
    state.db.dispose()


def _create_charge(conn: Any, ctx: Ctx, amount: int = 1000, source: str = "tok_visa") -> dict[str, Any]:
    command = ChargeCommand(amount=amount, currency="usd", source=source)
    return charges.create(conn, ctx, command, pricing=Pricing()).charge.doc()


def _custom_account(world: World) -> str:
    def create(conn: Any, ctx: Ctx) -> str:
        command = accounts.CreateAccount(type="custom")
        return accounts.create(conn, ctx, command, settings=world.state.settings).account.id

    return world.run(create)  # type: ignore[no-any-return]


def _charge(world: World, amount: int = 1000, source: str = "tok_visa") -> dict[str, Any]:
    return world.run(_create_charge, amount, source)  # type: ignore[no-any-return]


def test_card_funds_settle_at_midnight_utc_after_two_business_days(world: World) -> None:
    charge = _charge(world)
    txn = world.run(
        lambda conn, ctx: balance.retrieve_transaction(conn, ctx, charge["balance_transaction"]).doc()
    )
    assert txn["status"] == "pending"
    assert txn["available_on"] == MONDAY  # Thursday + 2 business days skips the weekend


def test_the_worker_settles_due_funds_into_stored_buckets(world: World) -> None:
    _charge(world)
    world.move_clock_without_settling(FRIDAY_NOON)
    assert anyio.run(worker.tick, world.state) == 0  # nothing is due before Monday
    world.move_clock_without_settling(MONDAY)
    assert world.stored_available(world.platform) == 0
    assert anyio.run(worker.tick, world.state) >= 1
    assert world.stored_available(world.platform) == 1000 - 59
    with world.state.db.engine.connect() as conn:
        statuses = {r.status for r in conn.execute(select(balance_transactions.c.status))}
    assert statuses == {TxnStatus.AVAILABLE.value}


def test_a_balance_read_shows_what_is_due_as_available_and_writes_nothing(world: World) -> None:
    """A read answers as settlement will leave the funds (it did so by settling first until issue 8,
    which made reads take no write lock: the worker or the next money-moving unit settles them)."""
    _charge(world)
    world.move_clock_without_settling(MONDAY)
    read = world.run(lambda conn, ctx: balance.read_balance(conn, ctx).doc())
    assert read["available"][0]["amount"] == 941
    assert read["pending"][0]["amount"] == 0
    assert world.stored_available(world.platform) == 0


def test_a_debit_sees_funds_that_became_available_since_the_last_tick(world: World) -> None:
    destination = _custom_account(world)
    _charge(world)
    transfer = transfers.NewTransfer(amount=941, currency="usd", destination=destination)
    from payoutkit.ledger.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        world.run(transfers.create, transfer)
    world.move_clock_without_settling(MONDAY)
    made = world.run(transfers.create, transfer).doc()
    assert made["amount"] == 941
    assert world.stored_available(world.platform) == 0
    assert world.stored_available(destination) == 941


class Boom(Exception):
    pass


def _charge_then_fail(conn: Any, ctx: Ctx) -> None:
    _create_charge(conn, ctx)
    raise Boom


@pytest.mark.parametrize("path", ["pooled", "inline"])
def test_a_failed_unit_leaves_nothing_behind_for_the_next_one(world: World, path: str) -> None:
    """A unit that posted money and then failed rolls back whole, including the bucket moves it
    deferred to its end: the next unit on the same connection must not apply them."""
    db = world.state.db

    def failing_unit() -> None:
        if path == "inline" and db.inline:
            anyio.run(db.run, _charge_then_fail, world.ctx())
        else:
            db.transaction(_charge_then_fail, world.ctx())

    for _ in range(3):
        with pytest.raises(Boom):
            failing_unit()
    _charge(world)
    world.move_clock_without_settling(MONDAY)
    assert world.run(lambda conn, ctx: balance.read_balance(conn, ctx).doc())["available"][0]["amount"] == 941


def test_only_movements_of_available_funds_lock_a_liable_accounts_reserve(world: World) -> None:
    from payoutkit.ledger.postings import BalanceType, BucketKey
    from payoutkit.services.movement import Movement

    custom = _custom_account(world)
    card = BucketKey(custom, False, "usd")
    reserved = BucketKey(world.platform, False, "usd", BalanceType.CONNECT_RESERVED)

    def exact_keys(conn: Any, ctx: Ctx, available: bool) -> set[BucketKey]:
        return Movement(conn, ctx).touch(card, available=available).exact

    def touched_keys(conn: Any, ctx: Ctx, available: bool) -> set[BucketKey]:
        return Movement(conn, ctx).touch(card, available=available).keys

    assert world.run(exact_keys, False) == set()
    # The reserve follows the account's value: its buckets are locked. The platform's two buckets a
    # reserve change moves are declared (moved by a relative update before the commit), never locked:
    # nothing decides on their value (issue 11; tests/services/test_payouts.py shows a liable payout
    # completing while they are locked elsewhere).
    platform_keys = {reserved, BucketKey(world.platform, False, "usd")}
    assert card in world.run(exact_keys, True)
    assert platform_keys <= world.run(touched_keys, True)
    assert not platform_keys & world.run(exact_keys, True)


def test_one_settlement_call_works_through_every_batch_of_due_buckets(world: World) -> None:
    """Regression: the batch loop once re-used its `seqs` filter, stopping after the first batch."""
    from payoutkit.store.settlement import settle_due

    made = [_custom_account(world) for _ in range(5)]
    for account in made:
        world.state.db.transaction(_create_charge, world.ctx(account))
    world.move_clock_without_settling(MONDAY)
    moved = world.state.db.transaction(lambda conn: settle_due(conn, MONDAY, batch=2))
    assert moved >= 5  # each account's charge (plus its counterparts' if pending)
    with world.state.db.engine.connect() as conn:
        left = conn.execute(
            select(balance_transactions.c.id).where(balance_transactions.c.status == TxnStatus.PENDING.value)
        ).all()
    assert left == []


def test_a_later_settlement_finds_new_due_funds_past_the_settled_ones(world: World) -> None:
    """Settlement looks for a bucket's due transactions from its `next_settle_at` on (the settled past
    is never read): funds charged after a settlement settle at their own time, and only then."""
    _charge(world)
    world.move_clock_without_settling(MONDAY)
    assert anyio.run(worker.tick, world.state) >= 1
    second = _charge(world, amount=2000)  # Monday: available Wednesday
    world.move_clock_without_settling(MONDAY + 86400)
    assert anyio.run(worker.tick, world.state) == 0
    world.move_clock_without_settling(MONDAY + 2 * 86400)
    assert anyio.run(worker.tick, world.state) >= 1
    assert world.stored_available(world.platform) == (1000 - 59) + (2000 - 88)
    with world.state.db.engine.connect() as conn:
        row = conn.execute(
            select(balance_transactions.c.status).where(
                balance_transactions.c.id == second["balance_transaction"]
            )
        ).one()
        next_settle = conn.execute(
            select(balances.c.next_settle_at).where(balances.c.account_id == world.platform)
        ).all()
    assert row.status == TxnStatus.AVAILABLE.value
    assert {r.next_settle_at for r in next_settle} == {None}


def test_check_ledger_reports_a_pending_transaction_before_its_buckets_next_settle_at(world: World) -> None:
    _charge(world)
    with world.state.db.engine.connect() as conn:
        conn.execute(
            balances.update()
            .where(balances.c.account_id == world.platform, balances.c.next_settle_at.is_not(None))
            .values(next_settle_at=balances.c.next_settle_at + 1)
        )
        violations = check_ledger(conn)
        conn.rollback()
    assert len(violations) == 1
    assert "before its bucket's next_settle_at" in violations[0]
