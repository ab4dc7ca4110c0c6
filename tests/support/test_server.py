"""The server harness: real HTTP on loopback, clean start and stop, startup failures surfaced."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server import loopback_socket, serve_in_thread


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"object": "hello", "lifespan": request.app.state.started})


def make_app(*, fail_startup: bool = False) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if fail_startup:
            raise RuntimeError("boom")
        app.state.started = True
        yield

    return Starlette(routes=[Route("/v1/hello", hello)], lifespan=lifespan)


def test_serves_real_http_and_stops() -> None:
    with loopback_socket() as sock:
        port = sock.getsockname()[1]
        with serve_in_thread(make_app(), sock) as url, httpx.Client(trust_env=False) as client:
            assert url == f"http://127.0.0.1:{port}"
            response = client.get(f"{url}/v1/hello")
            assert response.json() == {"object": "hello", "lifespan": True}
        with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
            client.get(f"{url}/v1/hello")


def test_a_failing_startup_is_an_error_not_a_hang() -> None:
    with (
        loopback_socket() as sock,
        pytest.raises(RuntimeError, match="failed to start"),
        serve_in_thread(make_app(fail_startup=True), sock),
    ):
        pass
