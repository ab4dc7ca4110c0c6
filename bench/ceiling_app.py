"""The ceiling: a bare Starlette app on uvicorn answering a trivial JSON endpoint.

Started as its own process by `bench/run.py` (`uvicorn bench.ceiling_app:app`), with the same uvicorn
defaults as `payoutkit serve` (uvloop and httptools when installed), so the difference between the two
is what Payoutkit's own request path costs.

`bench/peer.py` also drives it with the official `stripe` SDK: `POST /v1/payouts`, `GET /v1/payouts/{id}`
and `GET /v1/balance` answer canned JSON at once, so its rate is the client's own ceiling. The client's
cost of a call includes reading and converting the answer (the SDK builds a `StripeObject` per nested
object), so a fair ceiling answers with the same bytes the measured server does: with
`BENCH_CEILING_ANSWERS` set to a JSON file of `{"payout.create" | "payout.retrieve" | "balance": {"body":
str, "headers": {name: value}}}` (bench/peer.py captures it from Payoutkit at the start of its run), those
are the answers; without it, the small canned objects below.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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


def _answers() -> dict[str, tuple[bytes, dict[str, str]]]:
    payout, balance = JSONResponse(PAYOUT).body, JSONResponse(BALANCE).body
    canned = {"payout.create": (payout, {}), "payout.retrieve": (payout, {}), "balance": (balance, {})}
    path = os.environ.get("BENCH_CEILING_ANSWERS")
    if path:
        for name, answer in json.loads(Path(path).read_text()).items():
            canned[name] = (answer["body"].encode(), dict(answer["headers"]))
    return canned


ANSWERS = _answers()


def _answer(name: str) -> Response:
    body, headers = ANSWERS[name]
    return Response(body, media_type="application/json", headers=headers)


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"object": "ping", "ok": True})


async def payout_create(request: Request) -> Response:
    await request.body()  # read the form as a server would, then answer the canned object
    return _answer("payout.create")


async def payout_retrieve(request: Request) -> Response:
    return _answer("payout.retrieve")


async def balance(request: Request) -> Response:
    return _answer("balance")


app = Starlette(
    routes=[
        Route("/", ping),
        Route("/ping", ping),
        Route("/v1/payouts", payout_create, methods=["POST"]),
        Route("/v1/payouts/{id}", payout_retrieve, methods=["GET"]),
        Route("/v1/balance", balance),
    ]
)
