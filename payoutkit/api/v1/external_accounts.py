"""`/v1/accounts/{account}/external_accounts`: handlers from the parameters to the use cases
(services/external_accounts.py), and bank accounts and cards rendered as Stripe's objects."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Bool, Country, Int, Metadata, Nested, Params
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services import external_accounts
from payoutkit.services.actor import Actor
from payoutkit.services.destinations import BankAccountGiven, CardGiven
from payoutkit.services.external_accounts import CreateExternalAccount, UpdateExternalAccount
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts


class BankAccountParams(Nested):
    object: Literal["bank_account"]
    account_number: str
    country: Country
    currency: str | None = None
    routing_number: str | None = None
    account_holder_name: str | None = None
    account_holder_type: Literal["individual", "company"] | None = None
    account_type: Literal["checking", "savings", "futsu", "savings", "toza"] | None = None


class CardParams(Nested):
    object: Literal["card"]
    number: str
    exp_month: Int
    exp_year: Int
    currency: str | None = None
    cvc: str | None = None
    name: str | None = None


class ExternalAccountCreate(Params):
    # A token, or a hash whose `object` says which kind (so errors come from that kind's fields).
    external_account: str | Annotated[BankAccountParams | CardParams, Field(discriminator="object")]
    default_for_currency: Bool | None = None
    metadata: Metadata = None


class ExternalAccountUpdate(Params):
    default_for_currency: Bool | None = None
    metadata: Metadata = None
    account_holder_name: str | None = None
    account_holder_type: Literal["individual", "company"] | None = None


class ExternalAccountList(ListParams):
    object: Literal["bank_account", "card"] | None = None


def render(ea: ExternalAccount) -> dict[str, Any]:
    return ea.rendered()


def _source(given: str | BankAccountParams | CardParams) -> str | BankAccountGiven | CardGiven:
    if isinstance(given, str):
        return given
    if isinstance(given, BankAccountParams):
        return BankAccountGiven(
            account_number=given.account_number,
            country=given.country,
            currency=given.currency,
            routing_number=given.routing_number,
            account_holder_name=given.account_holder_name,
            account_holder_type=given.account_holder_type,
            account_type=given.account_type,
        )
    return CardGiven(given.number, given.exp_month, given.exp_year, given.currency)


def create(call: Call, p: ExternalAccountCreate, account: str) -> dict[str, Any]:
    command = CreateExternalAccount(account, _source(p.external_account), p.default_for_currency, p.metadata)
    return render(external_accounts.create(call.conn, call.actor, command))


def retrieve(call: Call, p: Params, account: str, ea: str) -> dict[str, Any]:
    return render(external_accounts.retrieve(call.conn, call.actor, account, ea))


def update(call: Call, p: ExternalAccountUpdate, account: str, ea: str) -> dict[str, Any]:
    command = UpdateExternalAccount(
        account_id=account,
        external_account_id=ea,
        default_for_currency=p.default_for_currency,
        metadata=p.metadata,
        account_holder_name=p.account_holder_name,
        account_holder_type=p.account_holder_type,
    )
    return render(external_accounts.update(call.conn, call.actor, command))


def delete(call: Call, p: Params, account: str, ea: str) -> dict[str, Any]:
    deleted = external_accounts.delete(call.conn, call.actor, account, ea)
    return {"id": deleted.id, "object": deleted.object, "deleted": True}


def list_external_accounts(call: Call, p: ExternalAccountList, account: str) -> dict[str, Any]:
    found = external_accounts.list_external_accounts(call.conn, call.actor, account, p.object, window_of(p))
    return render_page(found, f"/v1/accounts/{account}/external_accounts", render)


def _load(conn: Tx, ctx: Actor, ea_id: str) -> dict[str, Any] | None:
    found = store_external_accounts.get(conn, ea_id)
    if found is None or found.livemode != ctx.livemode or not expand.visible(conn, ctx, found.account):
        return None
    return render(found)


expand.register("ba", _load)
expand.register("card", _load)
