"""The endpoint wrapper: one request, one unit of work.

`endpoint(handler, Params)` builds a Starlette endpoint that authenticates (building the actor),
decodes the form (query string and body), validates it against `Params`, and runs
`handler(call, params, **path)` plus `expand[]` in ONE database transaction, then renders JSON with a
`Request-Id`. Refusals (payoutkit/errors.py) are rendered by class (api/errors.py); anything else is a
bug, logged and answered 500.

Idempotency (POST with `Idempotency-Key`): the stored response is looked up and the new one written in
the same transaction as the operation, so the key and the effect commit together. Two concurrent
requests with one key both run, but only one can insert the key row: the loser's transaction (its
effect included) rolls back on the unique key and it replays the winner's response. Errors raised while
validating are not stored (Stripe's rule); errors raised by the operation are, like successes.

A stored response is kept `IDEMPOTENCY_TTL` (24 hours, Stripe's promise) by the mode's clock: an older
record is gone for the request that finds it (deleted in its unit, the key is new again), and the
worker deletes expired records in bounded batches (`services/jobs.prune_idempotency`), so that the
responses they hold — a webhook endpoint's signing secret among them — are not kept longer. The records
are the store's (`store/idempotency.py`); a unit that meets another request's record of its key fails
with `KeyTaken`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from payoutkit.api import expand as expansion
from payoutkit.api import form
from payoutkit.api.auth import acting_account, bearer_key, lookup_key
from payoutkit.api.context import Call, Refused
from payoutkit.api.errors import render, server_error
from payoutkit.api.params import Empty, Params, parse
from payoutkit.errors import (
    BodyTooLarge,
    Conflict,
    IdempotencyError,
    InvalidRequest,
    Refusal,
)
from payoutkit.ids import new_id
from payoutkit.ledger.frozen import made_whole
from payoutkit.runtime import Runtime
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import idempotency as keys
from payoutkit.store.aio import First
from payoutkit.store.idempotency import KeyTaken

log = logging.getLogger("payoutkit.api")

Handler = Callable[..., Any]
# Who acts: builds the request's actor from its credentials (a secret key by default; the embedded API
# passes the account session's token authenticator).
Authenticate = Callable[[Tx, Runtime, Request, str], Actor]

# How long a stored idempotent response is replayed, in seconds of the mode's clock.
IDEMPOTENCY_TTL = keys.TTL


class _ServiceFailed(Exception):
    """A refusal raised by the operation itself (after validation): stored under an idempotency key."""

    def __init__(self, error: Refusal) -> None:
        self.error = error


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)


def json_response(status: int, body: Any, request_id: str, **headers: str) -> Response:
    return Response(
        dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"Request-Id": request_id, **headers},
    )


def authenticate(conn: Tx, rt: Runtime, request: Request, request_id: str) -> Actor:
    key_account, livemode, _ = lookup_key(conn, rt, bearer_key(request.headers.get("authorization")))
    account = acting_account(conn, rt, key_account, livemode, request.headers.get("stripe-account"))
    # The mode's time is read in the unit when (if) first asked for (`Actor.reading_now`): reading one
    # payout never needs it, and a payout's first read reads it along (store/payers.py).
    idempotency_key = request.headers.get("idempotency-key") if request.method == "POST" else None
    return Actor.reading_now(
        lambda: rt.now_in(conn, livemode), account, key_account, livemode, request_id, idempotency_key
    )


def _too_large(limit: int) -> Refusal:
    return BodyTooLarge(f"Request body too large: at most {limit} bytes are accepted.")


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


# The request body, refused (413) past a limit: for the other doors' decoders (api/embedded/door.py).
read_body = _body


async def _params(request: Request, max_body_bytes: int) -> dict[str, Any]:
    for name, value in request.path_params.items():
        if "\x00" in str(value):
            raise InvalidRequest(f"Invalid {name}: it cannot contain NUL characters.", param=name)
    query = list(request.query_params.multi_items()) if request.scope.get("query_string") else []
    if request.method in ("POST", "DELETE"):
        body = (await _body(request, max_body_bytes)).decode("utf-8", errors="replace")
        ctype = request.headers.get("content-type", "")
        if body and "json" in ctype:
            raise InvalidRequest("Payoutkit takes form-encoded bodies (application/x-www-form-urlencoded).")
        if body:
            fields = form.pairs(body)
            if len(query) + len(fields) > form.MAX_PARAMS:
                raise form.too_many()
            return form.decode_pairs(query) | form.decode_pairs(fields)
    return form.decode_pairs(query) if query else {}


def _expand_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(i, str) for i in items):
        raise InvalidRequest("Invalid array: expand must be an array of strings", param="expand")
    return items


def request_hash(request: Request, params: dict[str, Any]) -> str:
    canonical = orjson.dumps(
        [request.method, request.url.path, request.headers.get("stripe-account"), params],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


def _stored(conn: Tx, actor: Actor, key: str) -> keys.Stored | None:
    """The live record of this key, if any; an expired one is deleted and the key is new again."""
    return keys.find(conn, actor.account_id, actor.livemode, key, lambda: actor.now)


def _replay(row: keys.Stored, digest: str) -> tuple[int, Any, bool]:
    if row.request_hash != digest:
        raise IdempotencyError(
            "Keys for idempotent requests can only be used with the same parameters they were first "
            f"used with. Try using a key other than '{row.key}' if you meant to execute a different "
            "request."
        )
    return row.status_code, orjson.loads(row.body), True


def _remember(conn: Tx, actor: Actor, key: str, digest: str, status: int, body: Any) -> None:
    response = keys.Response(digest, status, dumps(body).decode())
    keys.remember(conn, actor.account_id, actor.livemode, key, actor.now, response)


_EMPTY = Empty()


@dataclass(slots=True)  # not frozen: made on every request, and a frozen __init__ costs more
class _Request:
    """One request being answered: what each of its units of work needs."""

    rt: Runtime
    request: Request
    request_id: str
    key: str  # the Idempotency-Key when the response is to be stored under it, else ""
    digest: str
    who: Authenticate = authenticate

    def actor(self, conn: Tx) -> Actor:
        return self.who(conn, self.rt, self.request, self.request_id)


@dataclass(slots=True)
class _Operation:
    handler: Handler
    params: Any
    path: dict[str, str]
    expand: list[str]


async def _prepare(
    request: Request, rt: Runtime, request_id: str, endpoint: _Endpoint
) -> tuple[_Request, _Operation]:
    """Decode and validate the request (refusals here are never stored under a key)."""
    raw = await endpoint.decode(request, rt.settings.max_body_bytes)
    expand = _expand_list(raw.pop("expand", None))
    # No parameters for an endpoint that takes none: its one (frozen, empty) instance.
    model = _EMPTY if not raw and endpoint.params is Empty else parse(endpoint.params, raw)
    idem = request.headers.get("idempotency-key") if request.method == "POST" else None
    if idem is not None and not 0 < len(idem) <= 255:
        raise InvalidRequest("Idempotency-Key must be 1 to 255 characters.", param="Idempotency-Key")
    stored = bool(idem and endpoint.idempotent)
    digest = request_hash(request, raw) if stored else ""
    req = _Request(rt, request, request_id, idem if stored and idem else "", digest, endpoint.authenticate)
    return req, _Operation(endpoint.handler, model, dict(request.path_params), expand)


def _unit(conn: Tx, req: _Request, op: _Operation) -> tuple[int, Any, bool]:
    """The request's unit of work: the operation, or the replay of the response stored under its key."""
    actor = req.actor(conn)
    if req.key:
        row = _stored(conn, actor, req.key)
        if row is not None:
            return _replay(row, req.digest)
    call = made_whole(Call, conn=conn, runtime=req.rt, actor=actor)  # every field
    try:
        body = op.handler(call, op.params, **op.path)
        if isinstance(body, Refused):
            status, body = render(body.refusal)
        else:
            status, body = 200, expansion.expand(conn, call.actor, body, op.expand)
    except Refusal as exc:
        raise _ServiceFailed(exc) from exc
    if req.key:
        _remember(conn, actor, req.key, req.digest, status, body)
    return status, body, False


