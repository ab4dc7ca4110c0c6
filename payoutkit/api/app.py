"""`create_app(settings)`: the Starlette application. Nothing is created at import time."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from payoutkit import worker
from payoutkit.api.embedded.cors import EmbeddedCors
from payoutkit.api.embedded.routes import routes as embedded_routes
from payoutkit.api.errors import render
from payoutkit.api.front import PREFIX, RouteTable, version_of
from payoutkit.api.routes import routes
from payoutkit.api.static import routes as static_routes
from payoutkit.api.version import StripeVersion
from payoutkit.api.wire import VERSION_KEY, json_response
from payoutkit.config import Settings
from payoutkit.errors import MethodNotAllowed, UnknownUrl
from payoutkit.ids import new_id
from payoutkit.runtime import Runtime, open_runtime

log = logging.getLogger("payoutkit")


async def not_found(request: Request, exc: Exception) -> Response:
    status, body = render(UnknownUrl(request.method, request.url.path))
    return json_response(status, body, new_id("req", 14))


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    status, body = render(MethodNotAllowed(request.method, request.url.path))
    return json_response(status, body, new_id("req", 14))


class App(Starlette):
    """The Starlette application, whose v1 requests the front door (api/front.py) routes by its table
    when it can: straight to the endpoint, past the router's list and the middleware."""

    table: RouteTable

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX) and not scope.get("root_path"):
            found = self.table.match(scope)
            version = version_of(scope) if found is not None else None
            if found is not None and version is not None:
                endpoint, params = found
                scope["app"] = self
                scope["path_params"] = params
                scope[VERSION_KEY] = version
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> Starlette:
    if runtime is None:
        runtime, _ = open_runtime(settings)
    state = runtime

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.db.start_checkpointer()  # SQLite: WAL checkpoints off the request path
        await state.db.start_loop_units()  # PostgreSQL: units on this event loop, not on threads
        try:
            async with anyio.create_task_group() as tg:
                if settings.worker:
                    tg.start_soon(worker.lead, state)
                yield
                tg.cancel_scope.cancel()
        finally:
            await state.db.stop_loop_units()
        state.db.dispose()

    app = App(
        routes=[*routes, *embedded_routes, *static_routes],
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[Middleware(EmbeddedCors, origins=settings.embed_origins), Middleware(StripeVersion)],
    )
    # `/v1/charges/` is an unknown URL (a JSON 404 like any other), not a redirect to `/v1/charges`.
    app.router.redirect_slashes = False
    app.table = RouteTable(app.router.routes)
    app.state.payoutkit = runtime
    return app
