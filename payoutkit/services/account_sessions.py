"""Account sessions: a platform grants one connected account's embedded components to a browser.

`create` (`POST /v1/account_sessions`, the platform's secret key) resolves every component of Stripe's
schema against the account's controller (docs/embedded.md §1) and keeps the digest of a new client
secret; `claim` (the embedded API, with the platform's publishable key) exchanges the secret, once,
for a short-lived embedded token; `token_in_force` is what the embedded API's authenticator checks on
every request. Times are the session's mode's (test mode may run on the simulated clock): the caller
passes `now_of(livemode)`, since a claim's mode is the session's, known only once it is found.

Refusals of a session or token are `SessionRefused` (401 `authentication_error`), with code
`session_claimed` or `session_expired` where connect.js should fetch a new client secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing, SessionRefused
from payoutkit.ids import check_id, new_id, new_secret
from payoutkit.records.account_sessions import AccountSession, ComponentConfig, EmbeddedToken, scope_features
from payoutkit.records.accounts import Account, Controller
from payoutkit.services.actor import Actor, Scope
from payoutkit.services.platform import key_digest
from payoutkit.services.policy import require_platform
from payoutkit.store import Tx
from payoutkit.store import account_sessions as store
from payoutkit.store import accounts as store_accounts
from payoutkit.store import keys as store_keys

# How long a client secret may be claimed, and how long a claimed token lives (seconds, mode's clock).
SESSION_SECONDS = 30 * 60
TOKEN_SECONDS = 10 * 60
SECRET_PREFIX = "accs_secret_"  # noqa: S105 (a prefix, not a secret); + "_" and 48 random characters: `accs_secret__…`, as Stripe's
TOKEN_PREFIXES = {False: "ekt_test", True: "ekt_live"}  # the mode shows, as in Stripe's keys

_PAYOUT_FEATURES = (
    "disable_stripe_user_authentication",
    "edit_payout_schedule",
    "external_account_collection",
    "instant_payouts",
    "standard_payouts",
)
_ACCOUNT_FEATURES = ("disable_stripe_user_authentication", "external_account_collection")
_PAYMENT_FEATURES = (
    "capture_payments",
    "destination_on_behalf_of_charge_management",
    "dispute_management",
    "refund_management",
    "smart_disputes_management",
)
_ISSUING_FEATURES = (
    "card_management",
    "card_spend_dispute_management",
    "cardholder_management",
    "spend_control_management",
)

# Every component of Stripe's schema (`connect_embedded_account_session_create_components`) and its
# features; the response echoes all of them.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "account_management": _ACCOUNT_FEATURES,
    "account_onboarding": _ACCOUNT_FEATURES,
    "balance_report": (),
    "balances": _PAYOUT_FEATURES,
    "disputes_list": _PAYMENT_FEATURES,
    "documents": (),
    "financial_account": (*_ACCOUNT_FEATURES, "send_money", "transfer_balance"),
    "financial_account_transactions": ("card_spend_dispute_management",),
    "instant_payouts_promotion": (*_ACCOUNT_FEATURES, "instant_payouts"),
    "issuing_card": _ISSUING_FEATURES,
    "issuing_cards_list": (*_ISSUING_FEATURES, "disable_stripe_user_authentication"),
    "notification_banner": _ACCOUNT_FEATURES,
    "payment_details": _PAYMENT_FEATURES,
    "payment_disputes": _PAYMENT_FEATURES[1:],
    "payments": _PAYMENT_FEATURES,
    "payout_details": (),
    "payout_reconciliation_report": (),
    "payouts": _PAYOUT_FEATURES,
    "payouts_list": (),
    "tax_registrations": (),
    "tax_settings": (),
}
# The components Payoutkit serves (connect.js); any other may only be sent disabled.
SERVED = frozenset({"balances", "payouts", "payouts_list", "payout_details"})


@dataclass(frozen=True)
class ComponentRequest:
    enabled: bool
    features: Mapping[str, bool] = field(default_factory=dict)  # only those given


@dataclass(frozen=True)
class CreateSession:
    account: str
    components: Mapping[str, ComponentRequest]


@dataclass(frozen=True)
class CreatedSession:
    session: AccountSession
    client_secret: str  # shown once, in the response; only its digest is kept


@dataclass(frozen=True)
class ClaimSession:
    client_secret: str
    publishable_key: str


@dataclass(frozen=True)
class Claimed:
    token: str  # shown once; only its digest is kept
    record: EmbeddedToken
    session: AccountSession


NowOf = Callable[[bool], int]


def _connected_account(tx: Tx, actor: Actor, account_id: str) -> Account:
    check_id(account_id, ("acct",), "account", "account")
    account = store_accounts.get(tx, account_id)
    if (
        account is None
        or account.kind != "connected"
        or account.platform_id != actor.platform_id
        or account.livemode != actor.livemode
    ):
        raise ResourceMissing.for_id("account", account_id, "account")
    return account


def payout_features(given: Mapping[str, bool], controller: Controller | None, param: str) -> dict[str, bool]:
    """The features of `balances` or `payouts`, with Stripe's defaults resolved against the account's
    controller (STRIPE_API.md §7)."""
    stripe_liable = controller is None or controller.losses_payments == "stripe"
    platform_collects = controller is not None and controller.requirement_collection == "application"
    collection = given.get("external_account_collection", True)
    no_auth = given.get("disable_stripe_user_authentication")
    if no_auth and not platform_collects:
        raise InvalidRequest(
            "disable_stripe_user_authentication can only be true for an account whose requirements "
            "the platform collects (controller.requirement_collection is application).",
            param=f"{param}[features][disable_stripe_user_authentication]",
        )
    return {
        "disable_stripe_user_authentication": (not collection and platform_collects)
        if no_auth is None
        else no_auth,
        "edit_payout_schedule": given.get("edit_payout_schedule", stripe_liable),
        "external_account_collection": collection,
        "instant_payouts": given.get("instant_payouts", True),
        "standard_payouts": given.get("standard_payouts", stripe_liable),
    }


def resolve_components(
    requested: Mapping[str, ComponentRequest], controller: Controller | None
) -> dict[str, ComponentConfig]:
    """Every component of the schema, resolved: those we serve as requested with their defaults, the
    others disabled (refused when asked enabled) with their features false unless given."""
    unknown = sorted(set(requested) - set(COMPONENTS))
    if unknown:
        param = f"components[{unknown[0]}]"
        raise InvalidRequest(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")
    if not any(c.enabled for c in requested.values()):
        raise InvalidRequest("At least one component must be enabled.", param="components")
    out: dict[str, ComponentConfig] = {}
    for name, features in COMPONENTS.items():
        asked = requested.get(name, ComponentRequest(enabled=False))
        param = f"components[{name}]"
        if asked.enabled and name not in SERVED:
            raise InvalidRequest(
                f"Payoutkit does not serve the {name} component: it serves {', '.join(sorted(SERVED))}.",
                param=param,
            )
        if features == _PAYOUT_FEATURES:
            resolved = payout_features(asked.features, controller, param)
        else:
            resolved = {f: asked.features.get(f, False) for f in features}
        out[name] = ComponentConfig(enabled=asked.enabled, features=resolved)
    return out


def create(tx: Tx, actor: Actor, command: CreateSession) -> CreatedSession:
    """A new session for a connected account of the platform, in the key's mode."""
    require_platform(actor, "create account sessions")
    account = _connected_account(tx, actor, command.account)
    components = resolve_components(command.components, account.controller)
    secret = new_secret(SECRET_PREFIX, 48)
    session = AccountSession(
        id=new_id("accs"),
        secret_digest=key_digest(secret),
        account_id=account.id,
        platform_id=actor.platform_id,
        livemode=actor.livemode,
        components=components,
        created=actor.now,
        expires_at=actor.now + SESSION_SECONDS,
    )
    store.insert_session(tx, session)
    return CreatedSession(session, secret)


