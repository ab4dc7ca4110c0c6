"""The embedded API's use cases (docs/embedded.md §2): what the connect.js components of an account
session may read and do, for the session's scoped actor.

Each use case authorizes by the actor's `Scope` (pure checks below: the component must be enabled,
and the feature that a payout method or a schedule edit needs), then calls the same use case as the
v1 API — the account's settings update, the payouts, the balance — so that what a component does is
exactly what a secret key would do for the account. The views are frozen records of only what the
components show; the wire renders them (`api/embedded/`).

The balance summary is in `embedded_balance.py`, the payout views, preview and creation in
`embedded_payouts.py`; this module holds the scope checks, the account and the schedule edit.

Which component's features count is the one a request names in `component` (`balances` or
`payouts`); a request that names none takes `balances` when the session enables it, else `payouts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payoutkit.errors import InvalidRequest
from payoutkit.ledger.schedule import Schedule
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services import accounts
from payoutkit.services.account_rules import AccountChanges, PayoutChanges
from payoutkit.services.account_sessions import COMPONENTS, SERVED
from payoutkit.services.actor import Actor
from payoutkit.services.policy import require_component, require_component_feature
from payoutkit.store import Tx

# The components the embedded API serves, and the features of each (Stripe's schema, as account
# sessions resolve them: `payouts_list` and `payout_details` have none).
COMPONENT_FEATURES: Mapping[str, tuple[str, ...]] = {name: COMPONENTS[name] for name in sorted(SERVED)}
PAYOUT_FEATURES = COMPONENT_FEATURES["balances"]
# The components that pay out (and whose features a request's `component` names).
PAYING = ("balances", "payouts")
# The feature of each payout method.
METHOD_FEATURES = {"standard": "standard_payouts", "instant": "instant_payouts"}

# ---- the scope (the checks themselves: services/policy.py) ----------------------------------------


def paying_component(actor: Actor, given: str | None) -> str:
    """The component whose features count for a request (`component`), which must be enabled."""
    if given is None:
        only_payouts = actor.scope.allows("payouts") and not actor.scope.allows("balances")
        given = "payouts" if only_payouts else "balances"
    if given not in PAYING:
        raise InvalidRequest(
            f"Invalid component: must be one of {', '.join(PAYING)}.",
            param="component",
            code="parameter_invalid_string",
        )
    require_component(actor, given)
    return given


def feature_enabled(actor: Actor, component: str, feature: str) -> bool:
    return actor.scope.allows(f"{component}.{feature}")


# ---- the account ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentAccess:
    enabled: bool
    features: Mapping[str, bool]


@dataclass(frozen=True)
class Destination:
    """An external account as the components show it."""

    id: str
    object: str
    bank_name: str | None
    brand: str | None
    last4: str
    currency: str
    country: str
    default_for_currency: bool
    status: str
    methods: tuple[str, ...]

    @classmethod
    def of(cls, ea: ExternalAccount) -> Destination:
        return cls(
            id=ea.id,
            object=ea.object,
            bank_name=ea.bank.bank_name if ea.bank is not None else None,
            brand=ea.card.brand if ea.card is not None else None,
            last4=ea.last4,
            currency=ea.currency,
            country=ea.country,
            default_for_currency=ea.default_for_currency,
            status=ea.status,
            methods=ea.available_payout_methods,
        )


@dataclass(frozen=True)
class AccountSummary:
    id: str
    display_name: str | None
    country: str
    default_currency: str
    livemode: bool
    components: Mapping[str, ComponentAccess]
    schedule: Schedule
    destinations: tuple[Destination, ...]


def components_of(actor: Actor) -> dict[str, ComponentAccess]:
    """The session's components and features as its scope holds them (all on for a secret key)."""
    return {
        name: ComponentAccess(
            enabled=actor.scope.allows(name),
            features={f: actor.scope.allows(f"{name}.{f}") for f in features},
        )
        for name, features in COMPONENT_FEATURES.items()
    }


def _display_name(profile: Mapping[str, Any] | None, email: str | None) -> str | None:
    name = (profile or {}).get("name")
    return name if isinstance(name, str) and name else email


def account(tx: Tx, actor: Actor) -> AccountSummary:
    """The acting account as the components show it: any enabled component may read it."""
    require_component(actor, *COMPONENT_FEATURES)
    view = accounts.retrieve(tx, actor, actor.account_id)
    acct = view.account
    return AccountSummary(
        id=acct.id,
        display_name=_display_name(acct.business_profile, acct.email),
        country=acct.country,
        default_currency=acct.default_currency,
        livemode=actor.livemode,
        components=components_of(actor),
        schedule=acct.schedule,
        destinations=tuple(Destination.of(ea) for ea in view.external_accounts),
    )


# ---- the payout schedule -------------------------------------------------------------------------

_SCHEDULE_PARAM = "settings[payouts][schedule]["


@dataclass(frozen=True)
class SetSchedule:
    """A schedule edit: the fields given (None: not given), checked as `settings[payouts][schedule]`
    of an account update is."""

    interval: str
    delay_days: int | str | None = None
    weekly_anchor: str | None = None
    monthly_anchor: int | None = None
    component: str | None = None


def set_schedule(tx: Tx, actor: Actor, command: SetSchedule) -> Schedule:
    """The acting account's payout schedule changed by the account update use case (its event, its
    next automatic run), if the component's `edit_payout_schedule` feature is on."""
    component = paying_component(actor, command.component)
    require_component_feature(actor, component, "edit_payout_schedule")
    given: dict[str, Any] = {"interval": command.interval}
    for name in ("delay_days", "weekly_anchor", "monthly_anchor"):
        if getattr(command, name) is not None:
            given[name] = getattr(command, name)
    changes = AccountChanges(payouts=PayoutChanges(schedule=given))
    try:
        view = accounts.update(tx, actor, accounts.UpdateAccount(actor.account_id, changes))
    except InvalidRequest as refusal:
        # The embedded API takes the schedule's fields at the top level of its body.
        if refusal.param and refusal.param.startswith(_SCHEDULE_PARAM):
            refusal.param = refusal.param.removeprefix(_SCHEDULE_PARAM).rstrip("]")
        raise
    return view.account.schedule
