"""What the worker's jobs ask of the store beyond money: when anything is next due, and deleting
expired idempotency records in bounded batches."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, func, select

from payoutkit.store.schema import idempotency_keys, payout_runs, payout_tracking

_NEXT_ACTION = select(func.min(payout_tracking.c.next_action_at)).where(
    payout_tracking.c.livemode == bindparam("livemode")
)
_NEXT_RUN = select(func.min(payout_runs.c.next_run_at)).where(payout_runs.c.livemode == bindparam("livemode"))
_EXPIRED = (
    select(idempotency_keys.c.seq)
    .where(
        idempotency_keys.c.livemode == bindparam("livemode"),
        idempotency_keys.c.created <= bindparam("before"),
    )
    .order_by(idempotency_keys.c.created)
    .limit(bindparam("batch"))
)
_DELETE = delete(idempotency_keys).where(idempotency_keys.c.seq.in_(bindparam("seqs", expanding=True)))


def next_due(conn: Connection, livemode: bool) -> int | None:
    """The earliest time a payout's next step or an account's payout run is due in a mode, if any."""
    nexts = [conn.execute(stmt, {"livemode": livemode}).scalar() for stmt in (_NEXT_ACTION, _NEXT_RUN)]
    due = [int(n) for n in nexts if n is not None]
    return min(due) if due else None


def delete_idempotency_before(conn: Connection, livemode: bool, before: int, batch: int) -> int:
    """Delete up to `batch` idempotency records of a mode created at or before `before`; how many."""
    seqs = [r.seq for r in conn.execute(_EXPIRED, {"livemode": livemode, "before": before, "batch": batch})]
    if seqs:
        conn.execute(_DELETE, {"seqs": seqs})
    return len(seqs)
