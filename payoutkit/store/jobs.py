"""What the worker's jobs ask of the store beyond money: when a payout's step or a payout run is next due
(expired idempotency records are pruned by store/idempotency.py)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select

from payoutkit.store.schema import payout_runs, payout_tracking

_NEXT_ACTION = select(func.min(payout_tracking.c.next_action_at)).where(
    payout_tracking.c.livemode == bindparam("livemode")
)
_NEXT_RUN = select(func.min(payout_runs.c.next_run_at)).where(payout_runs.c.livemode == bindparam("livemode"))


def next_due(conn: Connection, livemode: bool) -> int | None:
    """The earliest time a payout's next step or an account's payout run is due in a mode, if any."""
    nexts = [conn.execute(stmt, {"livemode": livemode}).scalar() for stmt in (_NEXT_ACTION, _NEXT_RUN)]
    due = [int(n) for n in nexts if n is not None]
    return min(due) if due else None
