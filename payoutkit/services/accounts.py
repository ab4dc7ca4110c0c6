"""Accounts: the platform and its connected accounts, with controller properties and payout settings.

A connected account is created by its platform in one mode (test or live) and lives in that mode only.
Its `controller` decides who is liable for negative balances (`losses.payments`), who pays fees
(`fees.payer`) and the defaults of its payout settings, as Stripe's does.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, create_model
from sqlalchemy import Connection, insert, select, update

from payoutkit.api import expand
from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.api.params import Bool, Country, Int, Metadata, Nested, Params, metadata_update
from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger import schedule as schedules
from payoutkit.ledger.money import check_currency
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.payout_runs import set_next_run
from payoutkit.services.policy import require_platform
from payoutkit.store import accounts as store_accounts
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store.schema import accounts

COUNTRY_CURRENCY = {
    "US": "usd",
    "CA": "cad",
    "GB": "gbp",
    "AU": "aud",
    "NZ": "nzd",
    "SG": "sgd",
    "HK": "hkd",
    "JP": "jpy",
    "MY": "myr",
    "IN": "inr",
    "BR": "brl",
    "MX": "mxn",
    "CH": "chf",
    "SE": "sek",
    "NO": "nok",
    "DK": "dkk",
    "PL": "pln",
    "CZ": "czk",
    "HU": "huf",
    "RO": "ron",
    "BG": "bgn",
    "TH": "thb",
    "AE": "aed",
    **dict.fromkeys(
        (
            "AT",
            "BE",
            "CY",
            "DE",
            "EE",
            "ES",
            "FI",
            "FR",
            "GR",
            "HR",
            "IE",
            "IT",
            "LT",
            "LU",
            "LV",
            "MT",
            "NL",
            "PT",
            "SI",
            "SK",
        ),
        "eur",
    ),
}


class Fees(Nested):
    payer: Literal["account", "application"] | None = None


class Losses(Nested):
    payments: Literal["application", "stripe"] | None = None


class Dashboard(Nested):
    type: Literal["express", "full", "none"] | None = None


class Controller(Nested):
    fees: Fees | None = None
    losses: Losses | None = None
    requirement_collection: Literal["application", "stripe"] | None = None
    stripe_dashboard: Dashboard | None = None


class ScheduleUpdate(Nested):
    # Parsed further (and the unsupported `*_payout_days` refused) by ledger.schedule.resolve_schedule.
    delay_days: Int | Literal["minimum"] | None = None
    interval: str | None = None
    monthly_anchor: Int | None = None
    weekly_anchor: str | None = None
    monthly_payout_days: list[Int] | None = None
    weekly_payout_days: list[str] | None = None


class PayoutSettings(Nested):
    debit_negative_balances: Bool | None = None
    schedule: ScheduleUpdate | None = None
    statement_descriptor: str | None = None


class AccountSettings(Nested):
    payouts: PayoutSettings | None = None


# The documented keys of `business_profile`, `capabilities` and `tos_acceptance` (the official SDK's
# AccountCreateParams), with the lengths of Stripe's OpenAPI specification (5000 unless noted).
class SupportAddress(Nested):
    city: str | None = Field(default=None, max_length=100)
    country: Country | None = None
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str | None = None
    state: str | None = None


class AnnualRevenue(Nested):
    amount: Int | None = None
    currency: str | None = None
    fiscal_year_end: str | None = None


class MonthlyEstimatedRevenue(Nested):
    amount: Int | None = None
    currency: str | None = None


class BusinessProfile(Nested):
    annual_revenue: AnnualRevenue | None = None
    estimated_worker_count: Int | None = None
    mcc: str | None = Field(default=None, max_length=4)
    minority_owned_business_designation: (
        list[
            Literal[
                "lgbtqi_owned_business",
                "minority_owned_business",
                "none_of_these_apply",
                "prefer_not_to_answer",
                "women_owned_business",
            ]
        ]
        | None
    ) = None
    monthly_estimated_revenue: MonthlyEstimatedRevenue | None = None
    name: str | None = None
    product_description: str | None = Field(default=None, max_length=40000)
    specified_commercial_transactions_act_url: str | None = None
    support_address: SupportAddress | None = None
    support_email: str | None = None
    support_phone: str | None = None
    support_url: str | None = None
    url: str | None = None


class TosAcceptance(Nested):
    date: Int | None = None  # a Unix timestamp, stored and rendered as an integer
    ip: str | None = None
    service_agreement: Literal["full", "recipient"] | None = None
    user_agent: str | None = None


class CapabilityRequest(Nested):
    requested: Bool | None = None


CAPABILITIES = [
    "acss_debit_payments",
    "affirm_payments",
    "afterpay_clearpay_payments",
    "alma_payments",
    "amazon_pay_payments",
    "app_distribution",
    "au_becs_debit_payments",
    "bacs_debit_payments",
    "bancontact_payments",
    "bank_transfer_payments",
    "billie_payments",
    "bizum_payments",
    "blik_payments",
    "blik_recurring_payments",
    "boleto_payments",
    "card_issuing",
    "card_payments",
    "cartes_bancaires_payments",
    "cashapp_payments",
    "crypto_payments",
    "eps_payments",
    "fpx_payments",
    "gb_bank_transfer_payments",
    "giropay_payments",
    "grabpay_payments",
    "ideal_payments",
    "india_international_payments",
    "jcb_payments",
    "jp_bank_transfer_payments",
    "kakao_pay_payments",
    "klarna_payments",
    "konbini_payments",
    "kr_card_payments",
    "legacy_payments",
    "link_payments",
    "mb_way_payments",
    "mobilepay_payments",
    "multibanco_payments",
    "mx_bank_transfer_payments",
    "naver_pay_payments",
    "nz_bank_account_becs_debit_payments",
    "oxxo_payments",
    "p24_payments",
    "pay_by_bank_payments",
    "payco_payments",
    "paynow_payments",
    "paypay_payments",
    "payto_payments",
    "pix_payments",
    "promptpay_payments",
    "revolut_pay_payments",
    "samsung_pay_payments",
    "satispay_payments",
    "scalapay_payments",
    "sepa_bank_transfer_payments",
    "sepa_debit_payments",
    "sequra_payments",
    "sofort_payments",
    "sunbit_payments",
    "swish_payments",
    "tax_reporting_us_1099_k",
    "tax_reporting_us_1099_misc",
    "transfers",
    "treasury",
    "twint_payments",
    "upi_payments",
    "us_bank_account_ach_payments",
    "us_bank_transfer_payments",
    "wero_payments",
    "zip_payments",
]

if TYPE_CHECKING:
    Capabilities = Nested
else:  # one optional `{requested}` hash per capability Stripe documents; any other key is unknown
    Capabilities = create_model(
        "Capabilities", __base__=Nested, **dict.fromkeys(CAPABILITIES, (CapabilityRequest | None, None))
    )


class AccountUpdate(Params):
    business_profile: BusinessProfile | None = None
    business_type: Literal["company", "government_entity", "individual", "non_profit"] | None = None
    capabilities: Capabilities | None = None
    default_currency: str | None = None
    email: str | None = None
    metadata: Metadata = None
    settings: AccountSettings | None = None
    tos_acceptance: TosAcceptance | None = None


class AccountCreate(AccountUpdate):
    type: Literal["custom", "express", "standard"] | None = None
    country: Country | None = None
    controller: Controller | None = None


class AccountList(ListParams):
    pass


def _controller(p: AccountCreate) -> dict[str, Any]:
    """Resolve the controller from `type` or `controller[...]`, with Stripe's defaults."""
    if p.type is not None and p.controller is not None:
        raise InvalidRequest("You cannot specify both type and controller.", param="controller")
    if p.type == "standard":
        return {"type": "account", "fees": "account", "losses": "stripe", "rc": "stripe", "dash": "full"}
    if p.type == "express":
        return {
            "type": "application",
            "fees": "application_express",
            "losses": "application",
            "rc": "stripe",
            "dash": "express",
        }
    if p.type == "custom":
        return {
            "type": "application",
            "fees": "application_custom",
            "losses": "application",
            "rc": "application",
            "dash": "none",
        }
    c = p.controller or Controller()
    dash = c.stripe_dashboard.type if c.stripe_dashboard and c.stripe_dashboard.type else "full"
    fees = c.fees.payer if c.fees and c.fees.payer else ("account" if dash == "full" else "application")
    losses = (
        c.losses.payments
        if c.losses and c.losses.payments
        else ("stripe" if dash == "full" else "application")
    )
    rc = c.requirement_collection or ("stripe" if dash != "none" else "application")
    if rc == "application" and dash != "none":
        raise InvalidRequest(
            "An account whose requirements the platform collects cannot have a Stripe Dashboard.",
            param="controller[stripe_dashboard][type]",
        )
    if losses == "stripe" and fees != "account":
        raise InvalidRequest(
            "When Payoutkit is liable for losses the account must pay its own fees.",
            param="controller[fees][payer]",
        )
    return {"type": "application", "fees": fees, "losses": losses, "rc": rc, "dash": dash}


