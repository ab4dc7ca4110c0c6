"""Automatic payouts: what an account's payout run does (`run_automatic`, the worker's job).

At each account's run the worker pays out each available balance (per currency and source type) to
the currency's default external account, and marks the balance transactions it swept with the payout
(`GET /v1/balance_transactions?payout=`). A negative balance is recovered by debiting the account's
bank when `debit_negative_balances` is set; the debit sweeps what it covers and its own credit,
pending until it arrives, so the balance is paid out again only once it has (else the next payout's
transactions would not add up to it). When runs are due: `payoutkit/services/payout_runs.py`.

`run_automatic` runs the plain accounts of a unit in batches (`payout_batch.py`) and the others one by
one (`run_account`); both apply the rules of `payout_run_rules.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey
from payoutkit.records.accounts import PayoutSettings
from payoutkit.services import accounts, payout_batch
from payoutkit.services.actor import Moment
from payoutkit.services.movement import Movement, movement
from payoutkit.services.payout_open import open_payout, payout_keys, siblings
from payoutkit.services.payout_run_rules import (
    AccountRun,
    amount,
    candidates,
    default_destinations,
    needs_credits,
    order,
    payments_of,
    platform_of,
    usable,
)
from payoutkit.services.payout_runs import next_run
from payoutkit.services.rail import Rail
from payoutkit.services.settlement import settle
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payouts as store
from payoutkit.store.bucket_reads import read_buckets


def _busy(buckets: list[Bucket], due: int | None, settings: PayoutSettings | None, now: int) -> bool:
    if due is not None and due <= now:
        return True  # funds to settle first
    if settings is None:
        return False
    return any(
        (settings.automatic and b.available > 0) or (settings.debit_negative_balances and b.available < 0)
        for b in buckets
        if b.key.balance_type is BalanceType.PAYMENTS
    )


def run_idle(
    conn: Tx,
    account_ids: Sequence[str],
    livemode: bool,
    now: int,
    known: payout_batch.Read | None = None,
) -> set[str]:
    """Of these accounts whose payout run is due, the ones a run would leave as they are — nothing to
    settle, no positive balance to pay out automatically, no negative one to debit — get their next run
    time in two reads and one write for the lot (no read, given what the unit has read of them already:
    `known`), and are returned; the caller runs the others one by one. A long simulated advance meets
    every account on every schedule day, and most have nothing to do: this keeps each of its steps
    cheap."""
    if not account_ids:
        return set()
    # The buckets as this unit has moved them: a payout that failed at this same moment has returned
    # its funds by a move deferred to the unit's end, and those funds are to be paid out now.
    if known is None:
        known = payout_batch.read(conn, livemode, account_ids)
    settings = {a: found.settings for a, found in known.accounts.items()}
    busy: set[str] = set()
    for account_id, (buckets, due) in known.buckets.items():
        # An account without payout settings is not idle either: it is run one by one.
        if _busy(buckets, due, settings.get(account_id), now):
            busy.add(account_id)
    idle = {a for a in account_ids if a in settings and a not in busy}
    store.set_next_runs(conn, livemode, {a: next_run(settings[a].schedule, now) for a in idle})
    return idle


def run_automatic(tx: Tx, moment: Moment, rail: Rail, *, limit: int = 200) -> int:
    """Run the payout runs that are due (at most `limit`); return how many accounts were run.

    The plain accounts' runs go in batches (`payout_batch`); an account that needs more (settling
    first, debiting, a platform's own run) is run alone, in its place in the due order, between them.
    The due accounts are read once, for the idle pass and the plan.
    """
    due = store.due_runs(tx, moment.livemode, moment.now, limit)
    known = payout_batch.read(tx, moment.livemode, due)
    idle = run_idle(tx, due, moment.livemode, moment.now, known)
    busy = [a for a in due if a not in idle]
    plans = payout_batch.plan(tx, moment, busy, known)
    batch: list[payout_batch.Plan] = []
    for account_id in busy:
        found = plans.get(account_id)
        if found is not None:
            batch.append(found)
            continue
        payout_batch.run_batch(tx, moment, rail, batch, known)
        batch = []
        run_account(tx, moment, rail, account_id)
    payout_batch.run_batch(tx, moment, rail, batch, known)
    return len(due)


def credits_in_flight(tx: Tx, account_id: str, livemode: bool) -> dict[tuple[str, str], int]:
    """Per (currency, source type): what the account's debits and reversals still on their way will
    credit when they arrive."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for payout in store.payouts_in_flight(tx, account_id, livemode):
        if payout.amount < 0:
            out[(payout.currency, payout.source_type)] -= payout.amount
    return out


def _candidates(tx: Tx, moment: Moment, run: AccountRun) -> tuple[list[BucketKey], AccountRun]:
    """The buckets the run may pay out or debit (settling what is due first), and the run with the
    debits on their way."""
    buckets, due = read_buckets(tx, run.account_id, moment.livemode)
    if due is not None and due <= moment.now:
        settle(tx, moment.now, livemode=moment.livemode, account_id=run.account_id)
        buckets, _ = read_buckets(tx, run.account_id, moment.livemode)
    payments = payments_of(buckets)
    negative = needs_credits(run.settings, payments)
    coming = credits_in_flight(tx, run.account_id, moment.livemode) if negative else {}
    run = AccountRun(run.account_id, run.platform_id, run.settings, run.defaults, coming)
    return candidates(run, payments), run


def _arriving(tx: Tx, mv: Movement) -> Callable[[BucketKey], bool]:
    """Whether a debit of the bucket is still on its way (read when asked)."""
    return lambda k: store.debit_arriving(tx, mv.seqs[mv.route(k)])


def run_account(tx: Tx, moment: Moment, rail: Rail, account_id: str) -> int:
    """One account's payout run; returns how many payouts it made."""
    account = accounts.get(tx, account_id)
    platform_id = platform_of(account)
    settings = account.payouts
    defaults = default_destinations(store_external_accounts.for_account(tx, account_id, moment.livemode))
    sources, run = _candidates(tx, moment, AccountRun(account_id, platform_id, settings, {}, {}))
    run = AccountRun(account_id, platform_id, settings, defaults, run.coming)
    made = 0
    for source in sources:
        if not usable(run, source):
            continue
        mv = movement(tx, moment, payout_keys(source, platform_id), exact=siblings(source))
        paid = amount(run, mv, source, _arriving(tx, mv))
        if paid is None:
            continue
        open_payout(tx, moment, rail, order=order(run, source, paid), mv=mv)
        made += 1
    store.set_next_runs(tx, moment.livemode, {account_id: next_run(settings.schedule, moment.now)})
    return made
