"""Who may do what: pure decisions on an actor, raising the refusal the wire layer renders as 403."""

from __future__ import annotations

from payoutkit.errors import FeatureDenied, PermissionDenied
from payoutkit.services.actor import Actor


def require_platform(actor: Actor, what: str) -> None:
    """Platform-only work: a secret key acting as itself, not through `Stripe-Account`."""
    if not actor.is_platform:
        raise PermissionDenied(f"Only the platform can {what}; remove the Stripe-Account header.")


def require_feature(actor: Actor, feature: str, what: str) -> None:
    """Work that the actor's scope must enable (an account session's component features)."""
    if not actor.scope.allows(feature):
        raise PermissionDenied(f"This session cannot {what}: the feature {feature} is not enabled.")


def may_reach(actor: Actor, account_id: str) -> bool:
    """Whether an object owned by `account_id` is within the actor's reach."""
    if actor.scope.account is not None and actor.scope.account != account_id:
        return False
    return account_id == actor.account_id


def require_component(actor: Actor, *components: str) -> None:
    """Embedded work that one of `components` must be enabled for (docs/embedded.md, "Who may call
    what"); an actor with a full scope (a secret key) may always."""
    if actor.scope.features is None:
        return
    if not any(actor.scope.allows(c) for c in components):
        names = " or ".join(components)
        raise FeatureDenied(f"This account session does not enable the {names} component.")


def require_component_feature(actor: Actor, component: str, feature: str) -> None:
    """Embedded work that needs `component` enabled with `feature` on (e.g. `balances`,
    `instant_payouts`); refused on the server whatever the front end shows."""
    require_component(actor, component)
    name = f"{component}.{feature}"
    if not actor.scope.allows(name):
        raise FeatureDenied(f"This account session does not enable {feature} for {component} ({name}).")


def session_grants(actor: Actor, feature: str) -> bool:
    """Whether the actor is an account session — a scope its platform made — that enables `feature`
    in one of its components (`<component>.<feature>`): the platform's own grant, which work
    otherwise reserved to the platform may then rely on."""
    features = actor.scope.features
    return features is not None and any(f.endswith("." + feature) for f in features)
