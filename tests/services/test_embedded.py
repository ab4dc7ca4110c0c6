"""The embedded API's use cases, called with an account session's scoped actor (no HTTP), on both stores.

A session's actor is the connected account acting as itself, with a `Scope` of that account and the
session's enabled components and features. The stories: what the balance summary shows (available,
pending by date, in transit, why each payout method is or is not allowed); a preview that writes
nothing and whose fee the created payout then has; a payout made here being the payout `POST
/v1/payouts` makes; the payouts list and a payout's details (status history, settled transactions);
the schedule edit through the account update; and every refusal of the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest

from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ledger.errors import InsufficientFunds
from payoutkit.ledger.schedule import Interval, Schedule, Weekday
from payoutkit.lists import Window
from payoutkit.records.accounts import Account
from payoutkit.runtime import Runtime
from payoutkit.services import (
    accounts,
    balance,
    charges,
    embedded,
    embedded_balance,
    embedded_payouts,
    external_accounts,
    instant,
    payout_automatic,
    payout_create,
    payout_lifecycle,
    transfers,
)
from payoutkit.services.account_rules import AccountChanges, ControllerRequest, PayoutChanges
from payoutkit.services.actor import Actor, Moment, Scope
from payoutkit.services.new_charges import ChargeCommand, ChargeTransfer
from payoutkit.services.rail import SIMULATED
from payoutkit.store import Tx
from payoutkit.store import events as store_events

ALL = frozenset(
    {"balances", "payouts", "payouts_list", "payout_details"}
    | {f"{c}.{f}" for c in ("balances", "payouts") for f in embedded.PAYOUT_FEATURES}
)
# A connected account that pays its own fees (no platform pricing needed for instant payouts).
PAYS_OWN_FEES = {"fees_payer": "account", "losses_payments": "stripe", "dashboard": "full"}


@dataclass
class World:
    runtime: Runtime
    platform: Actor

    def run(self, fn: Any, actor: Actor, *args: Any, **kwargs: Any) -> Any:
        return self.runtime.db.transaction(fn, actor, *args, **kwargs)

    def read(self, fn: Any, actor: Actor, *args: Any, **kwargs: Any) -> Any:
        return self.runtime.db.read_transaction(fn, actor, *args, **kwargs)

    def account(
        self,
        *,
        manual: bool = True,
        own_fees: bool = False,
        fund: int = 5000,
        sources: tuple[str, ...] = ("btok_us_verified", "tok_visa_debit"),
    ) -> Account:
        """A connected account with a US bank account and a debit card, funded by a transfer."""
        interval = "manual" if manual else "daily"
        command = accounts.CreateAccount(
            type=None if own_fees else "custom",
            controller=ControllerRequest(**PAYS_OWN_FEES) if own_fees else None,
            changes=AccountChanges(payouts=PayoutChanges(schedule={"interval": interval})),
        )
        made = self.run(accounts.create, self.platform, command, settings=self.runtime.settings).account
        for source in sources:
            self.run(
                external_accounts.create,
                self.platform,
                external_accounts.CreateExternalAccount(made.id, source),
            )
        if fund:
            self.fund(made.id, fund)
        return made

    def fund(self, account_id: str, amount: int) -> None:
        charge = ChargeCommand(amount=amount * 2, currency="usd", source="tok_bypassPending")
        self.run(charges.create, self.platform, charge, pricing=self.runtime.settings.pricing)
        self.run(
            transfers.create,
            self.platform,
            transfers.NewTransfer(amount=amount, currency="usd", destination=account_id),
        )

    def session(self, account: Account, features: frozenset[str] = ALL, **moment: Any) -> Actor:
        """The account session's actor: the account acting as itself, scoped to it and its features."""
        return replace(
            self.platform,
            account_id=account.id,
            scope=Scope(account=account.id, features=features),
            request_id="req_embedded",
            idempotency_key=None,
            **moment,
        )

    def summary(
        self, actor: Actor, component: str | None = None, **settings: Any
    ) -> embedded_balance.CurrencyBalance:
        given = replace(self.runtime.settings, **settings)
        found = self.read(embedded_balance.read_summary, actor, component, given)
        assert next(c.currency for c in found.currencies) == "usd"
        usd: embedded_balance.CurrencyBalance = found.currencies[0]
        return usd

    def pay(
        self, actor: Actor, request: embedded_payouts.PayoutRequest, key: str = "k1"
    ) -> embedded_payouts.PayoutView:
        keyed = replace(actor, idempotency_key=key)
        made: embedded_payouts.PayoutView = self.run(
            embedded_payouts.create, keyed, request, settings=self.runtime.settings, rail=SIMULATED
        )
        return made

    def preview(
        self, actor: Actor, request: embedded_payouts.PayoutRequest
    ) -> embedded_payouts.PayoutPreview:
        found: embedded_payouts.PayoutPreview = self.read(
            embedded_payouts.preview, actor, request, settings=self.runtime.settings, rail=SIMULATED
        )
        return found

    def set_pricing(self, percent: str = "1.5", minimum: int = 50) -> None:
        change = instant.SetPricing({"usd": instant.PriceChange(Decimal(percent), minimum)})
        self.run(instant.update_pricing, self.platform, change, self.runtime.settings)


