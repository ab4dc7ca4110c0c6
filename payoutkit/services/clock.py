"""The simulated clock of test mode (a Payoutkit extension): read it, advance it, watch funds settle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from payoutkit.api.context import Ctx
from payoutkit.api.errors import InvalidRequest, PermissionDenied
from payoutkit.api.params import Int, Params
from payoutkit.services import jobs, payouts


class Advance(Params):
    seconds: Int | None = None
    to: Int | None = None


def _object(ctx: Ctx, now: int) -> dict[str, Any]:
    return {
        "object": "payoutkit.test_clock",
        "now": now,
        "simulated": ctx.state.simulated is not None,
        "livemode": False,
    }


def _test_mode(ctx: Ctx) -> None:
    if ctx.livemode:
        raise PermissionDenied("The test clock is a test-mode helper; it cannot be used with live keys.")


def retrieve(conn: Connection, ctx: Ctx, p: Params) -> dict[str, Any]:
    _test_mode(ctx)
    return _object(ctx, ctx.now)


def advance(conn: Connection, ctx: Ctx, p: Advance) -> dict[str, Any]:
    _test_mode(ctx)
    simulated = ctx.state.simulated
    if simulated is None:
        raise InvalidRequest("This server runs on the real clock; start it with --simulated-clock.")
    if (p.seconds is None) == (p.to is None):
        raise InvalidRequest("Give exactly one of seconds or to.", param="seconds")
    now = simulated.now()
    to = now + p.seconds if p.seconds is not None else p.to
    assert to is not None
    if to < now:
        raise InvalidRequest("The clock cannot go backwards.", param="to" if p.to is not None else "seconds")
    if to - now > 5 * 366 * 86400:
        raise InvalidRequest("Advance the clock by at most five years at a time.", param="seconds")
    simulated.advance_to(conn, to)
    # What the worker would have done meanwhile, at the times it was due.
    jobs.catch_up(conn, payouts.rail_of(ctx.state), False, to)
    return _object(ctx, to)
