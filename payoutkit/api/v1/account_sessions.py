"""/v1/account_sessions: the parameter model (every component of Stripe's schema), the handler and the
session's rendering (docs/embedded.md §1)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from payoutkit.api.context import Call
from payoutkit.api.params import Bool, Nested, Params
from payoutkit.records.account_sessions import components_doc
from payoutkit.services import account_sessions
from payoutkit.services.account_sessions import ComponentRequest, CreatedSession, CreateSession


class NoFeatures(Nested):
    pass


class PayoutsFeatures(Nested):
    disable_stripe_user_authentication: Bool | None = None
    edit_payout_schedule: Bool | None = None
    external_account_collection: Bool | None = None
    instant_payouts: Bool | None = None
    standard_payouts: Bool | None = None


class AccountFeatures(Nested):
    disable_stripe_user_authentication: Bool | None = None
    external_account_collection: Bool | None = None


class PaymentDisputesFeatures(Nested):
    destination_on_behalf_of_charge_management: Bool | None = None
    dispute_management: Bool | None = None
    refund_management: Bool | None = None
    smart_disputes_management: Bool | None = None


class PaymentsFeatures(PaymentDisputesFeatures):
    capture_payments: Bool | None = None


class FinancialAccountFeatures(AccountFeatures):
    send_money: Bool | None = None
    transfer_balance: Bool | None = None


class FinancialAccountTransactionsFeatures(Nested):
    card_spend_dispute_management: Bool | None = None


class InstantPayoutsPromotionFeatures(AccountFeatures):
    instant_payouts: Bool | None = None


class IssuingCardFeatures(Nested):
    card_management: Bool | None = None
    card_spend_dispute_management: Bool | None = None
    cardholder_management: Bool | None = None
    spend_control_management: Bool | None = None


class IssuingCardsListFeatures(IssuingCardFeatures):
    disable_stripe_user_authentication: Bool | None = None


F = TypeVar("F", bound=Nested)


class Component(Nested, Generic[F]):
    enabled: Bool
    features: F | None = None


class Components(Nested):
    account_management: Component[AccountFeatures] | None = None
    account_onboarding: Component[AccountFeatures] | None = None
    balance_report: Component[NoFeatures] | None = None
    balances: Component[PayoutsFeatures] | None = None
    disputes_list: Component[PaymentsFeatures] | None = None
    documents: Component[NoFeatures] | None = None
    financial_account: Component[FinancialAccountFeatures] | None = None
    financial_account_transactions: Component[FinancialAccountTransactionsFeatures] | None = None
    instant_payouts_promotion: Component[InstantPayoutsPromotionFeatures] | None = None
    issuing_card: Component[IssuingCardFeatures] | None = None
    issuing_cards_list: Component[IssuingCardsListFeatures] | None = None
    notification_banner: Component[AccountFeatures] | None = None
    payment_details: Component[PaymentsFeatures] | None = None
    payment_disputes: Component[PaymentDisputesFeatures] | None = None
    payments: Component[PaymentsFeatures] | None = None
    payout_details: Component[NoFeatures] | None = None
    payout_reconciliation_report: Component[NoFeatures] | None = None
    payouts: Component[PayoutsFeatures] | None = None
    payouts_list: Component[NoFeatures] | None = None
    tax_registrations: Component[NoFeatures] | None = None
    tax_settings: Component[NoFeatures] | None = None


class AccountSessionCreate(Params):
    account: str
    components: Components


def _requests(components: Components) -> dict[str, ComponentRequest]:
    out: dict[str, ComponentRequest] = {}
    for name in Components.model_fields:
        given = getattr(components, name)
        if given is None:
            continue
        features = {} if given.features is None else given.features.model_dump(exclude_none=True)
        out[name] = ComponentRequest(enabled=given.enabled, features=features)
    return out


def render(created: CreatedSession) -> dict[str, Any]:
    session = created.session
    return {
        "object": "account_session",
        "account": session.account_id,
        "client_secret": created.client_secret,
        "components": components_doc(session.components),
        "expires_at": session.expires_at,
        "livemode": session.livemode,
    }


def create(call: Call, p: AccountSessionCreate) -> dict[str, Any]:
    command = CreateSession(account=p.account, components=_requests(p.components))
    return render(account_sessions.create(call.conn, call.actor, command))