@pytest.fixture
def world(runtime: Runtime, platform: Actor) -> World:
    return World(runtime, replace(platform, request_id="req_platform"))


def _request(amount: int, method: str = "standard", **kw: Any) -> embedded_payouts.PayoutRequest:
    return embedded_payouts.PayoutRequest(amount=amount, currency="usd", method=method, **kw)


# ---- the balance summary -------------------------------------------------------------------------


def test_the_summary_shows_available_pending_by_date_and_in_transit(world: World, ledger_ok: Any) -> None:
    account = world.account(manual=True, fund=5000)
    # A destination charge pays the account, pending until its available_on.
    charge = ChargeCommand(
        amount=3000, currency="usd", source="tok_visa", transfer_data=ChargeTransfer(account.id)
    )
    world.run(charges.create, world.platform, charge, pricing=world.runtime.settings.pricing)
    actor = world.session(account)
    world.pay(actor, _request(1200))

    usd = world.summary(actor)
    bal = world.read(balance.read_balance, actor)
    assert (usd.available, usd.pending) == (bal.available[0].amount, bal.pending[0].amount)
    assert usd.available == 5000 - 1200
    assert usd.pending == 3000
    assert usd.in_transit == 1200
    assert usd.total == 3800 + 3000 + 1200
    [on] = usd.pending_by_date
    assert on.amount == 3000
    assert on.available_on > actor.now
    assert usd.standard == embedded_balance.Allowed(True, max_amount=3800)
    # The platform pays this custom account's fees and has no instant pricing.
    assert (usd.instant.allowed, usd.instant.reason) == (False, "no_pricing")
    assert usd.instant_available == 0

    # Once the pending funds are due, they show as available and leave pending_by_date.
    later = world.summary(replace(actor, now=on.available_on))
    assert (later.available, later.pending, later.pending_by_date) == (3800 + 3000, 0, ())
    ledger_ok()


def test_each_reason_a_method_is_not_allowed(world: World) -> None:
    daily = world.account(manual=False)
    usd = world.summary(world.session(daily))
    assert (usd.standard.allowed, usd.standard.reason) == (False, "not_manual")

    own = world.account(own_fees=True)
    usd = world.summary(world.session(own))
    assert usd.instant == embedded_balance.Allowed(True, max_amount=usd.instant.max_amount)
    assert usd.instant_available == 5000
    # 1 % with a 50 minimum: the largest payout whose amount and fee fit in 5000 is 4950.
    assert usd.instant.max_amount == 4950

    off = world.session(own, frozenset({"balances"}))
    usd = world.summary(off)
    assert (usd.standard.reason, usd.instant.reason) == ("not_enabled", "not_enabled")

    assert world.summary(world.session(own), instant_daily_limits={"*": 0}).instant.reason == "limit_reached"

    world.set_pricing()
    custom = world.account()
    assert world.summary(world.session(custom)).instant.allowed

    empty = world.account(own_fees=True, fund=0)
    usd = world.summary(world.session(empty))
    assert (usd.standard.reason, usd.instant.reason) == ("no_funds", "no_funds")


