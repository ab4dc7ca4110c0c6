"""Who acts on the embedded API: the account session's token (docs/embedded.md §2, "Claim and token").

`session_actor` is the embedded door's authenticator: `Authorization: Bearer ekt_…`, a token a claim
gave and that has not expired, acts as the session's account, for its platform, in its mode, with the
session's `Scope` (that account; its enabled components and features). An API key (secret or
publishable) is no token here: 401. The claim itself is authenticated by what its body holds (the
client secret and the platform's publishable key), so its door acts as `nobody`: an actor that reaches
no account, which the claim's handler never uses.
"""

from __future__ import annotations

from starlette.requests import Request

from payoutkit.errors import SessionRefused
from payoutkit.runtime import Runtime
from payoutkit.services.account_sessions import scope_of, token_in_force
from payoutkit.services.actor import Actor, Scope
from payoutkit.store import Tx

# Reaches no account and no feature.
NOWHERE = Scope(account="", features=frozenset())


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise SessionRefused(
            "You did not provide an embedded token: send the token a claim gave "
            "(Authorization: Bearer ekt_…)."
        )
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise SessionRefused("Invalid Authorization header: use Bearer auth with an embedded token.")
    return value.strip()


def session_actor(conn: Tx, rt: Runtime, request: Request, request_id: str) -> Actor:
    token, now = token_in_force(
        conn, bearer_token(request.headers.get("authorization")), lambda livemode: rt.now_in(conn, livemode)
    )
    return Actor(
        account_id=token.account_id,
        platform_id=token.platform_id,
        livemode=token.livemode,
        now=now,
        request_id=request_id,
        idempotency_key=request.headers.get("idempotency-key") if request.method == "POST" else None,
        scope=scope_of(token),
    )


def nobody(conn: Tx, rt: Runtime, request: Request, request_id: str) -> Actor:
    """The claim's actor: no account, no mode of its own (the session claimed has them)."""
    return Actor(
        account_id="",
        platform_id="",
        livemode=False,
        now=rt.live_clock.now(),
        request_id=request_id,
        scope=NOWHERE,
    )
