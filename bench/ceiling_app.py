"""The ceiling: a bare Starlette app on uvicorn answering a trivial JSON endpoint.

Started as its own process by `bench/run.py` (`uvicorn bench.ceiling_app:app`), with the same uvicorn
defaults as `payoutkit serve` (uvloop and httptools when installed), so the difference between the two
is what Payoutkit's own request path costs.

`bench/peer.py` also drives it with the official `stripe` SDK: `POST /v1/payouts`, `GET /v1/payouts/{id}`
and `GET /v1/balance` answer canned JSON at once, so its rate is the client's own ceiling.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PAYOUT = {
    "id": "po_ceiling", "object": "payout", "amount": 100, "currency": "eur", "status": "pending",
    "arrival_date": 1764547200, "automatic": False, "balance_transaction": "txn_ceiling",
    "created": 1764547200, "destination": "ba_ceiling", "livemode": False, "metadata": {},
    "method": "standard", "source_type": "card", "type": "bank_account",
}  # fmt: skip
BALANCE = {
    "object": "balance", "livemode": False,
    "available": [{"amount": 1000000, "currency": "eur", "source_types": {"card": 1000000}}],
    "pending": [{"amount": 0, "currency": "eur", "source_types": {"card": 0}}],
}  # fmt: skip
PAYOUT_BODY = JSONResponse(PAYOUT).body
BALANCE_BODY = JSONResponse(BALANCE).body


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"object": "ping", "ok": True})


async def payout(request: Request) -> Response:
    await request.body()  # read the form as a server would, then answer the canned object
    return Response(PAYOUT_BODY, media_type="application/json")


async def balance(request: Request) -> Response:
    return Response(BALANCE_BODY, media_type="application/json")


app = Starlette(
    routes=[
        Route("/", ping),
        Route("/ping", ping),
        Route("/v1/payouts", payout, methods=["POST"]),
        Route("/v1/payouts/{id}", payout, methods=["GET"]),
        Route("/v1/balance", balance),
    ]
)
