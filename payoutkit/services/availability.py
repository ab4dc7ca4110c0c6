"""`balance.available`: the event that settlement made an account's pending funds available.

Whatever settled them (the worker, the test clock, a balance read, a movement that settles the buckets
it locks), `settle_due` reports which (account, mode) moved and `announce_available` emits one event
per account and mode, with the Balance object as `data.object`. It reads the affected accounts, their
buckets and their platforms' endpoints in one statement each and inserts the events in one, so the
cost follows the accounts that moved, not the transactions. System accounts have no events.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from payoutkit.ledger.postings import BalanceType
from payoutkit.services.actor import Moment
from payoutkit.services.events import Emission, emit_all
from payoutkit.store.balances import read_buckets_of
from payoutkit.store.schema import accounts

# Accounts announced per round of statements (a bound on the size of each IN list).
CHUNK = 1000


def announce_available(conn: Connection, now: int, moved: set[tuple[str, bool]]) -> int:
    """Emit `balance.available` for each (account, livemode) in `moved`; returns how many."""
    wanted = sorted((account, livemode) for account, livemode in moved if account.startswith("acct_"))
    return sum(_announce(conn, now, wanted[i : i + CHUNK]) for i in range(0, len(wanted), CHUNK))


def _announce(conn: Connection, now: int, wanted: list[tuple[str, bool]]) -> int:
    # Imported here: services.balance imports settlement, which imports this module.
    from payoutkit.services.balance import balance_object

    rows = {
        r.id: r
        for r in conn.execute(
            select(accounts.c.id, accounts.c.kind, accounts.c.platform_id, accounts.c.data).where(
                accounts.c.id.in_(sorted({account for account, _ in wanted})), accounts.c.kind != "system"
            )
        )
    }
    wanted = [(account, livemode) for account, livemode in wanted if account in rows]
    buckets = read_buckets_of(conn, wanted)
    emissions: dict[bool, list[Emission]] = {False: [], True: []}
    for account, livemode in wanted:
        row, held_buckets = rows[account], buckets[(account, livemode)]
        held = sorted({b.key.currency for b in held_buckets if b.key.balance_type is BalanceType.PAYMENTS})
        balance = balance_object(
            held_buckets,
            livemode=livemode,
            default_currency=held[0] if held else row.data["default_currency"],
            is_platform=row.kind == "platform",
        )
        platform = row.platform_id if row.kind == "connected" else row.id
        emissions[livemode].append(Emission("balance.available", balance, platform, account))
    for livemode, batch in emissions.items():
        emit_all(conn, Moment(livemode=livemode, now=now), batch)
    return len(wanted)
