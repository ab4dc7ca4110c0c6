"""CORS for the embedded API only (docs/embedded.md, "CORS"): a small ASGI middleware.

Only `/embedded/v1/*` answers cross-origin; `/v1/...` is never touched (no CORS headers, ever). A
request to the embedded API that carries an `Origin` is let in when the origin is

- one of `Settings.embed_origins` (`PAYOUTKIT_EMBED_ORIGINS`), in either mode;
- the server's own origin (a page Payoutkit serves itself);
- a loopback origin (`http://127.0.0.1:<port>`, `http://localhost:<port>`, `http://[::1]:<port>`) and
  the request is in test mode: its bearer is a test token (`ekt_test_…`), or, for the claim, its body
  names a test publishable key (`pk_test_…`). A preflight carries neither, so a loopback origin's
  preflight is answered; the request that follows is refused if it turns out to be live.

Any other origin is refused with 403 and no CORS headers — the preflight, and the request itself (a
browser sends `Origin` with every cross-origin request), so a page of a foreign origin can neither read
nor cause anything. A request without `Origin` (a server, a test client) passes untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payoutkit.api.errors import render
from payoutkit.errors import PermissionDenied
from payoutkit.ids import new_id

PREFIX = "/embedded/v1/"
CLAIM_PATH = "/embedded/v1/claim"
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSE_HEADERS = "Request-Id, Idempotent-Replayed"
MAX_AGE = "600"
# The claim's body is read here (to know its mode) only up to this size; a larger one is not test mode.
PEEK_LIMIT = 64 * 1024
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$")


def is_loopback(origin: str) -> bool:
    return _LOOPBACK.match(origin) is not None


def _refusal(origin: str) -> list[Message]:
    status, body = render(PermissionDenied(f"The origin {origin} may not call the embedded API."))
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"request-id", new_id("req", 14).encode()),
        (b"vary", b"Origin"),
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    ]


async def _send_all(send: Send, messages: Iterable[Message]) -> None:
    for message in messages:
        await send(message)


class EmbeddedCors:
    def __init__(self, app: ASGIApp, origins: Iterable[str] = ()) -> None:
        self.app = app
        self.origins = frozenset(o.lower() for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, _vary_only(send))
            return
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
        trusted = origin.lower() in self.origins or origin.lower() == _own_origin(scope, headers)
        if preflight:
            if trusted or is_loopback(origin):
                await _send_all(send, _preflight(origin))
            else:
                await _send_all(send, _refusal(origin))
            return
        if not trusted and is_loopback(origin):
            trusted, receive = await _test_mode(scope, headers, receive)
        if not trusted:
            await _send_all(send, _refusal(origin))
            return
        await self.app(scope, receive, _with_cors(send, origin))


def _own_origin(scope: Scope, headers: Headers) -> str:
    return f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()


def _preflight(origin: str) -> list[Message]:
    headers = [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
        (b"access-control-max-age", MAX_AGE.encode()),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    return [
        {"type": "http.response.start", "status": 204, "headers": headers},
        {"type": "http.response.body", "body": b""},
    ]


async def _test_mode(scope: Scope, headers: Headers, receive: Receive) -> tuple[bool, Receive]:
    """Whether the request is in test mode (see the module's docstring), and the `receive` to give
    the app (the claim's body, once read here, is replayed)."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip().startswith("ekt_test_"), receive
    if scope["path"] != CLAIM_PATH or scope["method"] != "POST":
        return False, receive
    messages: list[Message] = []
    size, more = 0, True
    while more and size <= PEEK_LIMIT:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        more = message.get("type") == "http.request" and bool(message.get("more_body"))
    body = b"".join(m.get("body", b"") for m in messages)
    test = False
    if not more:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        key = parsed.get("publishable_key") if isinstance(parsed, dict) else None
        test = isinstance(key, str) and key.startswith("pk_test_")
    return test, _replay(messages, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _add_headers(message: Message, extra: list[tuple[bytes, bytes]]) -> Message:
    if message["type"] != "http.response.start":
        return message
    names = {name for name, _ in extra}
    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
    return {**message, "headers": [*kept, *extra]}


def _with_cors(send: Send, origin: str) -> Send:
    extra = [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
        (b"vary", b"Origin"),
    ]

    async def wrapped(message: Message) -> None:
        await send(_add_headers(message, extra))

    return wrapped


def _vary_only(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        await send(_add_headers(message, [(b"vary", b"Origin")]))

    return wrapped