def _check_publishable(tx: Tx, session: AccountSession, key: str) -> None:
    owner = store_keys.active(tx, key_digest(key)) if key.startswith(("pk_test_", "pk_live_")) else None
    if (
        owner is None
        or owner.kind != "publishable"
        or owner.account_id != session.platform_id
        or owner.livemode != session.livemode
    ):
        mode = "live" if session.livemode else "test"
        raise SessionRefused(
            "Invalid publishable key: a client secret is claimed with an active publishable key of the "
            f"platform that created the account session, in its mode ({mode})."
        )


def claim(tx: Tx, command: ClaimSession, now_of: NowOf) -> Claimed:
    """Exchange a client secret, once, for an embedded token carrying the session's scope."""
    secret = command.client_secret
    session = store.by_secret(tx, key_digest(secret)) if secret.startswith(SECRET_PREFIX + "_") else None
    if session is None:
        raise SessionRefused("Invalid client secret: no such account session.")
    _check_publishable(tx, session, command.publishable_key)
    now = now_of(session.livemode)
    if session.claimed_at is not None:
        raise _claimed()
    if now >= session.expires_at:
        raise SessionRefused("This account session has expired; create a new one.", code="session_expired")
    if not store.claim(tx, session.id, now):
        raise _claimed()
    token = new_secret(TOKEN_PREFIXES[session.livemode], 48)
    record = EmbeddedToken(
        digest=key_digest(token),
        session_id=session.id,
        account_id=session.account_id,
        platform_id=session.platform_id,
        livemode=session.livemode,
        features=scope_features(session.components, SERVED),
        expires_at=min(now + TOKEN_SECONDS, session.expires_at + TOKEN_SECONDS),
    )
    store.insert_token(tx, record)
    return Claimed(token, record, session)


def _claimed() -> SessionRefused:
    return SessionRefused(
        "This account session's client secret has already been claimed; create a new session.",
        code="session_claimed",
    )


def token_in_force(tx: Tx, token: str, now_of: NowOf) -> tuple[EmbeddedToken, int]:
    """The unexpired embedded token `token` and its mode's time; else 401 (`session_expired` once it
    has expired: connect.js then claims a new client secret)."""
    if not token.startswith(tuple(p + "_" for p in TOKEN_PREFIXES.values())):
        raise SessionRefused(
            "The embedded API is authorized by an account session's token (Authorization: Bearer "
            "ekt_…), claimed with POST /embedded/v1/claim; API keys are not accepted here."
        )
    found = store.token(tx, key_digest(token))
    if found is None:
        raise SessionRefused("Invalid embedded token.")
    now = now_of(found.livemode)
    if now >= found.expires_at:
        raise SessionRefused(
            "The embedded token has expired; claim a new client secret.", code="session_expired"
        )
    return found, now


def scope_of(token: EmbeddedToken) -> Scope:
    """What an actor of the token may reach: its account, and the session's enabled features."""
    return Scope(account=token.account_id, features=token.features, session=token.session_id)


def log_out(tx: Tx, actor: Actor) -> int:
    """End the actor's account session (connect.js's `logout()`): every token claimed for it stops
    working at once, as an expired one does not (401 `Invalid embedded token`, no new claim of the
    spent client secret). Answers how many tokens ended."""
    session = actor.scope.session
    if not session:
        raise PermissionDenied("Only an account session's token can log out.")
    return store.revoke_tokens(tx, session)
