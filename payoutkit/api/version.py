"""`Stripe-Version`: the API version a request asks for, checked, and answered on every response.

Stripe answers each request in the version it names (or the account's default) and says which in the
`Stripe-Version` response header, which the official Node SDK reads. Payoutkit renders one version
whatever is asked (docs/api.md), but it checks the header as Stripe does: a version is a date
`YYYY-MM-DD` that exists, with the release's lowercase name after a dot since 2024-09-30 (`.acacia`),
and optionally `; <beta>=v<n>` flags. Anything else is refused before the request is looked at, with
Stripe's message, and changes nothing.
"""

from __future__ import annotations

import datetime
import functools
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payoutkit.api.errors import render
from payoutkit.api.wire import json_response
from payoutkit.errors import InvalidRequest
from payoutkit.ids import new_id
from payoutkit.services.events import API_VERSION

_VERSION = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:\.[a-z]+)?(?:; *[a-z][a-z0-9_]*=v\d+)*")


@functools.lru_cache(maxsize=64)
def is_valid(version: str) -> bool:
    match = _VERSION.fullmatch(version)
    if match is None:
        return False
    try:
        datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return True


class StripeVersion:
    """ASGI middleware for the v1 API: refuse an invalid `Stripe-Version`, answer the version used."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        asked = next((v for k, v in scope["headers"] if k == b"stripe-version"), b"").decode("latin-1")
        if asked and not is_valid(asked):
            status, body = render(InvalidRequest(f"Invalid Stripe API version: {asked}"))
            await json_response(status, body, new_id("req", 14))(scope, receive, send)
            return
        answered = (asked or API_VERSION).encode("latin-1")

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"stripe-version", answered)]
            await send(message)

        await self.app(scope, receive, send_with_version)
