"""`balance.available`: the event that settlement made an account's pending funds available.

Whatever settled them (the worker, the test clock, a payout run, a movement that settles the buckets
it locks), `settle_due` reports which (account, mode) moved and `announce_available` emits one event
per account and mode, with the Balance object as `data.object`. It reads the affected accounts, their
buckets and their platforms' endpoints in one statement each and inserts the events in one, so the
cost follows the accounts that moved, not the transactions. System accounts have no events.
"""

from __future__ import annotations

from payoutkit.records.balance import balance_of, held_currencies
from payoutkit.services.actor import Moment
from payoutkit.services.events import Emission, emit_all
from payoutkit.store import Tx, holders
from payoutkit.store.bucket_reads import read_buckets_of

# Accounts announced per round of statements (a bound on the size of each IN list).
CHUNK = 1000


def announce_available(conn: Tx, now: int, moved: set[tuple[str, bool]]) -> int:
    """Emit `balance.available` for each (account, livemode) in `moved`; returns how many."""
    wanted = sorted((account, livemode) for account, livemode in moved if account.startswith("acct_"))
    return sum(_announce(conn, now, wanted[i : i + CHUNK]) for i in range(0, len(wanted), CHUNK))


def _announce(conn: Tx, now: int, wanted: list[tuple[str, bool]]) -> int:
    found = holders.holders(conn, {account for account, _ in wanted})
    wanted = [(a, livemode) for a, livemode in wanted if a in found and found[a].kind != "system"]
    buckets = read_buckets_of(conn, wanted)
    emissions: dict[bool, list[Emission]] = {False: [], True: []}
    for account, livemode in wanted:
        holder, held_buckets = found[account], buckets[(account, livemode)]
        held = held_currencies(held_buckets)
        balance = balance_of(
            held_buckets,
            livemode=livemode,
            default_currency=held[0] if held else str(holder.default_currency),
            is_platform=holder.kind == "platform",
        )
        platform = holder.platform_id if holder.kind == "connected" else holder.id
        assert platform is not None
        emissions[livemode].append(
            Emission("balance.available", balance.doc(), platform, account, handed_over=True)
        )
    for livemode, batch in emissions.items():
        emit_all(conn, Moment(livemode=livemode, now=now), batch)
    return len(wanted)