def _check_country(country: str) -> str:
    country = country.upper()
    if country not in COUNTRY_CURRENCY:
        raise InvalidRequest(
            f"Country '{country}' is unknown or not supported.", param="country", code="country_unsupported"
        )
    return country


def _schedule_dict(s: schedules.Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {"delay_days": s.delay_days, "interval": s.interval.value}
    if s.weekly_anchor is not None:
        out["weekly_anchor"] = s.weekly_anchor.value
    if s.monthly_anchor is not None:
        out["monthly_anchor"] = s.monthly_anchor
    return out


def schedule_of(data: dict[str, Any]) -> schedules.Schedule:
    s = data["settings"]["payouts"]["schedule"]
    return schedules.Schedule(
        interval=schedules.Interval(s["interval"]),
        delay_days=s["delay_days"],
        weekly_anchor=schedules.Weekday(s["weekly_anchor"]) if s.get("weekly_anchor") else None,
        monthly_anchor=s.get("monthly_anchor"),
    )


def _apply_update(data: dict[str, Any], p: AccountUpdate) -> dict[str, Any]:
    if p.email is not None:
        data["email"] = p.email
    if p.business_type is not None:
        data["business_type"] = p.business_type
    if p.business_profile is not None:
        given = p.business_profile.model_dump(exclude_unset=True)
        data["business_profile"] = {**data.get("business_profile", {}), **given}
    if p.capabilities is not None:
        caps = data.setdefault("capabilities", {})
        for name, req in p.capabilities.model_dump(exclude_unset=True).items():
            if req and req.get("requested"):
                caps[name] = "active"
            else:
                caps.pop(name, None)
    if p.tos_acceptance is not None:
        given = p.tos_acceptance.model_dump(exclude_unset=True)
        data["tos_acceptance"] = {**data.get("tos_acceptance", {}), **given}
    if p.default_currency is not None:
        data["default_currency"] = check_currency(p.default_currency, param="default_currency")
    data["metadata"] = metadata_update(data.get("metadata", {}), p.metadata)
    if p.settings and p.settings.payouts:
        po = p.settings.payouts
        payouts = data["settings"]["payouts"]
        if po.schedule is not None:
            changes = po.schedule.model_dump(exclude_unset=True)
            new = schedules.resolve_schedule(schedule_of(data), changes, country=data["country"])
            payouts["schedule"] = _schedule_dict(new)
        if po.debit_negative_balances is not None:
            payouts["debit_negative_balances"] = po.debit_negative_balances
        if po.statement_descriptor is not None:
            if len(po.statement_descriptor) > 22:
                raise InvalidRequest(
                    "The statement descriptor must be at most 22 characters.",
                    param="settings[payouts][statement_descriptor]",
                )
            payouts["statement_descriptor"] = po.statement_descriptor
    return data


def create(conn: Connection, ctx: Ctx, p: AccountCreate) -> dict[str, Any]:
    require_platform(ctx, "create connected accounts")
    if p.type is None and p.controller is None:
        raise InvalidRequest("You must provide either type or controller.", param="type")
    ctrl = _controller(p)
    country = _check_country(p.country or ctx.state.settings.platform_country)
    account_id = new_id("acct", 16)
    data: dict[str, Any] = {
        "id": account_id,
        "object": "account",
        "business_profile": {"mcc": None, "name": None, "url": None, "support_email": None},
        "business_type": None,
        "capabilities": {},
        "controller": {
            "fees": {"payer": ctrl["fees"]},
            "is_controller": True,
            "losses": {"payments": ctrl["losses"]},
            "requirement_collection": ctrl["rc"],
            "stripe_dashboard": {"type": ctrl["dash"]},
            "type": ctrl["type"],
        },
        "country": country,
        "created": ctx.now,
        "default_currency": COUNTRY_CURRENCY[country],
        "email": None,
        "metadata": {},
        "settings": {
            "payouts": {
                "debit_negative_balances": ctrl["rc"] != "application",
                "schedule": _schedule_dict(schedules.default_schedule(country)),
                "statement_descriptor": None,
            }
        },
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
        "type": p.type or "none",
    }
    data = _apply_update(data, p)
    conn.execute(
        insert(accounts).values(
            id=account_id,
            platform_id=ctx.platform_id,
            livemode=ctx.livemode,
            kind="connected",
            created=ctx.now,
            data=data,
        )
    )
    set_next_run(conn, account_id, ctx.livemode, schedule_of(data), ctx.now)
    return render(conn, ctx, data)


def visible_account(conn: Connection, ctx: Ctx, account_id: str, param: str = "account") -> Any:
    """The account's row, if the acting account is it or is its platform (same mode); else 404."""
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    ok = row is not None and (
        row.id == ctx.account_id
        or (ctx.is_platform and row.platform_id == ctx.platform_id and bool(row.livemode) == ctx.livemode)
    )
    if not ok:
        raise ResourceMissing.for_id("account", account_id, param)
    return row


def external_accounts_list(conn: Connection, account_id: str, livemode: bool) -> list[dict[str, Any]]:
    """Transitional (issue 8): the documents of `store.external_accounts.for_account`."""
    return [e.doc() for e in store_external_accounts.for_account(conn, account_id, livemode)]


def render(conn: Connection, ctx: Ctx, data: dict[str, Any]) -> dict[str, Any]:
    obj = dict(data)
    ext = external_accounts_list(conn, obj["id"], ctx.livemode)
    obj["external_accounts"] = {
        "object": "list",
        # Rendered as external_accounts.render does (it imports this module): stored-only keys go.
        "data": [{k: v for k, v in e.items() if k not in ("livemode", "created")} for e in ext[:10]],
        "has_more": len(ext) > 10,
        "url": f"/v1/accounts/{obj['id']}/external_accounts",
    }
    obj["charges_enabled"] = True
    obj["details_submitted"] = True
    obj["payouts_enabled"] = bool(ext)
    obj.setdefault("created", None)
    obj["requirements"] = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": [] if ext else ["external_account"],
        "disabled_reason": None,
        "errors": [],
        "eventually_due": [] if ext else ["external_account"],
        "past_due": [],
        "pending_verification": [],
    }
    obj["settings"] = {
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_payments": {"statement_descriptor_prefix": None},
        "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
        "payments": {"statement_descriptor": None},
        **obj["settings"],
    }
    return obj


