"""`POST /embedded/v1/claim`: a client secret, claimed once with the platform's publishable key, for
an embedded token (docs/embedded.md §2)."""

from __future__ import annotations

from typing import Any

from payoutkit.api.context import Call
from payoutkit.api.params import Params
from payoutkit.records.account_sessions import components_doc
from payoutkit.services import account_sessions
from payoutkit.services.account_sessions import SERVED, ClaimSession


class ClaimParams(Params):
    client_secret: str
    publishable_key: str


def claim(call: Call, p: ClaimParams) -> dict[str, Any]:
    command = ClaimSession(client_secret=p.client_secret, publishable_key=p.publishable_key)
    rt, conn = call.runtime, call.conn
    claimed = account_sessions.claim(conn, command, lambda livemode: rt.now_in(conn, livemode))
    served = {k: v for k, v in claimed.session.components.items() if k in SERVED}
    return {
        "token": claimed.token,
        "expires_at": claimed.record.expires_at,
        "account": claimed.record.account_id,
        "livemode": claimed.record.livemode,
        "components": components_doc(served),
    }