async def _answer(
    req: _Request, op: _Operation, read_only: bool, first: First | None
) -> tuple[int, Any, bool]:
    """Run the unit; a refusal it raised is stored under the key in a unit of its own, and a key that
    a concurrent request stored first replays that request's response. A read's unit (`read_only`,
    a GET: no key) runs without the write lock (`Database.read`); a shared read's (`first`: see
    `endpoint`) with the same endpoint's reads by the same key that wait beside it
    (`Database.read_shared`)."""
    db = req.rt.db
    try:
        if first is not None:
            key = (op.handler, req.request.headers.get("authorization"))
            return await db.read_shared(key, _unit, req, op, first=first)
        if read_only:
            return await db.read(_unit, req, op)
        return await keys.run(db, _unit, req, op)
    except _ServiceFailed as failed:
        if not req.key:
            raise failed.error from None
        try:
            return await keys.run(db, _store_failure, req, failed.error)
        except KeyTaken:
            return await db.run(_replay_existing, req)
    except KeyTaken:
        if not req.key:
            raise
        return await db.run(_replay_existing, req)


Decode = Callable[[Request, int], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Door:
    """How requests come in: who acts (`authenticate`) and how the parameters are read (`decode`)."""

    authenticate: Authenticate
    decode: Decode


# The v1 API: a secret key (and `Stripe-Account`), Stripe's form encoding.
V1 = Door(authenticate, _params)


@dataclass(frozen=True)
class _Endpoint:
    handler: Handler
    params: type[Params]
    idempotent: bool
    door: Door

    @property
    def authenticate(self) -> Authenticate:
        return self.door.authenticate

    @property
    def decode(self) -> Decode:
        return self.door.decode


# The scope key under which the front door (api/app.py) leaves the `Stripe-Version` to answer with, when
# it has checked the header itself (the `StripeVersion` middleware is then not on the request's way).
VERSION_KEY = "payoutkit.stripe_version"
_JSON = (b"content-type", b"application/json")
_REPLAYED = (b"idempotent-replayed", b"true")


def response_start(status: int, payload: bytes, request_id: str, scope: Scope, *, replayed: bool) -> Message:
    """The `http.response.start` of a JSON answer: the headers `json_response` writes, in its order,
    and the `Stripe-Version` the front door checked (if it did)."""
    headers = [(b"request-id", request_id.encode())]
    if replayed:
        headers.append(_REPLAYED)
    headers += [(b"content-length", b"%d" % len(payload)), _JSON]
    version = scope.get(VERSION_KEY)
    if version is not None:
        headers.append((b"stripe-version", version))
    return {"type": "http.response.start", "status": status, "headers": headers}


class Endpoint:
    """An endpoint of the wire (an ASGI app, routed by Starlette's router or the front door's table):
    `handler(call, params, **path)` answered as one unit of work, the JSON written as two ASGI messages
    with its length known. See `endpoint`."""

    def __init__(self, ep: _Endpoint, then: Then | None, read_only: bool, first: First | None = None) -> None:
        self.ep = ep
        self.then = then
        self.read_only = read_only
        self.first = first

    async def answer(self, request: Request, rt: Runtime) -> tuple[int, Any, str, bool]:
        """The status and body of the answer, its request id, and whether it is a replay."""
        return await _respond(self.ep, self.then, self.read_only, self.first, request, rt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rt: Runtime = scope["app"].state.payoutkit
        status, body, request_id, replayed = await self.answer(Request(scope, receive), rt)
        payload = dumps(body)
        await send(response_start(status, payload, request_id, scope, replayed=replayed))
        await send({"type": "http.response.body", "body": payload})


Then = Callable[[Runtime, Any], Awaitable[None]]
# What a shared read's unit runs first (`endpoint(..., shared=)`): given who acts in each of its
# requests, it reads what they all want at once.
Together = Callable[[Tx, list[Actor], Runtime], None]


def _first_of_shared(together: Together) -> First:
    """The start of a shared unit of an endpoint: who acts in each of its requests (a request refused
    here is refused again in its own turn), then `together`."""

    def first(conn: Tx, reads: list[tuple[Any, ...]]) -> None:
        actors = []
        for req, _op in reads:
            try:
                actors.append(req.actor(conn))
            except Refusal:
                continue
        if actors:
            together(conn, actors, reads[0][0].rt)

    return first


async def _respond(
    ep: _Endpoint, then: Then | None, read_only: bool, first: First | None, request: Request, rt: Runtime
) -> tuple[int, Any, str, bool]:
    """The status and body of the answer, its request id, and whether it is a replay."""
    request_id = new_id("req", 14)
    replayed = False
    try:
        req, op = await _prepare(request, rt, request_id, ep)
        status, body, replayed = await _answer(req, op, read_only, first)
        if then is not None and status == 200:
            await then(rt, body)
    except Refusal as exc:
        status, body = render(exc)
    except Exception:
        log.exception("unhandled error in request %s", request_id)
        status, body = server_error(request_id)
    if rt.settings.access_log:
        log.info("%s %s %s %s", request.method, request.url.path, status, request_id)
    return status, body, request_id, replayed


def endpoint(  # noqa: PLR0913 (the endpoint's keyword options)
    handler: Handler,
    params: type[Params] = Empty,
    *,
    idempotent: bool = True,
    then: Then | None = None,
    read_only: bool = False,
    shared: Together | None = None,
    door: Door = V1,
) -> Callable[[Request], Awaitable[Response]]:
    """`handler(call, params, **path)` answered as one unit of work. `then(runtime, body)`, if given,
    runs after a successful unit (or its replay) has committed and before the response: work done in
    units of its own (the test clock's stepped advance). `read_only`: the handler only reads, and its
    unit takes no write lock (`Database.read`). `shared`, for a read whose handler keeps what it read
    for the other requests of its unit (`store/units.shared`): the requests of this endpoint by the
    same key that wait beside each other run in one unit (`Database.read_shared`), which begins with
    `shared(conn, actors, runtime)` given who acts in each, to read what they all want at once. `door`: who
    acts and how parameters are read (the v1 API's secret key and form encoding by default; the
    embedded API's session token and JSON).

    A Starlette endpoint (request → response); `route` builds a route that runs its ASGI app
    (`Endpoint`), which answers the same without a `Response` object."""
    if shared is not None and not read_only:
        raise ValueError("only a read's unit is shared")
    ep = _Endpoint(handler, params, idempotent, door)
    first = None if shared is None else _first_of_shared(shared)
    app = Endpoint(ep, then, read_only, first)

    async def handle(request: Request) -> Response:
        rt = request.app.state.payoutkit
        status, body, request_id, replayed = await _respond(ep, then, read_only, first, request, rt)
        extra = {"Idempotent-Replayed": "true"} if replayed else {}
        return json_response(status, body, request_id, **extra)

    _APPS[handle] = app
    return handle


# Each endpoint's ASGI app, by the Starlette endpoint `endpoint` made.
_APPS: dict[Callable[[Request], Awaitable[Response]], Endpoint] = {}


def route(path: str, method: str, handler: Handler, *args: Any, **kwargs: Any) -> Route:
    """A route to `endpoint(handler, *args, **kwargs)` that runs its ASGI app (`Endpoint`)."""
    handle = endpoint(handler, *args, **kwargs)
    found = Route(path, handle, methods=[method])
    found.app = _APPS[handle]
    return found


def _store_failure(conn: Tx, req: _Request, error: Refusal) -> tuple[int, Any, bool]:
    actor = req.actor(conn)
    row = _stored(conn, actor, req.key)
    if row is not None:
        return _replay(row, req.digest)
    status, body = render(error)
    _remember(conn, actor, req.key, req.digest, status, body)
    return status, body, False


def _replay_existing(conn: Tx, req: _Request) -> tuple[int, Any, bool]:
    row = _stored(conn, req.actor(conn), req.key)
    if row is None:  # the winner rolled back after all: ask the client to retry
        raise Conflict("A concurrent request with this idempotency key failed; retry.")
    return _replay(row, req.digest)
