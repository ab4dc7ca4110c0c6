"""The embedded API's routes, mounted by `api/app.py` beside the v1 routes (docs/embedded.md §2)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from payoutkit.api.embedded import claim
from payoutkit.api.embedded.door import CLAIM
from payoutkit.api.wire import endpoint

routes: list[BaseRoute] = [
    Route(
        "/embedded/v1/claim",
        endpoint(claim.claim, claim.ClaimParams, door=CLAIM, idempotent=False),
        methods=["POST"],
    ),
]
