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
from payoutkit.api.context import AppState
from payoutkit.api.errors import InvalidRequest
from payoutkit.api.routes import routes
from payoutkit.api.version import StripeVersion
from payoutkit.api.wire import json_response
from payoutkit.clock import SimulatedClock, SystemClock
from payoutkit.config import Settings
from payoutkit.ids import new_id
from payoutkit.services.platform import Bootstrap, bootstrap
from payoutkit.store.db import Database
from payoutkit.store.migrations import upgrade

log = logging.getLogger("payoutkit")


def build_state(settings: Settings, *, migrate: bool = True) -> tuple[AppState, Bootstrap]:
    if migrate:
        upgrade(settings.database_url)
    db = Database(settings.database_url)
    live = SystemClock()
    simulated = None
    if settings.simulated_clock:
        simulated = SimulatedClock(settings.simulated_clock_start or live.now())
        db.transaction(simulated.load)
    state = AppState(
        settings=settings, db=db, test_clock=simulated or live, live_clock=live, simulated=simulated
    )
    boot = db.transaction(bootstrap, settings, live.now())
    state.platform_id = boot.platform_id
    return state, boot


async def not_found(request: Request, exc: Exception) -> Response:
    err = InvalidRequest(f"Unrecognized request URL ({request.method}: {request.url.path}).", status=404)
    return json_response(err.status, err.body(), new_id("req", 14))


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    err = InvalidRequest(f"Unrecognized request URL ({request.method}: {request.url.path}).", status=405)
    return json_response(err.status, err.body(), new_id("req", 14))


def create_app(settings: Settings, *, state: AppState | None = None) -> Starlette:
    if state is None:
        state, _ = build_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            if settings.worker:
                tg.start_soon(worker.run, state)
            yield
            tg.cancel_scope.cancel()
        state.db.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[Middleware(StripeVersion)],
    )
    # `/v1/charges/` is an unknown URL (a JSON 404 like any other), not a redirect to `/v1/charges`.
    app.router.redirect_slashes = False
    app.state.payoutkit = state
    return app