def test_no_instant_destination_and_the_component_whose_features_count(world: World) -> None:
    account = world.account(own_fees=True, sources=("tok_visa_debit_us_instantPayoutUnsupported",))
    usd = world.summary(world.session(account))
    assert (usd.instant.reason, usd.instant_available) == ("no_instant_destination", None)

    # Features of `payouts` only: the balances component's features are off, the payouts' are on.
    only_payouts = frozenset({"balances", "payouts", "payouts.standard_payouts"})
    actor = world.session(account, only_payouts)
    assert world.summary(actor).standard.reason == "not_enabled"
    assert world.summary(actor, "payouts").standard.allowed
    # No component named: balances when enabled, else payouts.
    assert world.summary(
        world.session(account, frozenset({"payouts", "payouts.standard_payouts"}))
    ).standard.allowed
    with pytest.raises(PermissionDenied, match="balances"):
        world.summary(world.session(account, frozenset({"payouts_list"})))
    with pytest.raises(InvalidRequest) as bad:
        world.summary(actor, "payouts_list")
    assert bad.value.param == "component"


# ---- previews and payouts ------------------------------------------------------------------------


def test_an_instant_payout_has_the_previewed_fee_and_is_the_v1_payout(world: World, ledger_ok: Any) -> None:
    account = world.account(own_fees=True)
    actor = world.session(account)
    before = world.summary(actor)
    seen = world.preview(actor, _request(2000, "instant"))
    assert (seen.amount, seen.fee, seen.net, seen.total, seen.method) == (2000, 50, 2000, 2050, "instant")
    assert seen.destination.object == "bank_account"
    assert seen.arrival_date - actor.now <= 30 * 60
    assert world.summary(actor) == before  # nothing written

    made = world.pay(actor, _request(2000, "instant"))
    assert (made.fee, made.net, made.total, made.destination) == (50, 2000, 2050, seen.destination)
    po = made.payout
    assert (po.amount, po.method, po.arrival_date) == (2000, "instant", seen.arrival_date)
    # The same record the v1 use case reads, with its ledger entry and its event.
    assert world.read(embedded_payouts.payouts.retrieve, actor, po.id) == po
    txn = world.read(balance.retrieve_transaction, actor, po.balance_transaction)
    assert (txn.amount, txn.fee, txn.net) == (-2000, 50, -2050)
    events = world.read(_payout_events, actor, po)
    assert [(e.type, e.request_id, e.idempotency_key) for e in events] == [
        ("payout.created", "req_embedded", "k1")
    ]
    assert world.summary(actor).available == before.available - 2050
    ledger_ok()


def _payout_events(tx: Tx, actor: Actor, po: Any) -> list[Any]:
    scope = store_events.Scope(actor.platform_id, actor.account_id, actor.livemode, po.created)
    return store_events.payout_events(tx, scope, po.id)


def test_a_preview_refuses_as_the_create_would(world: World) -> None:
    daily = world.session(world.account(manual=False))
    for fn in (world.preview, world.pay):
        with pytest.raises(InvalidRequest) as refused:
            fn(daily, _request(100))
        assert (refused.value.code, refused.value.param) == ("payouts_not_allowed", "method")
    manual = world.session(world.account())
    with pytest.raises(InsufficientFunds):
        world.preview(manual, _request(5001))
    with pytest.raises(InvalidRequest) as pricing:
        world.preview(manual, _request(100, "instant"))
    assert pricing.value.code == "instant_payouts_config_disabled"
    assert world.preview(manual, _request(5000)).fee == 0


def test_a_payout_needs_its_methods_feature_and_an_idempotency_key(world: World) -> None:
    account = world.account(own_fees=True)
    no_instant = world.session(account, ALL - {"balances.instant_payouts"})
    with pytest.raises(PermissionDenied, match=r"balances\.instant_payouts"):
        world.preview(no_instant, _request(100, "instant"))
    with pytest.raises(PermissionDenied, match=r"balances\.instant_payouts"):
        world.pay(no_instant, _request(100, "instant"))
    # The payouts component's feature counts when the request names it.
    assert world.pay(no_instant, _request(100, "instant", component="payouts")).payout.method == "instant"
    with pytest.raises(PermissionDenied, match="the balances component"):
        world.pay(world.session(account, frozenset({"payouts_list"})), _request(100))
    with pytest.raises(InvalidRequest) as unkeyed:
        world.run(
            embedded_payouts.create,
            world.session(account),
            _request(100),
            settings=world.runtime.settings,
            rail=SIMULATED,
        )
    assert unkeyed.value.param == "Idempotency-Key"


# ---- the list and the details --------------------------------------------------------------------


