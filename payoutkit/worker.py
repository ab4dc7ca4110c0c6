"""The worker: settles due funds, advances payouts, runs automatic payouts, and delivers webhooks.

It runs in the server process by default (`Settings.worker`), as two loops: the money jobs (`tick`:
settlement, payout steps, payout runs, and deleting expired idempotency records, account sessions and
embedded tokens, each a bounded batch per unit of work) and webhook delivery (`deliver`), so that a
slow webhook endpoint never holds up money. Correctness never depends on the worker: a unit that
debits an account settles its due funds first, a read shows them as settlement will leave them
(without writing), and the test clock's advance replays the money jobs itself.

It runs once per deployment, not once per process (`lead`): on PostgreSQL the process that holds the
worker's advisory lock runs it (payoutkit/store/leader.py), the others try again every interval and
take over when the leader's session ends; SQLite is served by one process, which runs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import anyio
import anyio.to_thread

from payoutkit.runtime import Runtime
from payoutkit.services import jobs, payout_automatic, payout_lifecycle, webhooks
from payoutkit.services.actor import Moment
from payoutkit.services.settlement import settle_at
from payoutkit.store.leader import WORKER_LOCK, WorkerLock

log = logging.getLogger("payoutkit.worker")


async def tick(state: Runtime) -> int:
    """One pass of the money jobs in both modes; returns how many transactions settlement moved."""
    moved = 0
    for livemode in (False, True):
        now = await state.db.read(state.now_in, livemode)
        moment = Moment.job(livemode, now)
        moved += await state.db.run(settle_at, moment)
        # Payout steps and automatic payout runs, a bounded batch per unit of work.
        rail = state.rail
        for job in (payout_lifecycle.advance_due, payout_automatic.run_automatic):
            while await state.db.run(job, moment, rail) > 0:
                pass
        for prune in (jobs.prune_idempotency, jobs.prune_sessions):
            while await state.db.run(prune, livemode, now) == jobs.PRUNE_BATCH:
                pass
    return moved


async def _loop(state: Runtime, what: str, step: Callable[[Runtime], Awaitable[object]]) -> None:
    while True:
        try:
            await step(state)
        except Exception:
            log.exception("worker %s failed; retrying next tick", what)
        await anyio.sleep(state.settings.worker_interval)


async def run(state: Runtime) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(_loop, state, "tick", tick)
        # Webhooks: wall clock, outside any transaction, never in the way of the money jobs.
        tg.start_soon(_loop, state, "webhook delivery", lambda rt: webhooks.deliver_due(rt.db, rt.settings))


async def lead(state: Runtime) -> None:
    """Run the worker in this process while it leads the deployment (always, on SQLite)."""
    if state.db.is_sqlite:
        await run(state)
        return
    lock = WorkerLock(state.db.url)
    interval = state.settings.worker_interval
    try:
        while True:
            try:
                leads = await anyio.to_thread.run_sync(lock.try_acquire)
            except Exception:
                log.exception("worker: could not try the leader lock; trying again next interval")
                leads = False
            if leads:
                log.info("worker: process %d leads (PostgreSQL advisory lock %d); it runs the worker",
                         os.getpid(), WORKER_LOCK)  # fmt: skip
                try:
                    await _while_held(state, lock)
                except Exception:
                    log.exception("worker: checking the leader lock failed; letting it go")
                    lock.release()
                log.warning("worker: process %d lost the leader lock (its session ended); trying again "
                            "every %s s", os.getpid(), interval)  # fmt: skip
            await anyio.sleep(interval)
    finally:
        lock.release()


async def _while_held(state: Runtime, lock: WorkerLock) -> None:
    """Run the worker until this process's lock session is found gone (checked every interval)."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, state)
        while await anyio.to_thread.run_sync(lock.still_held):
            await anyio.sleep(state.settings.worker_interval)
        tg.cancel_scope.cancel()
