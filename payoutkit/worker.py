"""The worker: each tick settles due funds (later also payouts and webhooks), one unit of work each.

It runs in the server process by default (`Settings.worker`). Correctness never depends on it: balances
are settled lazily before they are read or debited, so the worker only keeps stored state fresh.
"""

from __future__ import annotations

import logging

import anyio

from payoutkit.api.context import AppState
from payoutkit.services import payouts
from payoutkit.services.money import JobMoment
from payoutkit.services.settlement import settle

log = logging.getLogger("payoutkit.worker")


async def tick(state: AppState) -> int:
    moved = 0
    for livemode in (False, True):
        now = state.clock(livemode).now()
        moved += await state.db.run(lambda conn, now=now, lm=livemode: settle(conn, now, livemode=lm))
        # Payout steps and automatic payout runs, a bounded batch per unit of work.
        moment = JobMoment(livemode, now)
        rail = payouts.rail_of(state)
        for job in (payouts.advance_due, payouts.run_automatic):
            while (n := await state.db.run(job, moment, rail)) > 0:
                moved += n
    return moved


async def run(state: AppState) -> None:
    while True:
        try:
            await tick(state)
        except Exception:
            log.exception("worker tick failed; retrying next tick")
        await anyio.sleep(state.settings.worker_interval)
