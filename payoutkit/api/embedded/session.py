"""`POST /embedded/v1/logout`: the account session ends (connect.js's `logout()`, docs/embedded.md §2).

Every token claimed for the session stops working at once; the components then show what a refused
token shows. The session's client secret was spent by its claim, so nothing of it can be used again:
the platform makes a new account session for the next sign-in.
"""

from __future__ import annotations

from typing import Any

from payoutkit.api.context import Call
from payoutkit.api.params import Empty
from payoutkit.services import account_sessions


def logout(call: Call, p: Empty) -> dict[str, Any]:
    ended = account_sessions.log_out(call.conn, call.actor)
    return {"object": "embedded_session", "logged_out": True, "tokens_ended": ended}
