"""Accounts and external accounts as use cases: called with an actor in a unit of work, no HTTP, on both
stores. What a platform relies on: the controller each kind of account gets (who is liable, who pays
fees, who collects requirements), its payout schedule and the refusals of a bad one, who may create and
update accounts, how lists are windowed, and where payouts go (the default external account per
currency)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ledger.errors import InvalidSchedule
from payoutkit.ledger.schedule import Interval, Schedule, Weekday
from payoutkit.lists import Window, window
from payoutkit.records.accounts import Account, Controller
from payoutkit.runtime import Runtime
from payoutkit.services import accounts, events, external_accounts
from payoutkit.services.account_rules import AccountChanges, ControllerRequest, PayoutChanges
from payoutkit.services.actor import Actor
from payoutkit.services.external_accounts import CreateExternalAccount, UpdateExternalAccount

SCHEDULE = "settings[payouts][schedule]"
# Each way to ask for a connected account, and the controller it gets:
# (type, fees payer, losses.payments, requirement collection, dashboard).
KINDS = {
    "standard": (
        accounts.CreateAccount(type="standard"),
        Controller("account", "account", "stripe", "stripe", "full"),
    ),
    "express": (
        accounts.CreateAccount(type="express"),
        Controller("application", "application_express", "application", "stripe", "express"),
    ),
    "custom": (
        accounts.CreateAccount(type="custom"),
        Controller("application", "application_custom", "application", "application", "none"),
    ),
    "controller": (
        accounts.CreateAccount(controller=ControllerRequest(dashboard="none")),
        Controller("application", "application", "application", "application", "none"),
    ),
}


def _create(runtime: Runtime, actor: Actor, command: accounts.CreateAccount) -> Account:
    made = runtime.db.transaction(accounts.create, actor, command, settings=runtime.settings)
    return made.account


def _as(account: Account, platform: Actor) -> Actor:
    """The connected account acting as itself (`Stripe-Account`)."""
    return replace(platform, account_id=account.id)


def _live_ids(runtime: Runtime, platform: Actor) -> list[str]:
    live = replace(platform, livemode=True)
    return [v.account.id for v in runtime.db.transaction(accounts.list_accounts, live, Window()).items]


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_connected_account_gets_its_controller(
    runtime: Runtime, platform: Actor, kind: str
) -> None:
    command, controller = KINDS[kind]
    account = _create(runtime, platform, command)

    assert account.id.startswith("acct_")
    assert (account.kind, account.platform_id, account.livemode) == ("connected", platform.platform_id, False)
    assert account.type == (command.type or "none")
    assert account.controller == controller
    assert (account.country, account.default_currency) == ("US", "usd")
    # The platform is liable for losses and pays fees of every kind but standard.
    assert account.liable is (kind != "standard")
    assert account.controller.platform_pays_fees is (kind != "standard")
    assert account.schedule == Schedule(Interval.DAILY, 2)
    # A negative balance is debited from the bank account only where Stripe collects requirements.
    assert account.payouts.debit_negative_balances is (controller.requirement_collection == "stripe")

    # The account sees itself as its platform does.
    itself = runtime.db.transaction(accounts.retrieve, _as(account, platform), account.id)
    assert itself.account == account
    assert itself.external_accounts == ()


@pytest.mark.parametrize(
    ("command", "param"),
    [
        (accounts.CreateAccount(), "type"),
        (accounts.CreateAccount(type="custom", controller=ControllerRequest()), "controller"),
        (
            accounts.CreateAccount(
                controller=ControllerRequest(requirement_collection="application", dashboard="express")
            ),
            "controller[stripe_dashboard][type]",
        ),
        (
            accounts.CreateAccount(controller=ControllerRequest(fees_payer="application", dashboard="full")),
            "controller[fees][payer]",
        ),
        (accounts.CreateAccount(type="custom", country="ZZ"), "country"),
    ],
)
def test_an_impossible_account_is_refused_and_none_is_made(
    runtime: Runtime, platform: Actor, command: accounts.CreateAccount, param: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        _create(runtime, platform, command)
    assert refused.value.param == param
    assert runtime.db.transaction(accounts.list_accounts, platform, Window()).items == []


def test_only_the_platform_creates_and_lists_accounts(runtime: Runtime, platform: Actor) -> None:
    account = _create(runtime, platform, accounts.CreateAccount(type="standard"))
    connected = _as(account, platform)
    with pytest.raises(PermissionDenied):
        _create(runtime, connected, accounts.CreateAccount(type="custom"))
    with pytest.raises(PermissionDenied):
        runtime.db.transaction(accounts.list_accounts, connected, Window())
    listed = runtime.db.transaction(accounts.list_accounts, platform, Window())
    assert [v.account.id for v in listed.items] == [account.id]  # the refused creation made nothing
    # Another account is out of reach of a connected account: it is missing, not forbidden.
    other = _create(runtime, platform, accounts.CreateAccount(type="custom"))
    with pytest.raises(ResourceMissing) as missing:
        runtime.db.transaction(accounts.retrieve, connected, other.id)
    assert missing.value.param == "account"


def test_a_payout_schedule_update_is_kept_and_announced(runtime: Runtime, platform: Actor) -> None:
    account = _create(runtime, platform, accounts.CreateAccount(type="express"))
    weekly = {"interval": "weekly", "weekly_anchor": "friday", "delay_days": 7}
    changes = AccountChanges(payouts=PayoutChanges(schedule=weekly, statement_descriptor="ACME"))
    updated = runtime.db.transaction(accounts.update, platform, accounts.UpdateAccount(account.id, changes))

    expected = Schedule(Interval.WEEKLY, 7, weekly_anchor=Weekday.FRIDAY)
    assert updated.account.schedule == expected
    assert updated.account.payouts.statement_descriptor == "ACME"
    again = runtime.db.transaction(accounts.retrieve, platform, account.id)
    assert again.account.schedule == expected

    # The connected account is told, with what the schedule was before.
    query = events.EventQuery(Window(), type="account.updated")
    [event] = runtime.db.transaction(events.list_events, _as(account, platform), query).items
    assert event.account == account.id
    assert event.object["settings"]["payouts"]["schedule"]["interval"] == "weekly"
    assert event.previous_attributes is not None
    assert event.previous_attributes["settings"]["payouts"]["schedule"]["interval"] == "daily"


@pytest.mark.parametrize(
    ("schedule", "param"),
    [
        ({"interval": "yearly"}, f"{SCHEDULE}[interval]"),
        ({"interval": "daily", "weekly_anchor": "monday"}, f"{SCHEDULE}[weekly_anchor]"),
        ({"interval": "monthly", "monthly_anchor": "32"}, f"{SCHEDULE}[monthly_anchor]"),
        ({"delay_days": "1"}, f"{SCHEDULE}[delay_days]"),
    ],
)
def test_a_refused_schedule_names_its_param_and_changes_nothing(
    runtime: Runtime, platform: Actor, schedule: dict[str, str], param: str
) -> None:
    account = _create(runtime, platform, accounts.CreateAccount(type="custom"))
    command = accounts.UpdateAccount(account.id, AccountChanges(payouts=PayoutChanges(schedule=schedule)))
    with pytest.raises(InvalidSchedule) as refused:
        runtime.db.transaction(accounts.update, platform, command)
    assert refused.value.param == param
    assert runtime.db.transaction(accounts.retrieve, platform, account.id).account == account


def test_who_may_update_a_connected_account(runtime: Runtime, platform: Actor) -> None:
    manual = AccountChanges(payouts=PayoutChanges(schedule={"interval": "manual"}))
    # A custom account's requirements are the platform's to collect: it cannot change itself.
    custom = _create(runtime, platform, accounts.CreateAccount(type="custom"))
    with pytest.raises(PermissionDenied):
        runtime.db.transaction(
            accounts.update, _as(custom, platform), accounts.UpdateAccount(custom.id, manual)
        )
    # A standard account can.
    standard = _create(runtime, platform, accounts.CreateAccount(type="standard"))
    command = accounts.UpdateAccount(standard.id, manual)
    updated = runtime.db.transaction(accounts.update, _as(standard, platform), command)
    assert updated.account.schedule.interval is Interval.MANUAL


def test_accounts_are_listed_newest_first_through_a_window(runtime: Runtime, platform: Actor) -> None:
    made = [
        _create(runtime, platform.at(platform.now + i), accounts.CreateAccount(type="custom")).id
        for i in range(3)
    ]
    newest_first = made[::-1]

    def ids(w: Window) -> tuple[list[str], bool]:
        page = runtime.db.transaction(accounts.list_accounts, platform, w)
        return [v.account.id for v in page.items], page.has_more

    assert ids(window(limit=2)) == (newest_first[:2], True)
    assert ids(window(limit=2, starting_after=newest_first[1])) == (newest_first[2:], False)
    assert ids(window(limit=1, ending_before=newest_first[1])) == (newest_first[:1], False)
    # Test-mode accounts are not the live mode's.
    assert ids(window()) == (newest_first, False)
    assert _live_ids(runtime, platform) == []
    with pytest.raises(InvalidRequest) as refused:
        window(limit=0)
    assert (refused.value.param, refused.value.code) == ("limit", "parameter_invalid_integer")


def test_a_bank_account_by_test_token_is_the_default_of_its_currency(
    runtime: Runtime, platform: Actor
) -> None:
    account = _create(runtime, platform, accounts.CreateAccount(type="custom"))

    def add(source: str, default: bool | None = None) -> str:
        command = CreateExternalAccount(account.id, source, default_for_currency=default)
        ea = runtime.db.transaction(external_accounts.create, platform, command)
        return ea.id

    def default_of() -> dict[str, bool]:
        view = runtime.db.transaction(accounts.retrieve, platform, account.id)
        return {ea.id: ea.default_for_currency for ea in view.external_accounts}

    first = add("btok_us_verified")
    ea = runtime.db.transaction(external_accounts.retrieve, platform, account.id, first)
    assert (ea.object, ea.account, ea.currency, ea.country, ea.last4) == (
        "bank_account",
        account.id,
        "usd",
        "US",
        "6789",
    )
    assert (ea.status, ea.default_for_currency) == ("new", True)  # the first of its currency
    assert ea.bank is not None
    assert ea.bank.routing_number == "110000000"
    assert ea.available_payout_methods == ("standard", "instant")

    second = add("btok_us_verified_noAccount")
    assert default_of() == {first: True, second: False}
    third = add("btok_us_verified_insufficientFunds", default=True)
    assert default_of() == {first: False, second: False, third: True}  # one default per currency
    unset = UpdateExternalAccount(account.id, third, default_for_currency=False)
    with pytest.raises(InvalidRequest) as refused:
        runtime.db.transaction(external_accounts.update, platform, unset)
    assert refused.value.param == "default_for_currency"


def test_deleting_external_accounts_keeps_a_default(runtime: Runtime, platform: Actor) -> None:
    account = _create(runtime, platform, accounts.CreateAccount(type="custom"))
    connected = _as(account, platform)

    def add(source: str) -> str:
        command = CreateExternalAccount(account.id, source)
        return runtime.db.transaction(external_accounts.create, connected, command).id

    default, other = add("btok_us_verified"), add("tok_visa_debit")
    listed = runtime.db.transaction(
        external_accounts.list_external_accounts, platform, account.id, "card", Window()
    )
    assert [ea.id for ea in listed.items] == [other]
    with pytest.raises(InvalidRequest) as refused:  # the default, while another of usd is left
        runtime.db.transaction(external_accounts.delete, connected, account.id, default)
    assert refused.value.param == "id"

    gone = runtime.db.transaction(external_accounts.delete, connected, account.id, other)
    assert gone.id == other
    with pytest.raises(ResourceMissing):
        runtime.db.transaction(external_accounts.retrieve, platform, account.id, other)
    runtime.db.transaction(external_accounts.delete, connected, account.id, default)  # now the last
    assert runtime.db.transaction(accounts.retrieve, platform, account.id).external_accounts == ()


def test_test_tokens_are_refused_in_live_mode(runtime: Runtime, platform: Actor) -> None:
    live = replace(platform, livemode=True)
    account = _create(runtime, live, accounts.CreateAccount(type="custom"))
    command = CreateExternalAccount(account.id, "btok_us_verified")
    with pytest.raises(InvalidRequest) as refused:
        runtime.db.transaction(external_accounts.create, live, command)
    assert (refused.value.param, refused.value.code) == ("external_account", "resource_missing")
    # A test-mode actor does not reach a live account.
    with pytest.raises(ResourceMissing):
        runtime.db.transaction(external_accounts.create, platform, command)
