"""`/v1/account` and `/v1/accounts`: handlers from the parameters to the use cases
(services/accounts.py), and the account rendered as Stripe's object."""

from __future__ import annotations

from typing import Any

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import render_page, window_of
from payoutkit.api.params import Params
from payoutkit.api.v1.account_params import AccountCreate, AccountList, AccountUpdate, Controller
from payoutkit.errors import ResourceMissing
from payoutkit.services import accounts
from payoutkit.services.account_rules import AccountChanges, ControllerRequest, PayoutChanges
from payoutkit.services.accounts import AccountView, CreateAccount, UpdateAccount
from payoutkit.services.actor import Actor
from payoutkit.store import Tx

__all__ = ["AccountCreate", "AccountList", "AccountUpdate", "create", "list_accounts", "retrieve", "update"]


def render(view: AccountView) -> dict[str, Any]:
    return view.stripe_object()


def _payouts(p: AccountUpdate) -> PayoutChanges | None:
    if p.settings is None or p.settings.payouts is None:
        return None
    po = p.settings.payouts
    return PayoutChanges(
        debit_negative_balances=po.debit_negative_balances,
        schedule=None if po.schedule is None else po.schedule.model_dump(exclude_unset=True),
        statement_descriptor=po.statement_descriptor,
    )


def _capabilities(p: AccountUpdate) -> dict[str, bool] | None:
    if p.capabilities is None:
        return None
    given = p.capabilities.model_dump(exclude_unset=True).items()
    return {name: bool(req and req.get("requested")) for name, req in given}


def changes_of(p: AccountUpdate) -> AccountChanges:
    return AccountChanges(
        email=p.email,
        business_type=p.business_type,
        business_profile=None
        if p.business_profile is None
        else p.business_profile.model_dump(exclude_unset=True),
        capabilities=_capabilities(p),
        tos_acceptance=None if p.tos_acceptance is None else p.tos_acceptance.model_dump(exclude_unset=True),
        default_currency=p.default_currency,
        metadata=p.metadata,
        payouts=_payouts(p),
    )


def _controller(c: Controller | None) -> ControllerRequest | None:
    if c is None:
        return None
    return ControllerRequest(
        fees_payer=c.fees.payer if c.fees else None,
        losses_payments=c.losses.payments if c.losses else None,
        requirement_collection=c.requirement_collection,
        dashboard=c.stripe_dashboard.type if c.stripe_dashboard else None,
    )


def create(call: Call, p: AccountCreate) -> dict[str, Any]:
    command = CreateAccount(
        type=p.type, country=p.country, controller=_controller(p.controller), changes=changes_of(p)
    )
    return render(accounts.create(call.conn, call.actor, command, settings=call.runtime.settings))


def retrieve(call: Call, p: Params, account: str) -> dict[str, Any]:
    return render(accounts.retrieve(call.conn, call.actor, account))


def retrieve_own(call: Call, p: Params) -> dict[str, Any]:
    return render(accounts.retrieve(call.conn, call.actor, call.actor.account_id))


def update(call: Call, p: AccountUpdate, account: str) -> dict[str, Any]:
    return render(accounts.update(call.conn, call.actor, UpdateAccount(account, changes_of(p))))


def list_accounts(call: Call, p: AccountList) -> dict[str, Any]:
    found = accounts.list_accounts(call.conn, call.actor, window_of(p))
    return render_page(found, "/v1/accounts", render)


def _load(conn: Tx, ctx: Actor, account_id: str) -> dict[str, Any] | None:
    try:
        return render(accounts.view(conn, ctx, accounts.visible(conn, ctx, account_id)))
    except ResourceMissing:
        return None


expand.register("acct", _load)