def test_the_list_pages_and_the_details_show_history_and_transactions(world: World, ledger_ok: Any) -> None:
    account = world.account(own_fees=True)
    actor = world.session(account)
    made = [world.pay(actor, _request(100 + i, "instant"), key=f"k{i}") for i in range(3)]
    first = world.read(embedded_payouts.list_payouts, actor, Window(limit=2))
    assert [v.payout.id for v in first.items] == [made[2].payout.id, made[1].payout.id]
    assert first.has_more
    rest = world.read(embedded_payouts.list_payouts, actor, Window(limit=2, starting_after=made[1].payout.id))
    assert [v.payout.id for v in rest.items] == [made[0].payout.id]
    assert not rest.has_more
    assert first.items[0] == made[2]

    po = made[0].payout
    world.run(payout_lifecycle.advance, Moment.job(False, po.created + 3600), SIMULATED, po.id)
    details = world.read(embedded_payouts.retrieve, actor, po.id)
    assert [h.status for h in details.history] == ["pending", "in_transit", "paid"]
    assert details.history[0].at == po.created
    assert [t.id for t in details.transactions] == [po.balance_transaction]
    assert details.view.payout.status.value == "paid"
    assert not details.more_transactions

    list_only = world.session(account, frozenset({"payouts_list"}))
    assert world.read(embedded_payouts.retrieve, list_only, po.id).view.payout.id == po.id
    with pytest.raises(PermissionDenied):
        world.read(
            embedded_payouts.list_payouts, world.session(account, frozenset({"payout_details"})), Window()
        )
    with pytest.raises(PermissionDenied):
        world.read(embedded_payouts.retrieve, world.session(account, frozenset({"balances"})), po.id)
    ledger_ok()


def test_an_automatic_payouts_details_list_what_it_swept(world: World) -> None:
    account = world.account(manual=False, own_fees=True)
    actor = world.session(account)
    later = actor.now + 3 * 86_400
    world.runtime.db.transaction(
        payout_automatic.run_account, Moment.job(False, later), SIMULATED, account.id
    )
    [auto] = world.read(embedded_payouts.list_payouts, replace(actor, now=later), Window()).items
    assert auto.payout.automatic
    assert auto.fee == 0
    details = world.read(embedded_payouts.retrieve, replace(actor, now=later), auto.payout.id)
    types = sorted(t.type for t in details.transactions)
    assert types == ["payment", "payout"]
    assert sum(t.net for t in details.transactions) == 0


def test_another_accounts_or_modes_payout_is_missing(world: World) -> None:
    one, other = world.account(own_fees=True), world.account(own_fees=True)
    po = world.pay(world.session(one), _request(100, "instant")).payout
    with pytest.raises(ResourceMissing):
        world.read(embedded_payouts.retrieve, world.session(other), po.id)
    with pytest.raises(ResourceMissing):
        world.read(embedded_payouts.retrieve, world.session(one, livemode=True), po.id)
    assert world.read(embedded_payouts.list_payouts, world.session(one, livemode=True), Window()).items == []


# ---- the account and its schedule ----------------------------------------------------------------


def test_the_account_shows_components_schedule_and_destinations(world: World) -> None:
    account = world.account()
    actor = world.session(account, frozenset({"payouts_list"}))
    shown = world.read(embedded.account, actor)
    assert (shown.id, shown.country, shown.default_currency, shown.livemode) == (
        account.id,
        "US",
        "usd",
        False,
    )
    assert shown.schedule == Schedule(Interval.MANUAL, 2)
    assert shown.components["payouts_list"] == embedded.ComponentAccess(True, {})
    assert shown.components["balances"].enabled is False
    assert not any(shown.components["balances"].features.values())
    kinds = sorted((d.object, d.methods) for d in shown.destinations)
    assert kinds == [("bank_account", ("standard", "instant")), ("card", ("standard", "instant"))]
    with pytest.raises(PermissionDenied):
        world.read(embedded.account, world.session(account, frozenset()))


