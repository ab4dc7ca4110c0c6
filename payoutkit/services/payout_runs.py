"""When each account's next automatic payout run is due (the `payout_runs` table).

Every account has a row per mode it acts in: its schedule's next payout time, or — for a `manual`
schedule — the next midnight UTC, when a negative balance may be recovered from its bank
(`debit_negative_balances`). Account creation and schedule changes keep the row current.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from payoutkit.ledger.calendar import SECONDS_PER_DAY, start_of_day_utc
from payoutkit.ledger.schedule import Schedule, next_payout_time
from payoutkit.store.schema import accounts, payout_runs


def next_run(schedule: Schedule, after: int) -> int:
    when = next_payout_time(schedule, after)
    return when if when is not None else start_of_day_utc(after) + SECONDS_PER_DAY


def set_next_run(conn: Connection, account_id: str, livemode: bool, schedule: Schedule, now: int) -> None:
    at = next_run(schedule, now)
    done = conn.execute(
        update(payout_runs)
        .where(payout_runs.c.account_id == account_id, payout_runs.c.livemode == livemode)
        .values(next_run_at=at)
    )
    if done.rowcount == 0:
        conn.execute(insert(payout_runs).values(account_id=account_id, livemode=livemode, next_run_at=at))


def ensure_runs(conn: Connection, now: int) -> int:
    """Give every account without a payout run row one, due now (accounts from before payouts)."""
    have = {
        (r.account_id, bool(r.livemode))
        for r in conn.execute(select(payout_runs.c.account_id, payout_runs.c.livemode))
    }
    missing = []
    for row in conn.execute(select(accounts.c.id, accounts.c.kind, accounts.c.livemode)):
        modes = (False, True) if row.kind == "platform" else (bool(row.livemode),)
        if row.kind == "system":
            continue
        missing += [
            {"account_id": row.id, "livemode": m, "next_run_at": now}
            for m in modes
            if (row.id, m) not in have
        ]
    if missing:
        conn.execute(insert(payout_runs), missing)
    return len(missing)
