"""The worker: settles due funds, advances payouts, runs automatic payouts, and delivers webhooks.

It runs in the server process by default (`Settings.worker`), as two loops: the money jobs (`tick`:
settlement, payout steps, payout runs, and deleting expired idempotency records, account sessions and
embedded tokens, each a bounded batch per unit of work) and webhook delivery (`deliver`), so that a
slow webhook endpoint never holds up money. Correctness never depends on the worker: a unit that
debits an account settles its due funds first, a read shows them as settlement will leave them
(without writing), and the test clock's advance replays the money jobs itself.

On PostgreSQL the settlement is split into `Settings.worker_shards` units of work run at once, each
over its own share of the accounts (`settle_all`, store/shards.py): one settlement of many due funds
is CPU-bound in the backend that runs it, and a unit per shard uses as many backends. Each shard
commits on its own; one that fails leaves its share due for the next tick and the others' work done.
The automatic payout runs go as that many sequences of units at once (`drain`), each unit claiming
its own batch of due accounts: one unit's Python work overlaps another's statements.

It runs once per deployment, not once per process (`lead`): on PostgreSQL the process that holds the
worker's advisory lock runs it (payoutkit/store/leader.py), the others try again every interval and
take over when the leader's session ends; SQLite is served by one process, which runs it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread

from payoutkit.runtime import Runtime
from payoutkit.services import jobs, payout_automatic, payout_lifecycle, webhooks
from payoutkit.services.actor import Moment
from payoutkit.services.settlement import settle_at, settle_shard
from payoutkit.store.db import Database
from payoutkit.store.leader import WORKER_LOCK, WorkerLock
from payoutkit.store.shards import Shard

log = logging.getLogger("payoutkit.worker")


async def tick(state: Runtime) -> int:
    """One pass of the money jobs in both modes; returns how many transactions settlement moved."""
    moved = 0
    for livemode in (False, True):
        now = await state.db.read(state.now_in, livemode)
        moment = Moment.job(livemode, now)
        moved += await settle_all(state.db, moment, state.settings.worker_shards)
        # Payout steps and automatic payout runs, a bounded batch per unit of work.
        rail = state.rail
        while await state.db.run(payout_lifecycle.advance_due, moment, rail) > 0:
            pass
        await drain(state.db, payout_automatic.run_automatic, state.settings.worker_shards, moment, rail)
        for prune in (jobs.prune_idempotency, jobs.prune_sessions):
            while await state.db.run(prune, livemode, now) == jobs.PRUNE_BATCH:
                pass
    return moved


async def settle_all(db: Database, moment: Moment, shards: int) -> int:
    """The worker's settlement: on PostgreSQL one unit per shard, at once; else one unit."""
    if db.is_sqlite or shards <= 1:
        return await db.run(settle_at, moment)
    return sum(await run_sharded(db, settle_shard, shards, moment))


async def run_sharded(db: Database, unit: Callable[..., int], shards: int, *args: Any) -> list[int]:
    """Run `unit(conn, *args, Shard(part, shards))` for every part at once, each its own unit of work
    (and transaction); return what each returned. Every unit runs to its end, whatever the others do;
    then the first failure, if any, is raised."""
    results: list[int | Exception] = [0] * shards

    async def one(part: int) -> None:
        try:
            results[part] = await db.run(unit, *args, Shard(part, shards))
        except Exception as exc:  # raised below, once every shard has ended
            results[part] = exc

    async with anyio.create_task_group() as tg:
        for part in range(shards):
            tg.start_soon(one, part)
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        raise failed[0]
    return [r for r in results if not isinstance(r, Exception)]


async def drain(db: Database, job: Callable[..., int], loops: int, *args: Any) -> int:
    """Run `job(conn, *args)` unit after unit until one returns 0; return the sum of what they
    returned. On PostgreSQL `loops` such sequences run at once: the job claims its batch with `FOR
    UPDATE SKIP LOCKED` (`store.payouts.due_runs`), so concurrent units take disjoint batches, and a
    sequence ends when its unit finds nothing left that the others have not claimed. Every sequence
    runs to its end, whatever the others do; then the first failure, if any, is raised."""
    done: list[int] = []
    failed: list[Exception] = []

    async def sequence() -> None:
        try:
            while (n := await db.run(job, *args)) > 0:
                done.append(n)
        except Exception as exc:  # raised below, once every sequence has ended
            failed.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(1 if db.is_sqlite else max(1, loops)):
            tg.start_soon(sequence)
    if failed:
        raise failed[0]
    return sum(done)


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
