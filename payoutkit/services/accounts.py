"""Accounts: the platform and its connected accounts, with controller properties and payout settings.

A connected account is created by its platform in one mode (test or live) and lives in that mode only.
Its `controller` decides who is liable for negative balances (`losses.payments`), who pays fees
(`fees.payer`) and the defaults of its payout settings, as Stripe's does (services/account_rules.py).
An account is visible to itself and to its platform (in its mode); the platform's own account is one in
both modes, its external accounts are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from payoutkit.config import Settings
from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.lists import Page, Window
from payoutkit.records.accounts import Account, stripe_object
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services.account_rules import (
    AccountChanges,
    ControllerRequest,
    NewAccount,
    PayoutChanges,
    apply_changes,
    check_country,
    new_account,
    resolve_controller,
)
from payoutkit.services.actor import Actor
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.payout_runs import set_next_run
from payoutkit.services.policy import require_platform, session_grants
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts
from payoutkit.store import external_accounts as store_external_accounts


@dataclass(frozen=True)
class AccountView:
    """An account as the actor's mode reads it: with its external accounts of that mode (newest first)."""

    account: Account
    external_accounts: tuple[ExternalAccount, ...]

    def stripe_object(self) -> dict[str, Any]:
        return stripe_object(self.account, self.external_accounts)


@dataclass(frozen=True)
class CreateAccount:
    type: str | None = None  # standard | express | custom: a preset of the controller
    country: str | None = None
    controller: ControllerRequest | None = None
    changes: AccountChanges = field(default_factory=AccountChanges)


@dataclass(frozen=True)
class UpdateAccount:
    account_id: str
    changes: AccountChanges


def announce(
    tx: Tx,
    actor: Actor,
    type: str,
    obj: dict[str, Any],
    *,
    account_id: str,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """Record an event the actor's request caused, about `account_id`, with the request's id and key."""
    emit_request(tx, actor, type, obj, account_id=account_id, previous_attributes=previous_attributes)


def may_see(actor: Actor, account: Account) -> bool:
    """The account itself, or its platform acting as itself in the account's mode."""
    return account.id == actor.account_id or (
        actor.is_platform and account.platform_id == actor.platform_id and account.livemode == actor.livemode
    )


def get(tx: Tx, account_id: str) -> Account:
    """An account a use case already knows by id (its actor's, a payout's owner); else 404."""
    account = store_accounts.get(tx, account_id)
    if account is None:
        raise ResourceMissing.for_id("account", account_id)
    return account


def with_platform(tx: Tx, account_id: str, platform_id: str) -> tuple[Account, Account]:
    """`get` of an account and of its platform (the same when it is the platform), in one read."""
    if account_id == platform_id:
        same = get(tx, account_id)
        return same, same
    found, platform = store_accounts.get_two(tx, account_id, platform_id)
    if found is None:
        raise ResourceMissing.for_id("account", account_id)
    if platform is None:
        raise ResourceMissing.for_id("account", platform_id)
    return found, platform


def delay_days(tx: Tx, account_id: str) -> int:
    """`get(tx, account_id).schedule.delay_days`, read alone (what each charge needs)."""
    delay = store_accounts.delay_days(tx, account_id)
    if delay is None:
        raise ResourceMissing.for_id("account", account_id)
    return delay


def visible(tx: Tx, actor: Actor, account_id: str, param: str = "account") -> Account:
    """The account, if the actor may see it; else 404."""
    account = store_accounts.get(tx, account_id)
    if account is None or not may_see(actor, account):
        raise ResourceMissing.for_id("account", account_id, param)
    return account


def view(tx: Tx, actor: Actor, account: Account) -> AccountView:
    return AccountView(account, tuple(store_external_accounts.for_account(tx, account.id, actor.livemode)))


def create(tx: Tx, actor: Actor, command: CreateAccount, *, settings: Settings) -> AccountView:
    require_platform(actor, "create connected accounts")
    if command.type is None and command.controller is None:
        raise InvalidRequest("You must provide either type or controller.", param="type")
    controller = resolve_controller(command.type, command.controller)
    country = check_country(command.country or settings.platform_country)
    drafted = NewAccount(
        account_id=new_id("acct", 16),
        platform_id=actor.platform_id,
        livemode=actor.livemode,
        created=actor.now,
        country=country,
        account_type=command.type or "none",
        controller=controller,
    )
    account = apply_changes(new_account(drafted), command.changes)
    store_accounts.insert_account(tx, account)
    set_next_run(tx, account.id, actor.livemode, account.schedule, actor.now)
    return view(tx, actor, account)


def retrieve(tx: Tx, actor: Actor, account_id: str) -> AccountView:
    check_id(account_id, ("acct",), "account", "account")
    return view(tx, actor, visible(tx, actor, account_id))


def update(tx: Tx, actor: Actor, command: UpdateAccount) -> AccountView:
    account_id = command.account_id
    check_id(account_id, ("acct",), "account", "account")
    seen = visible(tx, actor, account_id)
    if (
        seen.kind == "connected"
        and not actor.is_platform
        and _platform_collects(seen)
        and not _session_edits_schedule(actor, command.changes)
    ):
        raise PermissionDenied("Only the platform can update this account.")
    before = store_accounts.get(tx, account_id, for_update=True) or seen
    after = apply_changes(before, command.changes)
    store_accounts.save(tx, after)
    if after.schedule != before.schedule:
        for livemode in (False, True) if before.kind == "platform" else (before.livemode,):
            set_next_run(tx, account_id, livemode, after.schedule, actor.now)
    shown = view(tx, actor, after)
    old, new = before.doc(), after.doc()
    if new != old:
        changed = previous_attributes(old, new)
        announce(
            tx,
            actor,
            "account.updated",
            shown.stripe_object(),
            account_id=account_id,
            previous_attributes=changed,
        )
    return shown


def _session_edits_schedule(actor: Actor, changes: AccountChanges) -> bool:
    """An account session whose platform enabled `edit_payout_schedule` (services/embedded.py),
    changing the payout schedule and nothing else."""
    payouts = changes.payouts
    return (
        session_grants(actor, "edit_payout_schedule")
        and payouts is not None
        and changes == AccountChanges(payouts=PayoutChanges(schedule=payouts.schedule))
    )


def _platform_collects(account: Account) -> bool:
    return account.controller is not None and account.controller.requirement_collection == "application"


def list_accounts(tx: Tx, actor: Actor, window: Window) -> Page[AccountView]:
    require_platform(actor, "list connected accounts")
    found = store_accounts.page(tx, actor.platform_id, actor.livemode, window)
    return found.map(lambda a: view(tx, actor, a))