def test_the_schedule_is_edited_by_the_account_update(world: World) -> None:
    account = world.account()  # custom: the platform collects its requirements
    actor = world.session(account)
    weekly = embedded.SetSchedule(interval="weekly", weekly_anchor="friday", delay_days=3)
    assert world.run(embedded.set_schedule, actor, weekly) == Schedule(Interval.WEEKLY, 3, Weekday.FRIDAY)
    assert (
        world.read(accounts.retrieve, world.platform, account.id).account.schedule.weekly_anchor
        is Weekday.FRIDAY
    )

    with pytest.raises(InvalidRequest) as bad:
        world.run(
            embedded.set_schedule, actor, embedded.SetSchedule(interval="daily", weekly_anchor="friday")
        )
    assert bad.value.param == "weekly_anchor"
    with pytest.raises(InvalidRequest) as bad:
        world.run(embedded.set_schedule, actor, embedded.SetSchedule(interval="hourly"))
    assert bad.value.param == "interval"

    no_edit = world.session(account, ALL - {"balances.edit_payout_schedule"})
    with pytest.raises(PermissionDenied, match="edit_payout_schedule"):
        world.run(embedded.set_schedule, no_edit, embedded.SetSchedule(interval="manual"))
    # The session's grant covers the schedule alone: any other change is still the platform's.
    changes = AccountChanges(email="x@example.com")
    with pytest.raises(PermissionDenied):
        world.run(accounts.update, actor, accounts.UpdateAccount(account.id, changes))


def test_a_preview_and_the_create_share_one_check(world: World) -> None:
    account = world.account(own_fees=True)
    actor = world.session(account)
    command = payout_create.CreatePayout(amount=300, currency="usd", method="instant")
    checked = world.read(payout_create.check, actor, command, world.runtime.settings)
    assert checked.order.fees.charged_to_account() == world.preview(actor, _request(300, "instant")).fee == 50


def test_a_failed_payouts_details_show_its_failure_and_the_funds_returned(
    world: World, ledger_ok: Any
) -> None:
    account = world.account(own_fees=True, sources=("tok_visa_debit_us_transferFail",))
    actor = world.session(account)
    po = world.pay(actor, _request(1000, "instant")).payout
    world.run(payout_lifecycle.advance, Moment.job(False, po.created + 86_400), SIMULATED, po.id)
    details = world.read(embedded_payouts.retrieve, replace(actor, now=po.created + 86_400), po.id)
    assert details.view.payout.status.value == "failed"
    assert details.history[-1].status == "failed"
    assert details.view.payout.failure_code == "could_not_process"
    assert sorted(t.type for t in details.transactions) == ["payout", "payout_failure", "stripe_fee"]
    # The failure returned the amount and the fee: the balance is whole again.
    assert sum(t.net for t in details.transactions) == 0
    assert world.summary(replace(actor, now=po.created + 86_400)).available == 5000
    ledger_ok()


# ---- the Balance's instant_available: the same figures as the terms give -------------------------


def _both(
    world: World, actor: Actor, **given: Any
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """(currency, amount, net) per currency: as `GET /v1/balance` shows them, and from the terms."""
    settings = replace(world.runtime.settings, **given)
    shown = world.read(balance.retrieve, actor, settings).instant_available
    found = world.read(balance.read_balance, actor)
    termed = world.read(instant.available_instantly, actor, settings, list(found.buckets))
    return [(a.currency, a.amount, a.net) for a in shown], [(a.currency, a.amount, a.net) for a in termed]


def test_the_balance_shows_the_instant_figures_the_terms_give(world: World) -> None:
    """`balance.retrieve` reads the pricing and volume only when they can change the figures
    (services/instant.balance_instantly): the figures are those of `available_instantly` throughout."""
    custom = world.session(world.account())  # the platform pays its fees: no pricing, refused
    own = world.session(world.account(own_fees=True))
    empty = world.session(world.account(own_fees=True, fund=0))
    seen = {}
    for name, actor in (("custom", custom), ("own", own), ("empty", empty), ("platform", world.platform)):
        shown, termed = _both(world, actor)
        assert shown == termed, name
        seen[name] = shown
    assert seen["custom"] == [("usd", 0, 0)]
    assert seen["own"] == [("usd", 5000, 4950)]
    assert seen["empty"] == [("usd", 0, 0)]
    world.set_pricing()
    shown, termed = _both(world, custom)
    assert shown == termed == [("usd", 5000, 4926)]
    # Today's instant volume counts against the daily limit: 1000 paid of a 3000 limit leaves 2000.
    world.pay(own, _request(1000, method="instant"))
    for actor in (own, custom):
        shown, termed = _both(world, actor, instant_daily_limits={"*": 3000})
        assert shown == termed
    shown, _ = _both(world, own, instant_daily_limits={"*": 3000})
    assert [(c, a) for c, a, _ in shown] == [("usd", 2000)]
