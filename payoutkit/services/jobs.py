"""The worker's jobs in one place: settle due funds, advance payouts, run automatic payouts, and
delete expired idempotency records, account sessions and embedded tokens.

`step` replays them over a stretch of simulated time (the test clock's advance, one unit of work
per moment), stopping at every moment something was due — a payout's next step, an account's payout
run — so that a jump of a week looks as it would have had the worker watched every day of it: one
automatic payout per schedule day, each payout's steps at their own times, events stamped when they
happened.
"""

from __future__ import annotations

from payoutkit.clock import SimulatedClock
from payoutkit.services.actor import Moment
from payoutkit.services.payout_automatic import run_automatic
from payoutkit.services.payout_lifecycle import advance_due
from payoutkit.services.rail import Rail
from payoutkit.services.settlement import settle_at
from payoutkit.store import Tx, idempotency
from payoutkit.store import account_sessions as store_sessions
from payoutkit.store import jobs as due_work

# A stretch of simulated time is replayed in at most this many steps (a guard, not a limit one meets:
# five years of daily runs is under 2,000).
MAX_STEPS = 20_000


def run_at(conn: Tx, moment: Moment, rail: Rail) -> int:
    """Everything due by the moment, in one unit: settlement, payout steps, payout runs."""
    done = settle_at(conn, moment)
    while (n := advance_due(conn, moment, rail)) > 0:
        done += n
    while (n := run_automatic(conn, moment, rail)) > 0:
        done += n
        while (m := advance_due(conn, moment, rail)) > 0:
            done += m
    return done


def catch_up(conn: Tx, rail: Rail, livemode: bool, to: int) -> int:
    """Everything due up to `to`, moment by moment, in ONE unit of work. The test clock advances by
    `step` instead (a unit per moment); this is the same replay at once, kept as the reference that the
    stepped advance is tested against."""
    done = 0
    for _ in range(MAX_STEPS):
        due = due_work.next_due(conn, livemode)
        if due is None or due > to:
            break
        done += run_at(conn, Moment.job(livemode, due), rail)
    else:
        raise RuntimeError("the simulated clock's catch-up did not converge")
    return done + settle_at(conn, Moment.job(livemode, to))


def step(conn: Tx, clock: SimulatedClock, rail: Rail, target: int) -> int:
    """One step of the test clock's advance towards `target`, as one unit of work: lock the clock, run
    what is due at the next moment anything is due (or at `target`), move the clock there. Returns the
    clock's time after the step; the caller commits and steps again until it reaches `target`, so other
    requests run between steps and see the world at each step's time.

    The clock row's lock serializes steps (and advances) across processes, and a step only ever moves
    the stored clock forward: two advances under way at once take turns, each towards its own target.
    """
    now, _ = clock.lock(conn)
    if now >= target:
        return now
    due = due_work.next_due(conn, False)
    at = target if due is None or due > target else max(due, now)
    run_at(conn, Moment.job(False, at), rail)
    clock.advance_to(conn, at)
    return at


PRUNE_BATCH = 500


# Expired account sessions and embedded tokens are kept this long (seconds of their mode's clock), so
# that a late claim or request is told `session_expired` rather than that the secret is unknown.
SESSION_RETENTION = 24 * 3600


def prune_sessions(conn: Tx, livemode: bool, now: int, *, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` account sessions and embedded tokens of a mode that expired more than
    `SESSION_RETENTION` ago by its clock; one bounded unit, repeated while it returns `batch`."""
    return store_sessions.prune(conn, livemode, now - SESSION_RETENTION, batch)


def prune_idempotency(conn: Tx, livemode: bool, now: int, *, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` idempotency records of a mode older than 24 hours by its clock (`now`);
    returns how many. One bounded unit of work: the caller repeats it while it returns `batch`."""
    return idempotency.prune(conn, livemode, now, batch)
