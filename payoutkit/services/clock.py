"""The simulated clock of test mode (a Payoutkit extension): read it, advance it, watch funds settle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import Connection

from payoutkit.api.context import Ctx
from payoutkit.api.params import Int, Params
from payoutkit.errors import InvalidRequest, PermissionDenied
from payoutkit.services import jobs

if TYPE_CHECKING:
    from payoutkit.runtime import Runtime


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
    """Accept an advance: record its target on the locked clock row and answer with it. The clock
    then moves there in committed steps (`finish_advance`) before the response is sent."""
    _test_mode(ctx)
    simulated = ctx.state.simulated
    if simulated is None:
        raise InvalidRequest("This server runs on the real clock; start it with --simulated-clock.")
    if (p.seconds is None) == (p.to is None):
        raise InvalidRequest("Give exactly one of seconds or to.", param="seconds")
    now, target = simulated.lock(conn)
    # An advance follows the one still under way, if any: it starts where that one ends.
    base = max(now, target or now)
    to = base + p.seconds if p.seconds is not None else p.to
    assert to is not None
    if to < base:
        raise InvalidRequest("The clock cannot go backwards.", param="to" if p.to is not None else "seconds")
    if to - base > 5 * 366 * 86400:
        raise InvalidRequest("Advance the clock by at most five years at a time.", param="seconds")
    simulated.set_target(conn, to)
    return _object(ctx, to)


async def finish_advance(state: Runtime, body: dict[str, Any]) -> None:
    """Move the clock to the accepted target in committed steps (jobs.step), yielding between them so
    that other requests are served meanwhile; then delete the test-mode idempotency records it made
    expire. Safe to run again (a replay): a clock already there takes no step."""
    simulated = state.simulated
    assert simulated is not None
    target = int(body["now"])
    rail = state.rail
    for _ in range(jobs.MAX_STEPS):
        if await state.db.run(jobs.step, simulated, rail, target) >= target:
            break
        await anyio.sleep(0)
    else:
        raise RuntimeError("the simulated clock's advance did not converge")
    while await state.db.run(jobs.prune_idempotency, False, target) == jobs.PRUNE_BATCH:
        await anyio.sleep(0)
