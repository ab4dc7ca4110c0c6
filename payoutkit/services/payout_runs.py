"""When each account's next automatic payout run is due (the `payout_runs` table).

Every account has a row per mode it acts in: its schedule's next payout time, or — for a `manual`
schedule — the next midnight UTC, when a negative balance may be recovered from its bank
(`debit_negative_balances`). Account creation and schedule changes keep the row current; what a run
does is `payoutkit/services/payout_automatic.py`.
"""

from __future__ import annotations

from payoutkit.ledger.calendar import SECONDS_PER_DAY, start_of_day_utc
from payoutkit.ledger.schedule import Schedule, next_payout_time
from payoutkit.store import Tx
from payoutkit.store import payouts as store


def next_run(schedule: Schedule, after: int) -> int:
    when = next_payout_time(schedule, after)
    return when if when is not None else start_of_day_utc(after) + SECONDS_PER_DAY


def set_next_run(conn: Tx, account_id: str, livemode: bool, schedule: Schedule, now: int) -> None:
    store.put_next_run(conn, account_id, livemode, next_run(schedule, now))


def ensure_runs(conn: Tx, now: int) -> int:
    """Give every account without a payout run row one, due now (accounts from before payouts)."""
    return store.add_missing_runs(conn, now)
