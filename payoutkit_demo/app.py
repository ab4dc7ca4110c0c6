"""The platform's site: pages that mount Payoutkit's components, the console's actions, and the
platform's webhook endpoint with its live log.

    GET  /                          the marketplace: pick a connected account
    GET  /accounts/{id}             its `balances` and `payouts` components, the console, the log
    GET  /accounts/{id}/payouts     `payout-details` for one of its payouts (?payout=po_…)
    POST /api/session               {account, features} → {client_secret}: what connect.js claims
    POST /api/console/{action}      charge | refund | dispute | transfer | advance (JSON in and out)
    GET  /api/events?after=N        the webhook log since N
    POST /webhooks                  the platform's webhook endpoint (signed events, verified)
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from payoutkit_demo import pages
from payoutkit_demo.platform import DAY, HOUR, Features, Platform, next_payout_run

STATIC = Path(__file__).parent / "static"
LOG_SIZE = 200


@dataclass
class Demo:
    """What the site holds while it runs: the platform's client, its webhook secret and the log."""

    platform: Platform
    public_url: str
    webhook_secrets: list[str] = field(default_factory=list)
    events: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=LOG_SIZE)
    )
    received: int = 0
    last_charge: dict[str, str] = field(default_factory=dict)  # account → its last console charge


def _summary(event: stripe.Event, seq: int) -> dict[str, Any]:
    found = event.to_dict()
    obj: dict[str, Any] = found["data"]["object"]
    return {
        "seq": seq,
        "id": found["id"],
        "type": found["type"],
        "account": found.get("account"),
        "created": found["created"],
        "object": obj.get("id"),
        "amount": obj.get("amount"),
        "currency": obj.get("currency"),
        "status": obj.get("status"),
    }


async def webhook(request: Request) -> Response:
    """The platform's endpoint: only events signed with its secret are taken."""
    demo: Demo = request.app.state.demo
    payload = await request.body()
    try:
        signature = request.headers.get("stripe-signature")
        event = demo.platform.verify_event(payload, signature, demo.webhook_secrets)
    except (ValueError, stripe.SignatureVerificationError):
        return JSONResponse({"error": "bad signature"}, status_code=400)
    summary = _summary(event, demo.received + 1)
    demo.received += 1
    demo.events.append(summary)
    return JSONResponse({"received": True})


async def events(request: Request) -> Response:
    demo: Demo = request.app.state.demo
    after = int(request.query_params.get("after", "0"))
    return JSONResponse({"events": [e for e in demo.events if e["seq"] > after], "last": demo.received})


async def session(request: Request) -> Response:
    """A new account session for the account on screen, with the features the visitor switched on."""
    demo: Demo = request.app.state.demo
    body = await request.json()
    wanted = body.get("features", {})
    features = Features(**{name: bool(wanted.get(name, True)) for name in Features.__dataclass_fields__})
    secret = await anyio.to_thread.run_sync(demo.platform.create_session, str(body["account"]), features)
    return JSONResponse({"client_secret": secret})


# -- the console ---------------------------------------------------------------------------------


def _charge(demo: Demo, body: dict[str, Any]) -> str:
    charge = demo.platform.charge(body["account"], int(body["amount"]), body["currency"], body["source"])
    demo.last_charge[body["account"]] = charge["id"]
    disputed = " (disputed)" if charge.get("disputed") else ""
    return f"Charge {charge['id']}: {charge['amount']} {charge['currency']} {charge['status']}{disputed}"


def _refund(demo: Demo, body: dict[str, Any]) -> str:
    charge = demo.last_charge.get(body["account"])
    if charge is None:
        raise ValueError("Create a charge first: the console refunds its last charge.")
    refund = demo.platform.refund(charge)
    return f"Refund {refund['id']} of {charge}: {refund['amount']} {refund['currency']} {refund['status']}"


def _dispute(demo: Demo, body: dict[str, Any]) -> str:
    return _charge(demo, {**body, "source": "tok_createDispute"})


def _transfer(demo: Demo, body: dict[str, Any]) -> str:
    transfer = demo.platform.transfer(body["account"], int(body["amount"]), body["currency"])
    return f"Transfer {transfer['id']}: {transfer['amount']} {transfer['currency']}"


def _advance(demo: Demo, body: dict[str, Any]) -> str:
    step = body["by"]
    if step == "next_payout":
        schedule = demo.platform.account(body["account"])["settings"]["payouts"]["schedule"]
        run = next_payout_run(schedule, demo.platform.now())
        if run is None:
            raise ValueError("This account's payouts are manual: it pays itself out from the components.")
        now = demo.platform.advance(to=run + 60)
    else:
        now = demo.platform.advance({"hour": HOUR, "day": DAY}[step])
    return f"Clock: {pages.when(now)}"


ACTIONS: dict[str, Callable[[Demo, dict[str, Any]], str]] = {
    "charge": _charge,
    "refund": _refund,
    "dispute": _dispute,
    "transfer": _transfer,
    "advance": _advance,
}


async def console(request: Request) -> Response:
    demo: Demo = request.app.state.demo
    action = ACTIONS.get(request.path_params["action"])
    if action is None:
        return JSONResponse({"error": "no such action"}, status_code=404)
    body = await request.json()
    try:
        message = await anyio.to_thread.run_sync(action, demo, body)
    except stripe.StripeError as error:
        return JSONResponse({"error": error.user_message or str(error)}, status_code=400)
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse({"message": message, "now": await anyio.to_thread.run_sync(demo.platform.now)})


# -- pages ---------------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    demo: Demo = request.app.state.demo
    accounts = await anyio.to_thread.run_sync(demo.platform.accounts)
    now = await anyio.to_thread.run_sync(demo.platform.now)
    return HTMLResponse(pages.index(accounts, now))


async def account_page(request: Request) -> Response:
    demo: Demo = request.app.state.demo
    account = await anyio.to_thread.run_sync(demo.platform.account, request.path_params["account"])
    now = await anyio.to_thread.run_sync(demo.platform.now)
    return HTMLResponse(pages.account(demo.platform, account, now))


async def payout_page(request: Request) -> Response:
    demo: Demo = request.app.state.demo
    account_id = request.path_params["account"]
    account = await anyio.to_thread.run_sync(demo.platform.account, account_id)
    payouts = await anyio.to_thread.run_sync(demo.platform.payouts, account_id)
    chosen = request.query_params.get("payout") or (payouts[0]["id"] if payouts else None)
    now = await anyio.to_thread.run_sync(demo.platform.now)
    return HTMLResponse(pages.payout(demo.platform, account, payouts, chosen, now))


def create_app(platform: Platform, public_url: str) -> Starlette:
    """The demo's site for `platform`; it registers its webhook endpoints at `public_url`/webhooks."""
    demo = Demo(platform=platform, public_url=public_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = public_url + "/webhooks"
        demo.webhook_secrets = await anyio.to_thread.run_sync(platform.register_webhooks, url)
        yield

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/accounts/{account}", account_page),
            Route("/accounts/{account}/payouts", payout_page),
            Route("/api/session", session, methods=["POST"]),
            Route("/api/console/{action}", console, methods=["POST"]),
            Route("/api/events", events),
            Route("/webhooks", webhook, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.demo = demo
    return app
