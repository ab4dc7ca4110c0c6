"""The embedded API's routes, mounted by `api/app.py` beside the v1 routes (docs/embedded.md §2).

Every route but the claim goes through the `EMBEDDED` door (the session token's scoped actor, JSON
bodies); reads run as read units (`read_only`), and so does the payout preview, which writes nothing
(no response is stored under an Idempotency-Key for it). A payout's creation is stored under its key.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from payoutkit.api.embedded import account, balance, claim, payouts, session
from payoutkit.api.embedded.door import CLAIM, EMBEDDED
from payoutkit.api.params import Empty
from payoutkit.api.wire import route


def _r(path: str, method: str, handler: object, *args: object, **kwargs: object) -> Route:
    return route(f"/embedded/v1{path}", method, handler, *args, door=EMBEDDED, **kwargs)  # type: ignore[arg-type]


routes: list[BaseRoute] = [
    route("/embedded/v1/claim", "POST", claim.claim, claim.ClaimParams, door=CLAIM, idempotent=False),
    _r("/account", "GET", account.retrieve, Empty, read_only=True),
    _r("/balance", "GET", balance.retrieve, balance.BalanceParams, read_only=True),
    _r("/payouts", "GET", payouts.list_payouts, payouts.PayoutListParams, read_only=True),
    _r("/payouts/preview", "POST", payouts.preview, payouts.PayoutParams, idempotent=False, read_only=True),
    _r("/payouts/{payout}", "GET", payouts.retrieve, Empty, read_only=True),
    _r("/payouts", "POST", payouts.create, payouts.PayoutParams),
    _r("/payout_schedule", "POST", account.set_schedule, account.ScheduleParams),
    _r("/logout", "POST", session.logout, Empty, idempotent=False),
]
