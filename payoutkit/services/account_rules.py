"""The rules of accounts, pure: countries, the controller a creation asks for, and applying changes.

Stripe's `type` (standard, express, custom) is a preset of controller properties; `controller[...]`
gives them one by one, with defaults that follow from the dashboard. An `AccountChanges` is what
`POST /v1/accounts[/{id}]` may change; `apply_changes` returns the changed record or refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from payoutkit.errors import InvalidRequest
from payoutkit.ledger import schedule as schedules
from payoutkit.ledger.money import check_currency
from payoutkit.records.accounts import Account, Controller, PayoutSettings

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

# A metadata change as Stripe takes it: None leaves it, "" (or {}) clears it, `{k: ""}` deletes `k`.
MetadataChange = Mapping[str, str] | Literal[""] | None

_PRESETS = {
    "standard": Controller("account", "account", "stripe", "stripe", "full"),
    "express": Controller("application", "application_express", "application", "stripe", "express"),
    "custom": Controller("application", "application_custom", "application", "application", "none"),
}


@dataclass(frozen=True)
class ControllerRequest:
    """`controller[...]` as given: each property None when not given."""

    fees_payer: str | None = None
    losses_payments: str | None = None
    requirement_collection: str | None = None
    dashboard: str | None = None


@dataclass(frozen=True)
class PayoutChanges:
    debit_negative_balances: bool | None = None
    # `settings[payouts][schedule][...]` as given; parsed by ledger.schedule.resolve_schedule.
    schedule: Mapping[str, Any] | None = None
    statement_descriptor: str | None = None


@dataclass(frozen=True)
class AccountChanges:
    """What an update (or a creation) sets; None leaves a field as it is."""

    email: str | None = None
    business_type: str | None = None
    business_profile: Mapping[str, Any] | None = None  # the given keys, merged into the stored hash
    capabilities: Mapping[str, bool] | None = None  # capability → requested
    tos_acceptance: Mapping[str, Any] | None = None
    default_currency: str | None = None
    metadata: MetadataChange = None
    payouts: PayoutChanges | None = None


def check_country(country: str) -> str:
    country = country.upper()
    if country not in COUNTRY_CURRENCY:
        raise InvalidRequest(
            f"Country '{country}' is unknown or not supported.", param="country", code="country_unsupported"
        )
    return country


def resolve_controller(account_type: str | None, given: ControllerRequest | None) -> Controller:
    """The controller from `type` or `controller[...]`, with Stripe's defaults."""
    if account_type is not None and given is not None:
        raise InvalidRequest("You cannot specify both type and controller.", param="controller")
    if account_type is not None:
        return _PRESETS[account_type]
    c = given or ControllerRequest()
    dash = c.dashboard or "full"
    fees = c.fees_payer or ("account" if dash == "full" else "application")
    losses = c.losses_payments or ("stripe" if dash == "full" else "application")
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
    return Controller("application", fees, losses, rc, dash)


def merge_metadata(current: Mapping[str, str], changes: MetadataChange) -> dict[str, str]:
    """Stripe's metadata update rules: `metadata=` clears, `metadata[k]=` deletes `k`."""
    if changes is None:
        return dict(current)
    if changes == "" or changes == {}:
        return {}
    if not isinstance(changes, Mapping):
        raise InvalidRequest("Invalid hash: metadata", param="metadata")
    merged = dict(current)
    for key, value in changes.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise InvalidRequest("Metadata can have at most 50 keys.", param="metadata")
    for key, value in merged.items():
        if len(key) > 40:
            raise InvalidRequest(f"Metadata keys are at most 40 characters: {key}", param=f"metadata[{key}]")
        if len(value) > 500:
            raise InvalidRequest("Metadata values are at most 500 characters.", param=f"metadata[{key}]")
    return merged


def _capabilities(current: Mapping[str, str] | None, requested: Mapping[str, bool]) -> dict[str, str]:
    caps = dict(current or {})
    for name, wanted in requested.items():
        if wanted:
            caps[name] = "active"
        else:
            caps.pop(name, None)
    return caps


def _merged(current: Mapping[str, Any] | None, given: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return current if given is None else {**(current or {}), **given}


def _payouts(account: Account, changes: PayoutChanges) -> PayoutSettings:
    payouts = account.payouts
    if changes.schedule is not None:
        new = schedules.resolve_schedule(payouts.schedule, changes.schedule, country=account.country)
        payouts = replace(payouts, schedule=new)
    if changes.debit_negative_balances is not None:
        payouts = replace(payouts, debit_negative_balances=changes.debit_negative_balances)
    if changes.statement_descriptor is not None:
        if len(changes.statement_descriptor) > 22:
            raise InvalidRequest(
                "The statement descriptor must be at most 22 characters.",
                param="settings[payouts][statement_descriptor]",
            )
        payouts = replace(payouts, statement_descriptor=changes.statement_descriptor)
    return payouts


def apply_changes(account: Account, c: AccountChanges) -> Account:
    """The account with the changes made (checked in the order Stripe's fields are given)."""
    default_currency = account.default_currency
    if c.default_currency is not None:
        default_currency = check_currency(c.default_currency, param="default_currency")
    return replace(
        account,
        email=account.email if c.email is None else c.email,
        business_type=account.business_type if c.business_type is None else c.business_type,
        business_profile=_merged(account.business_profile, c.business_profile),
        capabilities=account.capabilities
        if c.capabilities is None
        else _capabilities(account.capabilities, c.capabilities),
        tos_acceptance=_merged(account.tos_acceptance, c.tos_acceptance),
        default_currency=default_currency,
        metadata=merge_metadata(account.metadata, c.metadata),
        payouts=account.payouts if c.payouts is None else _payouts(account, c.payouts),
    )


@dataclass(frozen=True)
class NewAccount:
    """A connected account as a creation makes it, before its changes are applied."""

    account_id: str
    platform_id: str
    livemode: bool
    created: int
    country: str
    account_type: str
    controller: Controller


def new_account(n: NewAccount) -> Account:
    c = n.controller
    return Account(
        id=n.account_id,
        country=n.country,
        default_currency=COUNTRY_CURRENCY[n.country],
        created=n.created,
        type=n.account_type,
        payouts=PayoutSettings(
            schedule=schedules.default_schedule(n.country),
            debit_negative_balances=c.requirement_collection != "application",
            statement_descriptor=None,
        ),
        email=None,
        business_type=None,
        metadata={},
        controller=c,
        business_profile={"mcc": None, "name": None, "url": None, "support_email": None},
        capabilities={},
        tos_acceptance={"date": None, "ip": None, "user_agent": None},
        kind="connected",
        platform_id=n.platform_id,
        livemode=n.livemode,
    )