def retrieve(conn: Connection, ctx: Ctx, p: Params, account: str) -> dict[str, Any]:
    check_id(account, ("acct",), "account", "account")
    return render(conn, ctx, dict(visible_account(conn, ctx, account).data))


def retrieve_own(conn: Connection, ctx: Ctx, p: Params) -> dict[str, Any]:
    return retrieve(conn, ctx, p, ctx.account_id)


def load_row_for_update(conn: Connection, account_id: str) -> Any:
    stmt = select(accounts).where(accounts.c.id == account_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def modify(conn: Connection, ctx: Ctx, p: AccountUpdate, account: str) -> dict[str, Any]:
    check_id(account, ("acct",), "account", "account")
    row = visible_account(conn, ctx, account)
    if (
        row.kind == "connected"
        and not ctx.is_platform
        and row.data["controller"]["requirement_collection"] == "application"
    ):
        raise PermissionDenied("Only the platform can update this account.")
    row = load_row_for_update(conn, account)
    # A deep copy: the update replaces nested hashes, and the stored row must stay what it was.
    data = _apply_update(copy.deepcopy(row.data), p)
    conn.execute(update(accounts).where(accounts.c.id == account).values(data=data))
    if data["settings"]["payouts"]["schedule"] != row.data["settings"]["payouts"]["schedule"]:
        for livemode in (False, True) if row.kind == "platform" else (bool(row.livemode),):
            set_next_run(conn, account, livemode, schedule_of(data), ctx.now)
    rendered = render(conn, ctx, data)
    if data != row.data:
        changed = previous_attributes(dict(row.data), data)
        emit_request(conn, ctx, "account.updated", rendered, account_id=account, previous_attributes=changed)
    return rendered


def list_accounts(conn: Connection, ctx: Ctx, p: AccountList) -> dict[str, Any]:
    require_platform(ctx, "list connected accounts")
    return page(
        conn,
        accounts,
        [accounts.c.platform_id == ctx.platform_id, accounts.c.livemode == ctx.livemode],
        p,
        "/v1/accounts",
        lambda r: render(conn, ctx, dict(r.data)),
    )


def _load(conn: Connection, ctx: Ctx, account_id: str) -> dict[str, Any] | None:
    try:
        return render(conn, ctx, dict(visible_account(conn, ctx, account_id).data))
    except ResourceMissing:
        return None


expand.register("acct", _load)


def account_data(conn: Connection, account_id: str) -> dict[str, Any]:
    """Transitional (issue 8): an account's stored document (`store.accounts.get` gives its record)."""
    data = store_accounts.document(conn, account_id)
    if data is None:
        raise ResourceMissing.for_id("account", account_id)
    return data
