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

from payoutkit import worker
from payoutkit.api.embedded.cors import EmbeddedCors
from payoutkit.api.embedded.routes import routes as embedded_routes
from payoutkit.api.errors import render
from payoutkit.api.routes import routes
from payoutkit.api.static import routes as static_routes
from payoutkit.api.version import StripeVersion
from payoutkit.api.wire import json_response
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


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> Starlette:
    if runtime is None:
        runtime, _ = open_runtime(settings)
    state = runtime

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            if settings.worker:
                tg.start_soon(worker.lead, state)
            yield
            tg.cancel_scope.cancel()
        state.db.dispose()

    app = Starlette(
        routes=[*routes, *embedded_routes, *static_routes],
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[Middleware(EmbeddedCors, origins=settings.embed_origins), Middleware(StripeVersion)],
    )
    # `/v1/charges/` is an unknown URL (a JSON 404 like any other), not a redirect to `/v1/charges`.
    app.router.redirect_slashes = False
    app.state.payoutkit = runtime
    return app
