"""When each account's next automatic payout run is due (the `payout_runs` table).

Every account has a row per mode it acts in: its schedule's next payout time, or — for a `manual`
schedule — the next midnight UTC, when a negative balance may be recovered from its bank
(`debit_negative_balances`). Account creation and schedule changes keep the row current.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from payoutkit.ledger.calendar import SECONDS_PER_DAY, start_of_day_utc
from payoutkit.ledger.schedule import Schedule, next_payout_time
from payoutkit.store.balances import flush_moves
from payoutkit.store.schema import accounts, balances, payout_runs


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


_BUMP = (
    update(payout_runs)
    .where(
        and_(
            payout_runs.c.account_id == bindparam("r_account"), payout_runs.c.livemode == bindparam("r_mode")
        )
    )
    .values(next_run_at=bindparam("r_next"))
)


def run_idle(
    conn: Connection,
    account_ids: Sequence[str],
    livemode: bool,
    now: int,
    schedule_of: Callable[[dict[str, Any]], Schedule],
) -> set[str]:
    """Of these accounts whose payout run is due, the ones a run would leave as they are — nothing to
    settle, no positive balance to pay out automatically, no negative one to debit — get their next run
    time in two reads and one write for the lot, and are returned; the caller runs the others one by
    one. A long simulated advance meets every account on every schedule day, and most have nothing
    to do: this keeps each of its steps cheap."""
    if not account_ids:
        return set()
    # Only the payout settings of each account (a JSON path), not its whole document.
    payout_settings = accounts.c.data[("settings", "payouts")]
    docs = {
        r.id: {"settings": {"payouts": r.payouts}}
        for r in conn.execute(
            select(accounts.c.id, payout_settings.label("payouts")).where(accounts.c.id.in_(account_ids))
        )
        if r.payouts is not None
    }
    busy: set[str] = set()
    # The buckets as this unit has moved them: a payout that failed at this same moment has returned
    # its funds by a move deferred to the unit's end, and those funds are to be paid out now.
    flush_moves(conn)
    for r in conn.execute(
        select(
            balances.c.account_id, balances.c.balance_type, balances.c.available, balances.c.next_settle_at
        ).where(balances.c.account_id.in_(account_ids), balances.c.livemode == livemode)
    ):
        if r.next_settle_at is not None and r.next_settle_at <= now:
            busy.add(r.account_id)
        elif r.balance_type == "payments" and r.available != 0:
            data = docs.get(r.account_id)
            if data is None:
                continue  # not idle either: the account is run one by one
            settings = data["settings"]["payouts"]
            automatic = settings["schedule"]["interval"] != "manual"
            debit = bool(settings.get("debit_negative_balances"))
            if (automatic and r.available > 0) or (debit and r.available < 0):
                busy.add(r.account_id)
    idle = {a for a in account_ids if a in docs and a not in busy}
    if idle:
        conn.execute(
            _BUMP,
            [
                {"r_account": a, "r_mode": livemode, "r_next": next_run(schedule_of(docs[a]), now)}
                for a in sorted(idle)
            ],
        )
    return idle
