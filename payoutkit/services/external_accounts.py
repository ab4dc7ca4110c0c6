"""External accounts: where an account's payouts go — bank accounts and debit cards.

Test numbers and tokens select behaviour, as Stripe's public test tables do (docs/testing.md). The
selected outcome (e.g. "this account number fails with no_account") is kept in the resource's
`internal` column, never rendered.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import Connection, update

from payoutkit.api import expand
from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Bool, Country, Int, Metadata, Nested, Params, metadata_update
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.money import check_currency
from payoutkit.services import accounts as accounts_service
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.test_tokens import live_mode_test_card, test_id_in_livemode
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources

US_ROUTING = "110000000"
# Account number → payout failure code ("" = succeeds). Same numbers work with CA/GB test routing.
BANK_OUTCOMES = {
    "000123456789": "",
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
    "000888888883": "",  # succeeds for standard payouts; not instant-eligible
    "000999999991": "",
    "000999999992": "",
    "00012345": "",  # GB test account with sort code 108800
}
NOT_INSTANT = {"000888888883"}
BANK_TOKENS = {
    "btok_us_verified": "000123456789",
    "btok_us_verified_noAccount": "000111111116",
    "btok_us_verified_accountClosed": "000111111113",
    "btok_us_verified_insufficientFunds": "000222222227",
    "btok_us_verified_debitNotAuthorized": "000333333335",
    "btok_us_verified_invalidCurrency": "000444444440",
    "btok_us": "000123456789",
}
# Debit card tokens: (brand, last4, payout failure code, instant eligible)
CARD_TOKENS = {
    "tok_visa_debit": ("Visa", "5556", "", True),
    "tok_visa_debit_us_transferSuccess": ("Visa", "5556", "", True),
    "tok_visa_debit_us_transferFail": ("Visa", "5572", "could_not_process", True),
    "tok_visa_debit_us_instantPayoutUnsupported": ("Visa", "5555", "", False),
    "tok_mastercard_debit": ("MasterCard", "8210", "", True),
    "tok_mastercard_debit_transferSuccess": ("MasterCard", "8210", "", True),
    "tok_discover_debit": ("Discover", "1113", "", True),
}
# Test routing numbers / sort codes (US, CA, GB): no live bank account is behind them.
TEST_ROUTING = {"110000000", "11000-000", "108800"}
CARD_NUMBERS = {
    "4000056655665556": "tok_visa_debit_us_transferSuccess",
    "4000056655665572": "tok_visa_debit_us_transferFail",
    "4000056755665555": "tok_visa_debit_us_instantPayoutUnsupported",
    "5200828282828210": "tok_mastercard_debit",
    "6011981111111113": "tok_discover_debit",
}
# Stripe's published test card numbers besides the debit cards above: declined in live mode.
STRIPE_TEST_CARDS = {
    "4242424242424242",
    "5555555555554444",
    "2223003122003222",
    "5105105105105100",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
}


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


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _bank(
    account: dict[str, Any], p: BankAccountParams, livemode: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    number = p.account_number.replace(" ", "")
    if not number.isdigit() or not 4 <= len(number) <= 17:
        raise InvalidRequest(
            "Invalid account number.", param="external_account[account_number]", code="account_number_invalid"
        )
    country = p.country.upper()
    currency = check_currency(p.currency or account["default_currency"], param="external_account[currency]")
    routing = p.routing_number
    if country == "US" and (routing is None or len(routing) != 9 or not routing.isdigit()):
        raise InvalidRequest(
            "Routing number must have 9 digits.",
            param="external_account[routing_number]",
            code="routing_number_invalid",
        )
    if livemode and (number in BANK_OUTCOMES or routing in TEST_ROUTING):
        field = "account_number" if number in BANK_OUTCOMES else "routing_number"
        raise InvalidRequest(
            "You cannot use a test bank account in livemode. If you are testing your integration, please "
            "use your testmode API keys instead.",
            param=f"external_account[{field}]",
            code=f"{field}_invalid",
        )
    if not livemode and number not in BANK_OUTCOMES:
        raise InvalidRequest(
            "In test mode use a test account number, such as 000123456789 (see docs/testing.md).",
            param="external_account[account_number]",
            code="account_number_invalid",
        )
    instant = number not in NOT_INSTANT and country in {"US", "GB", "CA", "AU", "SG"}
    obj = {
        "id": new_id("ba"),
        "object": "bank_account",
        "account_holder_name": p.account_holder_name,
        "account_holder_type": p.account_holder_type,
        "account_type": p.account_type,
        "available_payout_methods": ["standard", "instant"] if instant else ["standard"],
        "bank_name": "PAYOUTKIT TEST BANK" if not livemode else None,
        "country": country,
        "currency": currency,
        "fingerprint": _fingerprint(country, routing or "", number),
        "last4": number[-4:],
        "routing_number": routing,
        "status": "new",
    }
    return obj, {"failure_code": BANK_OUTCOMES.get(number, "")}


def _card(
    token: str, currency: str, exp: tuple[int, int] = (12, 2030)
) -> tuple[dict[str, Any], dict[str, Any]]:
    brand, last4, failure, instant = CARD_TOKENS[token]
    obj = {
        "id": new_id("card"),
        "object": "card",
        "address_city": None,
        "address_country": None,
        "address_line1": None,
        "address_line1_check": None,
        "address_line2": None,
        "address_state": None,
        "address_zip": None,
        "address_zip_check": None,
        "available_payout_methods": ["standard", "instant"] if instant else ["standard"],
        "brand": brand,
        "country": "US",
        "currency": currency,
        "cvc_check": None,
        "dynamic_last4": None,
        "exp_month": exp[0],
        "exp_year": exp[1],
        "fingerprint": _fingerprint("card", token),
        "funding": "debit",
        "last4": last4,
        "name": None,
        "status": "new",
        "tokenization_method": None,
    }
    return obj, {"failure_code": failure}


def _set_default(conn: Connection, account_id: str, livemode: bool, currency: str, keep: str) -> None:
    for other in accounts_service.external_accounts_list(conn, account_id, livemode):
        if other["currency"] == currency and other["id"] != keep and other["default_for_currency"]:
            other["default_for_currency"] = False
            objects.save(conn, other)


def create(conn: Connection, ctx: Ctx, p: ExternalAccountCreate, account: str) -> dict[str, Any]:
    check_id(account, ("acct",), "account", "account")
    row = accounts_service.visible_account(conn, ctx, account)
    data = dict(row.data)
    ea = p.external_account
    if isinstance(ea, str):
        if ctx.livemode and (ea in BANK_TOKENS or ea in CARD_TOKENS):
            raise test_id_in_livemode(ea, "external_account")
        if ea in BANK_TOKENS:
            obj, internal = _bank(
                data,
                BankAccountParams(
                    object="bank_account",
                    account_number=BANK_TOKENS[ea],
                    country="US",
                    currency="usd",
                    routing_number=US_ROUTING,
                ),
                ctx.livemode,
            )
        elif ea in CARD_TOKENS:
            obj, internal = _card(ea, data["default_currency"])
        else:
            raise InvalidRequest(f"No such token: '{ea}'", param="external_account", code="resource_missing")
    elif isinstance(ea, BankAccountParams):
        obj, internal = _bank(data, ea, ctx.livemode)
    else:
        number = ea.number.replace(" ", "")
        if ctx.livemode and (number in CARD_NUMBERS or number in STRIPE_TEST_CARDS):
            raise live_mode_test_card("external_account[number]")
        token = CARD_NUMBERS.get(number)
        if token is None:
            raise InvalidRequest(
                "Use a test debit card number (see docs/testing.md).",
                param="external_account[number]",
                code="invalid_number",
            )
        obj, internal = _card(
            token, check_currency(ea.currency or data["default_currency"]), (ea.exp_month, ea.exp_year)
        )
    existing = accounts_service.external_accounts_list(conn, account, ctx.livemode)
    first_in_currency = not any(e["currency"] == obj["currency"] for e in existing)
    obj["account"] = account
    obj["default_for_currency"] = bool(p.default_for_currency) or first_in_currency
    obj["metadata"] = metadata_update({}, p.metadata)
    obj["livemode"] = ctx.livemode  # stored for scoping; removed when rendered
    obj["created"] = ctx.now  # stored (the resources row needs it); not a field of Stripe's object
    if obj["default_for_currency"] and not first_in_currency:
        _set_default(conn, account, ctx.livemode, obj["currency"], obj["id"])
    objects.create(conn, obj, account_id=account, parent_id=account, status="new")
    conn.execute(update(resources).where(resources.c.id == obj["id"]).values(internal=internal))
    emit_request(conn, ctx, "account.external_account.created", render(obj), account_id=account)
    return render(obj)


STORED_ONLY = ("livemode", "created")


def render(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in STORED_ONLY}


def _owned(conn: Connection, ctx: Ctx, account: str, ea_id: str) -> dict[str, Any]:
    check_id(account, ("acct",), "account", "account")
    accounts_service.visible_account(conn, ctx, account)
    found = objects.get(conn, ea_id)
    if (
        found is None
        or found[1] != account
        or found[0]["object"] not in ("bank_account", "card")
        # The platform's account is one in both modes; its external accounts are not.
        or found[0].get("livemode") != ctx.livemode
    ):
        raise ResourceMissing(f"No such external account: '{ea_id}'", param="id")
    return found[0]


def retrieve(conn: Connection, ctx: Ctx, p: Params, account: str, ea: str) -> dict[str, Any]:
    return render(_owned(conn, ctx, account, ea))


def modify(conn: Connection, ctx: Ctx, p: ExternalAccountUpdate, account: str, ea: str) -> dict[str, Any]:
    obj = _owned(conn, ctx, account, ea)
    before = render(copy.deepcopy(obj))
    if p.default_for_currency:
        _set_default(conn, account, ctx.livemode, obj["currency"], obj["id"])
        obj["default_for_currency"] = True
    elif p.default_for_currency is False and obj["default_for_currency"]:
        raise InvalidRequest(
            "To change the default, set default_for_currency=true on another external account.",
            param="default_for_currency",
        )
    obj["metadata"] = metadata_update(obj.get("metadata", {}), p.metadata)
    if obj["object"] == "bank_account":
        if p.account_holder_name is not None:
            obj["account_holder_name"] = p.account_holder_name
        if p.account_holder_type is not None:
            obj["account_holder_type"] = p.account_holder_type
    if obj.get("status") == "errored":  # updated details: payouts may resume (issue: payouts)
        obj["status"] = "new"
    objects.save(conn, obj, status=obj.get("status"))
    after = render(obj)
    if after != before:
        emit_request(
            conn,
            ctx,
            "account.external_account.updated",
            after,
            account_id=account,
            previous_attributes=previous_attributes(before, after),
        )
    return after


def delete(conn: Connection, ctx: Ctx, p: Params, account: str, ea: str) -> dict[str, Any]:
    obj = _owned(conn, ctx, account, ea)
    others = [
        e
        for e in accounts_service.external_accounts_list(conn, account, ctx.livemode)
        if e["id"] != ea and e["currency"] == obj["currency"]
    ]
    if obj["default_for_currency"] and others:
        raise InvalidRequest(
            "You cannot delete the default external account for this currency. Make another external "
            "account the default using the default_for_currency param, and then delete this one.",
            param="id",
        )
    conn.execute(resources.delete().where(resources.c.id == ea))
    emit_request(conn, ctx, "account.external_account.deleted", render(obj), account_id=account)
    return {"id": ea, "object": obj["object"], "deleted": True}


def list_external_accounts(
    conn: Connection, ctx: Ctx, p: ExternalAccountList, account: str
) -> dict[str, Any]:
    check_id(account, ("acct",), "account", "account")
    accounts_service.visible_account(conn, ctx, account)
    kinds = (p.object,) if p.object else ("bank_account", "card")
    return page(
        conn,
        resources,
        [
            resources.c.parent_id == account,
            resources.c.object.in_(kinds),
            resources.c.livemode == ctx.livemode,
        ],
        p,
        f"/v1/accounts/{account}/external_accounts",
        lambda r: render(dict(r.data)),
    )


def internal_of(conn: Connection, ea_id: str) -> dict[str, Any]:
    """Transitional (issue 8): `store.external_accounts.outcome` gives the record."""
    return store_external_accounts.internal(conn, ea_id)


def _load(conn: Connection, ctx: Ctx, ea_id: str) -> dict[str, Any] | None:
    found = objects.get(conn, ea_id)
    if found is None or found[0].get("livemode") != ctx.livemode or not expand.visible(conn, ctx, found[1]):
        return None
    return render(found[0])


expand.register("ba", _load)
expand.register("card", _load)
