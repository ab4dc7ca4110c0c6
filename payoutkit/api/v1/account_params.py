"""The parameters of `/v1/accounts`: the documented keys of Stripe's AccountCreateParams and
AccountUpdateParams (the official SDK's), with the lengths of Stripe's OpenAPI specification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, create_model

from payoutkit.api.listing import ListParams
from payoutkit.api.params import Bool, Country, Int, Metadata, Nested, Params


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


class PayoutSettingsUpdate(Nested):
    debit_negative_balances: Bool | None = None
    schedule: ScheduleUpdate | None = None
    statement_descriptor: str | None = None


class AccountSettings(Nested):
    payouts: PayoutSettingsUpdate | None = None


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
