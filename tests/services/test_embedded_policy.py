"""Who may call what on the embedded API (docs/embedded.md §2): the pure policies and the scope a
session's components give."""

from __future__ import annotations

import pytest

from payoutkit.errors import FeatureDenied
from payoutkit.records.account_sessions import ComponentConfig, scope_features
from payoutkit.services.account_sessions import SERVED
from payoutkit.services.actor import Actor, Scope
from payoutkit.services.policy import require_component, require_component_feature


def _actor(features: frozenset[str] | None) -> Actor:
    scope = Scope() if features is None else Scope(account="acct_1", features=features)
    return Actor(account_id="acct_1", platform_id="acct_p", livemode=False, now=0, scope=scope)


SESSION = _actor(frozenset({"balances", "balances.instant_payouts", "payout_details"}))


def test_a_session_reaches_its_enabled_components_and_features() -> None:
    require_component(SESSION, "balances")
    require_component(SESSION, "payouts", "balances")
    require_component(SESSION, "payouts", "payouts_list", "payout_details")
    require_component_feature(SESSION, "balances", "instant_payouts")


@pytest.mark.parametrize(
    ("components", "feature", "named"),
    [
        (("payouts",), None, "payouts component"),
        (("payouts", "payouts_list"), None, "payouts or payouts_list component"),
        (("balances",), "standard_payouts", "balances.standard_payouts"),
        (("payouts",), "instant_payouts", "payouts component"),  # enabled for balances only
    ],
)
def test_anything_else_is_refused_naming_what_is_missing(
    components: tuple[str, ...], feature: str | None, named: str
) -> None:
    def call() -> None:
        if feature is None:
            require_component(SESSION, *components)
        else:
            require_component_feature(SESSION, components[0], feature)

    with pytest.raises(FeatureDenied) as refused:
        call()
    assert named in refused.value.message


def test_a_secret_keys_actor_passes_every_policy() -> None:
    full = _actor(None)
    require_component(full, "payouts")
    require_component_feature(full, "payouts", "edit_payout_schedule")


def test_the_scope_holds_enabled_served_components_and_their_enabled_features() -> None:
    components = {
        "balances": ComponentConfig(True, {"instant_payouts": True, "standard_payouts": False}),
        "payouts": ComponentConfig(False, {"instant_payouts": True}),
        "payouts_list": ComponentConfig(True, {}),
        "payments": ComponentConfig(True, {"refund_management": True}),  # not served: never in scope
    }
    assert scope_features(components, SERVED) == frozenset(
        {"balances", "balances.instant_payouts", "payouts_list"}
    )
