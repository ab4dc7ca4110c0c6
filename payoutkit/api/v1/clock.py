"""`/v1/test_helpers/clock` (a Payoutkit extension): the simulated clock of test mode.

`POST …/advance` accepts an advance in one unit of work; `finish_advance` (the endpoint's `then`) then
moves the clock to the target in committed steps before the response is sent.
"""

from __future__ import annotations

from typing import Any

import anyio

from payoutkit.api.context import Call
from payoutkit.api.params import Int, Params
from payoutkit.runtime import Runtime
from payoutkit.services import clock, jobs


class AdvanceParams(Params):
    seconds: Int | None = None
    to: Int | None = None


def retrieve(call: Call, params: Params) -> dict[str, Any]:
    return clock.read(call.actor, simulated=call.runtime.simulated is not None).doc()


def advance(call: Call, params: AdvanceParams) -> dict[str, Any]:
    command = clock.Advance(seconds=params.seconds, to=params.to)
    return clock.advance(call.conn, call.actor, command, clock=call.runtime.simulated).doc()


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
