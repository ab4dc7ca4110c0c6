"""The ceiling: a bare Starlette app on uvicorn answering a trivial JSON endpoint.

Started as its own process by `bench/run.py` (`uvicorn bench.ceiling_app:app`), with the same uvicorn
defaults as `payoutkit serve` (uvloop and httptools when installed), so the difference between the two
is what Payoutkit's own request path costs.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"object": "ping", "ok": True})


app = Starlette(routes=[Route("/", ping), Route("/ping", ping)])
