"""External accounts: where an account's payouts go — bank accounts and debit cards.

Test numbers and tokens select behaviour, as Stripe's public test tables do (services/test_destinations.py,
docs/testing.md). The selected outcome (e.g. "this account number fails with no_account") is kept as the
resource's `PayoutOutcome`, never rendered. An account has at most one default external account per
currency: the first of a currency is its default, and the default cannot be deleted while others are left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id
from payoutkit.lists import Page, Window
from payoutkit.records.external_accounts import (
    KINDS,
    BankDetails,
    ExternalAccount,
)
from payoutkit.services.account_rules import MetadataChange, merge_metadata
from payoutkit.services.accounts import announce, visible
from payoutkit.services.actor import Actor
from payoutkit.services.destinations import BankAccountGiven, CardGiven, Drafted, drafted
from payoutkit.services.events import previous_attributes
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts


@dataclass(frozen=True)
class CreateExternalAccount:
    account_id: str
    source: str | BankAccountGiven | CardGiven  # a token, or the details
    default_for_currency: bool | None = None
    metadata: MetadataChange = None


@dataclass(frozen=True)
class UpdateExternalAccount:
    account_id: str
    external_account_id: str
    default_for_currency: bool | None = None
    metadata: MetadataChange = None
    account_holder_name: str | None = None
    account_holder_type: str | None = None


def _set_default(tx: Tx, owner: str, livemode: bool, chosen: ExternalAccount) -> None:
    """Make `chosen` the default of its currency: the other default of the currency is no longer."""
    for other in store_external_accounts.for_account(tx, owner, livemode):
        if other.currency == chosen.currency and other.id != chosen.id and other.default_for_currency:
            store_external_accounts.save(tx, replace(other, default_for_currency=False))


def create(tx: Tx, actor: Actor, command: CreateExternalAccount) -> ExternalAccount:
    check_id(command.account_id, ("acct",), "account", "account")
    account = visible(tx, actor, command.account_id)
    ea, outcome = drafted(Drafted(account, actor.livemode, actor.now), command.source)
    existing = store_external_accounts.for_account(tx, account.id, actor.livemode)
    first_in_currency = not any(e.currency == ea.currency for e in existing)
    ea = replace(
        ea,
        default_for_currency=bool(command.default_for_currency) or first_in_currency,
        metadata=merge_metadata({}, command.metadata),
    )
    if ea.default_for_currency and not first_in_currency:
        _set_default(tx, account.id, actor.livemode, ea)
    store_external_accounts.insert_external_account(tx, ea, outcome)
    announce(tx, actor, "account.external_account.created", ea.rendered(), account_id=account.id)
    return ea


def owned(tx: Tx, actor: Actor, account_id: str, ea_id: str) -> ExternalAccount:
    """An external account of a visible account, in the actor's mode; else 404."""
    check_id(account_id, ("acct",), "account", "account")
    visible(tx, actor, account_id)
    found = store_external_accounts.get(tx, ea_id)
    # The platform's account is one in both modes; its external accounts are not.
    if found is None or found.account != account_id or found.livemode != actor.livemode:
        raise ResourceMissing(f"No such external account: '{ea_id}'", param="id")
    return found


def retrieve(tx: Tx, actor: Actor, account_id: str, ea_id: str) -> ExternalAccount:
    return owned(tx, actor, account_id, ea_id)


def _holder(ea: ExternalAccount, command: UpdateExternalAccount) -> BankDetails | None:
    if ea.bank is None:
        return None
    bank = ea.bank
    if command.account_holder_name is not None:
        bank = replace(bank, account_holder_name=command.account_holder_name)
    if command.account_holder_type is not None:
        bank = replace(bank, account_holder_type=command.account_holder_type)
    return bank


def update(tx: Tx, actor: Actor, command: UpdateExternalAccount) -> ExternalAccount:
    ea = owned(tx, actor, command.account_id, command.external_account_id)
    before = ea.rendered()
    if command.default_for_currency:
        _set_default(tx, command.account_id, actor.livemode, ea)
        ea = replace(ea, default_for_currency=True)
    elif command.default_for_currency is False and ea.default_for_currency:
        raise InvalidRequest(
            "To change the default, set default_for_currency=true on another external account.",
            param="default_for_currency",
        )
    ea = replace(ea, metadata=merge_metadata(ea.metadata, command.metadata), bank=_holder(ea, command))
    if ea.errored:  # updated details: payouts may resume (issue: payouts)
        ea = replace(ea, status="new")
    store_external_accounts.save(tx, ea)
    after = ea.rendered()
    if after != before:
        changed = previous_attributes(before, after)
        announce(
            tx,
            actor,
            "account.external_account.updated",
            after,
            account_id=command.account_id,
            previous_attributes=changed,
        )
    return ea


def delete(tx: Tx, actor: Actor, account_id: str, ea_id: str) -> ExternalAccount:
    """Delete an external account (not the default of its currency while others of it are left)."""
    ea = owned(tx, actor, account_id, ea_id)
    others = [
        e
        for e in store_external_accounts.for_account(tx, account_id, actor.livemode)
        if e.id != ea_id and e.currency == ea.currency
    ]
    if ea.default_for_currency and others:
        raise InvalidRequest(
            "You cannot delete the default external account for this currency. Make another external "
            "account the default using the default_for_currency param, and then delete this one.",
            param="id",
        )
    store_external_accounts.remove(tx, ea_id)
    announce(tx, actor, "account.external_account.deleted", ea.rendered(), account_id=account_id)
    return ea


def list_external_accounts(
    tx: Tx, actor: Actor, account_id: str, kind: str | None, window: Window
) -> Page[ExternalAccount]:
    check_id(account_id, ("acct",), "account", "account")
    visible(tx, actor, account_id)
    kinds = (kind,) if kind else KINDS
    return store_external_accounts.page(tx, account_id, actor.livemode, kinds, window)


def internal_of(conn: Tx, ea_id: str) -> dict[str, Any]:
    """Transitional (issue 8): the stored outcome (`store.external_accounts.outcome` gives the record)."""
    return store_external_accounts.internal(conn, ea_id)
