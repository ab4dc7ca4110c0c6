"""The accounts room without HTTP: use cases called with an actor, records and store, on both stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError, dataclass, fields, replace
from typing import Any, TypeVar

import pytest
from sqlalchemy import event

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ledger.schedule import Interval, Weekday
from payoutkit.lists import Window
from payoutkit.records.accounts import Account
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.runtime import Runtime, open_runtime
from payoutkit.services import accounts, external_accounts
from payoutkit.services.account_rules import AccountChanges, ControllerRequest, PayoutChanges
from payoutkit.services.actor import Actor
from payoutkit.services.destinations import BankAccountGiven
from payoutkit.services.platform import key_digest, rotate_secret_key
from payoutkit.store import accounts as store_accounts
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import keys as store_keys
from payoutkit.store import payers as store_payers
from tests.conftest import CLOCK_START, SECRET_KEY

T = TypeVar("T")


@dataclass
class Room:
    runtime: Runtime
    platform: str

    def actor(self, account: str | None = None) -> Actor:
        return Actor(
            account_id=account or self.platform, platform_id=self.platform, livemode=False, now=CLOCK_START
        )

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.runtime.db.transaction(lambda tx: fn(tx, *args, **kwargs))

    def custom(self) -> Account:
        command = accounts.CreateAccount(type="custom")
        return self.run(accounts.create, self.actor(), command, settings=self.runtime.settings).account


@pytest.fixture
def room(database_url: str) -> Iterator[Room]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        simulated_clock=True,
        simulated_clock_start=CLOCK_START,
    )
    runtime, boot = open_runtime(settings, migrate_new=False)
    yield Room(runtime, boot.platform_id)
    runtime.db.dispose()


def test_records_give_back_the_stored_documents(room: Room) -> None:
    account = room.custom()
    platform = room.run(store_accounts.get, room.platform)
    assert platform is not None
    assert platform.kind == "platform"
    assert platform.controller is None
    for a in (account, platform):
        stored = room.run(store_accounts.document, a.id)
        assert stored is not None
        assert Account.from_doc(stored).doc() == stored
    actor = room.actor()
    for source in ("btok_us_verified", "tok_visa_debit"):
        command = external_accounts.CreateExternalAccount(account.id, source)
        ea = room.run(external_accounts.create, actor, command)
        assert ExternalAccount.from_doc(ea.doc()) == ea
        assert room.run(store_external_accounts.get, ea.id) == ea
    for doc in room.run(store_external_accounts.documents, account.id, False):
        assert ExternalAccount.from_doc(doc).doc() == doc


def test_an_account_read_is_a_whole_record_equal_to_one_built_by_its_init(room: Room) -> None:
    """`Account.from_doc` sets every field at once (`made_whole`): the same record `__init__` builds."""
    account = room.custom()
    for a in (account, room.run(store_accounts.get, room.platform)):
        assert a is not None
        read = room.run(store_accounts.get, a.id)
        assert read is not None
        assert vars(read).keys() == {f.name for f in fields(Account)}
        assert read == replace(read)
        assert repr(read) == repr(replace(read))
        with pytest.raises(FrozenInstanceError):
            read.kind = "system"  # type: ignore[misc]


def test_a_custom_account_makes_its_platform_liable(room: Room) -> None:
    account = room.custom()
    assert account.controller is not None
    assert account.controller.liable
    assert account.liable
    assert account.controller.platform_pays_fees
    assert not account.payouts.debit_negative_balances  # the platform collects its requirements
    standard = room.run(
        accounts.create, room.actor(), accounts.CreateAccount(type="standard"), settings=room.runtime.settings
    ).account
    assert not standard.liable
    assert standard.payouts.debit_negative_balances


def test_controller_rules_and_who_may_create(room: Room) -> None:
    settings = room.runtime.settings
    both = accounts.CreateAccount(type="express", controller=ControllerRequest(dashboard="none"))
    with pytest.raises(InvalidRequest):
        room.run(accounts.create, room.actor(), both, settings=settings)
    account = room.custom()
    with pytest.raises(PermissionDenied):
        room.run(
            accounts.create, room.actor(account.id), accounts.CreateAccount(type="custom"), settings=settings
        )
    with pytest.raises(PermissionDenied):  # the platform collects a custom account's requirements
        room.run(
            accounts.update, room.actor(account.id), accounts.UpdateAccount(account.id, AccountChanges())
        )


def test_a_schedule_update_is_stored_as_the_record_says(room: Room) -> None:
    account = room.custom()
    changes = AccountChanges(
        payouts=PayoutChanges(schedule={"interval": "weekly", "weekly_anchor": "friday"})
    )
    view = room.run(accounts.update, room.actor(), accounts.UpdateAccount(account.id, changes))
    assert view.account.schedule.interval is Interval.WEEKLY
    assert view.account.schedule.weekly_anchor is Weekday.FRIDAY
    stored = room.run(store_accounts.get, account.id)
    assert stored == view.account
    listed = room.run(accounts.list_accounts, room.actor(), Window(limit=10))
    assert [v.account.id for v in listed.items] == [account.id]


def test_external_accounts_keep_one_default_per_currency(room: Room) -> None:
    account, actor = room.custom(), room.actor()
    first = room.run(
        external_accounts.create, actor, external_accounts.CreateExternalAccount(account.id, "btok_us")
    )
    failing = room.run(
        external_accounts.create,
        actor,
        external_accounts.CreateExternalAccount(
            account.id,
            BankAccountGiven("000111111116", "US", routing_number="110000000"),
            default_for_currency=True,
        ),
    )
    assert failing.default_for_currency
    assert failing.bank is not None
    assert room.run(store_external_accounts.outcome, failing.id).failure_code == "no_account"
    assert not room.run(store_external_accounts.outcome, first.id).fails
    assert room.run(store_external_accounts.get, first.id).default_for_currency is False  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest):
        room.run(external_accounts.delete, actor, account.id, failing.id)
    room.run(external_accounts.delete, actor, account.id, first.id)
    with pytest.raises(ResourceMissing):
        room.run(external_accounts.retrieve, actor, account.id, first.id)


def test_a_payer_is_read_in_one_statement_as_the_two_reads_give_it(room: Room) -> None:
    """`store/payers.payer`: the account and its external accounts of the mode with their outcomes, in
    one statement, equal to `store/accounts.get` and `store/external_accounts.with_outcomes`."""
    account, actor = room.custom(), room.actor()
    for source in ("btok_us", "tok_visa_debit"):
        room.run(external_accounts.create, actor, external_accounts.CreateExternalAccount(account.id, source))
    failing = BankAccountGiven("000111111116", "US", routing_number="110000000")
    room.run(external_accounts.create, actor, external_accounts.CreateExternalAccount(account.id, failing))
    statements: list[str] = []
    engine = room.runtime.db.engine

    def listen(*args: Any) -> None:
        statements.append(args[2])

    for who, livemode, count in ((account.id, False, 3), (room.platform, False, 0), (account.id, True, 0)):
        statements.clear()
        event.listen(engine, "before_cursor_execute", listen)
        try:
            found, destinations = room.run(store_payers.payer, who, livemode)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
        assert found == room.run(store_accounts.get, who)
        assert destinations == room.run(store_external_accounts.with_outcomes, who, livemode)
        assert len(destinations) == count
    [failed] = [o for _, o in room.run(store_payers.payer, account.id, False)[1] if o.fails]
    assert failed.failure_code == "no_account"
    assert room.run(store_payers.payer, "acct_unknown000000000000", False) == (None, [])
    assert room.run(store_payers.payer, "sys_world_00", False) == (None, [])


def test_a_rotated_key_is_no_longer_active(room: Room) -> None:
    assert room.run(store_keys.active, key_digest(SECRET_KEY)) is not None
    new = room.run(rotate_secret_key, room.platform, False, CLOCK_START)
    assert room.run(store_keys.active, key_digest(SECRET_KEY)) is None
    owner = room.run(store_keys.active, key_digest(new))
    assert owner is not None
    assert (owner.account_id, owner.livemode, owner.kind) == (
        room.platform,
        False,
        "secret",
    )
