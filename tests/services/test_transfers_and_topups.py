"""The transfers room's use cases called directly with an actor, no HTTP, on both stores: top-ups fund
a balance, transfers move it to a connected account, reversals take it back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ledger.errors import InsufficientFunds
from payoutkit.lists import Window
from payoutkit.runtime import Runtime
from payoutkit.services import topups, transfers
from payoutkit.services.actor import Actor
from payoutkit.store import charges as charge_store
from payoutkit.store.schema import accounts, balances

BANK = "bank_account"  # a top-up funds the bank_account balance


@dataclass
class World:
    runtime: Runtime
    platform: str

    def actor(self, account: str | None = None, *, livemode: bool = False) -> Actor:
        return Actor(
            account_id=account or self.platform,
            platform_id=self.platform,
            livemode=livemode,
            now=self.runtime.test_clock.now(),
            request_id="req_services",
        )

    def run(self, fn: Any, *args: Any, account: str | None = None) -> Any:
        return self.runtime.db.transaction(fn, self.actor(account), *args)

    def available(self, account: str) -> int:
        with self.runtime.db.engine.connect() as conn:
            rows = conn.execute(select(balances.c.available).where(balances.c.account_id == account)).all()
        return sum(r.available for r in rows)

    def connected_account(self) -> str:
        """A connected account of the platform (made by the accounts room's use case)."""
        from payoutkit.services import accounts as accounts_service

        made = self.runtime.db.transaction(
            accounts_service.create,
            self.actor(),
            accounts_service.CreateAccount(type="custom"),
            settings=self.runtime.settings,
        )
        account_id: str = made.account.id
        with self.runtime.db.engine.connect() as conn:
            assert (
                conn.execute(select(accounts.c.kind).where(accounts.c.id == account_id)).scalar()
                == "connected"
            )
        return account_id


@pytest.fixture
def world(runtime: Runtime) -> World:
    """The shared runtime (tests/services/conftest.py; it checks the ledger at teardown)."""
    return World(runtime, runtime.platform_id)


def _fund(world: World, amount: int = 10_000) -> None:
    made = world.run(topups.create, topups.NewTopup(amount=amount, currency="usd"))
    assert made.status == "succeeded"


def test_a_topup_is_available_at_once_and_a_failed_one_moves_nothing(world: World) -> None:
    _fund(world, 5000)
    assert world.available(world.platform) == 5000
    failed = world.run(
        topups.create, topups.NewTopup(amount=700, currency="usd", source="btok_us_verified_noAccount")
    )
    assert (failed.status, failed.failure_code, failed.balance_transaction) == ("failed", "no_account", None)
    assert world.available(world.platform) == 5000
    found = world.run(topups.list_topups, topups.TopupQuery(window=Window(), status="failed"))
    assert [t.id for t in found.items] == [failed.id]
    assert world.run(topups.retrieve, failed.id) == failed


def test_a_live_topup_refuses_test_sources(world: World) -> None:
    actor = world.actor(livemode=True)
    with pytest.raises(InvalidRequest) as refused:
        world.runtime.db.transaction(
            topups.create, actor, topups.NewTopup(amount=700, currency="usd", source="btok_us_verified")
        )
    assert refused.value.param == "source"


def test_a_transfer_moves_available_funds_and_a_reversal_takes_them_back(world: World) -> None:
    _fund(world, 10_000)
    destination = world.connected_account()
    tr = world.run(
        transfers.create,
        transfers.NewTransfer(amount=4000, currency="usd", destination=destination, source_type=BANK),
    )
    assert (world.available(world.platform), world.available(destination)) == (6000, 4000)

    reversal = world.run(transfers.create_reversal, transfers.NewReversal(transfer=tr.id, amount=1500))
    assert (world.available(world.platform), world.available(destination)) == (7500, 2500)
    after = world.run(transfers.retrieve, tr.id)
    assert (after.amount_reversed, after.reversed, after.reversals) == (1500, False, (reversal,))
    with world.runtime.db.engine.connect() as conn:
        found = charge_store.charge(conn, tr.destination_payment)
    assert found is not None
    payment = found[0]
    assert (payment.amount_refunded, payment.refunded) == (1500, False)
    assert [r["id"] for r in payment.refunds["data"]] == [reversal.destination_payment_refund]

    rest = world.run(transfers.create_reversal, transfers.NewReversal(transfer=tr.id))
    assert rest.amount == 2500
    assert world.run(transfers.retrieve, tr.id).reversed
    with pytest.raises(InvalidRequest) as refused:
        world.run(transfers.create_reversal, transfers.NewReversal(transfer=tr.id))
    assert refused.value.code == "transfer_already_reversed"
    listed = world.run(transfers.list_reversals, transfers.ReversalQuery(transfer=tr.id, window=Window()))
    assert [r.id for r in listed.items] == [rest.id, reversal.id]


def test_only_the_platform_transfers_and_only_from_available_funds(world: World) -> None:
    destination = world.connected_account()
    command = transfers.NewTransfer(amount=100, currency="usd", destination=destination, source_type=BANK)
    with pytest.raises(InsufficientFunds):
        world.run(transfers.create, command)
    _fund(world, 1000)
    with pytest.raises(PermissionDenied):
        world.run(transfers.create, command, account=destination)
    tr = world.run(transfers.create, command)
    with pytest.raises(ResourceMissing):
        world.run(transfers.retrieve, tr.id, account=destination)


def test_an_update_changes_what_it_names(world: World) -> None:
    _fund(world, 1000)
    destination = world.connected_account()
    tr = world.run(
        transfers.create,
        transfers.NewTransfer(amount=100, currency="usd", destination=destination, source_type=BANK),
    )
    changed = world.run(transfers.update, transfers.TransferChanges(transfer=tr.id, metadata={"a": "1"}))
    assert (changed.metadata, changed.description) == ({"a": "1"}, None)
    assert world.run(transfers.retrieve, tr.id) == changed
    found = world.run(
        transfers.list_transfers, transfers.TransferQuery(window=Window(), destination=destination)
    )
    assert found.items == [changed]
