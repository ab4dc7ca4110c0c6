"""Automatic payout runs in batches: many accounts' runs in a few statements, with the rules of
`payout_run_rules` (the same as `payout_automatic.run_account`, one account at a time).

`plan` reads the accounts of a unit's due runs at once — the accounts, their buckets, their external
accounts (with what their payouts do) — and says which are *plain*: a connected account with nothing
due to settle and no negative balance it may debit. The others (a platform, whose buckets its liable
accounts' reserves move; an account to settle first, or to debit, which needs its debits in flight;
an unknown one) are run one by one, by the caller, in their place in the due order; the plain ones
between them form a batch (`run_batch`):

1. one `Movement` declares every bucket each payout may move, and locks, in one statement and in
   row-id order, those whose value the runs check (each source's currency; a liable account's
   platform buckets only move, by a relative update before the commit) — the very set each account's
   own movement would lock, settling what is due on them first. On SQLite, where the unit has held the
   database's write lock since it began, the buckets the unit read for the plan (`read`) are those
   values, as long as it has moved no bucket since (`store.balances.Known`): they are not found and
   read again;
2. in due order, each account's sources are decided (`payout_run_rules.amount`) on the locked values,
   and each payout booked in memory (`payout_open.book_order` on the staged movement): a source sees
   what the account's earlier payouts in this run left, as it does one by one;
3. then it is written: the balance transactions in one statement, the payouts, their tracking rows,
   sweeps and `payout.created` events (in the same order) in a few more, and every account's next run.

Plain accounts' runs are independent of each other: each moves only its own buckets, the world's, and
its platform's reserve, which follows the account alone; a platform is never in a batch. So deciding
them in one pass, then writing, leaves what running them one after another leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from payoutkit.ledger.frozen import made_whole
from payoutkit.ledger.postings import Bucket, BucketKey
from payoutkit.records.external_accounts import PayoutOutcome
from payoutkit.services.actor import Moment
from payoutkit.services.movement import Movement, prefetch_liability, remember_liability
from payoutkit.services.payout_open import Opened, book_order, payout_keys, record_opened, siblings
from payoutkit.services.payout_run_rules import (
    AccountRun,
    amount,
    candidates,
    default_destinations,
    needs_credits,
    order,
    payments_of,
    usable,
)
from payoutkit.services.payout_runs import next_run
from payoutkit.services.rail import Rail
from payoutkit.store import Tx
from payoutkit.store import external_accounts as store_external_accounts
from payoutkit.store import payouts as store
from payoutkit.store.balances import Known
from payoutkit.store.bucket_reads import read_buckets_many


@dataclass(frozen=True)
class Plan:
    """A plain account's run as read before locking: the run, the buckets it may pay out (in key order),
    and what each of its external accounts does with a payout."""

    run: AccountRun
    sources: list[BucketKey]
    outcomes: dict[str, PayoutOutcome]


@dataclass(frozen=True)
class Read:
    """What a unit reads of its due accounts before anything moves, once for the idle pass
    (`payout_automatic.run_idle`) and the plan: each account's kind, platform and payout settings
    (those with settings), and its buckets (in key order) with the earliest time any has funds due."""

    accounts: dict[str, store.RunAccount]
    buckets: dict[str, tuple[list[Bucket], int | None]]
    known: Known | None = None  # the buckets as read, for the batch's movement (SQLite)


def read(tx: Tx, livemode: bool, account_ids: Sequence[str]) -> Read:
    """`Read` of these accounts, in two statements (the buckets as this unit has moved them); their
    liability is kept for the batch's movement (`prefetch_liability` then reads none of them)."""
    found = store.run_accounts(tx, account_ids)
    remember_liability(tx, {a: r.liability for a, r in found.items()})
    return Read(found, *read_buckets_many(tx, account_ids, livemode))


def plan(tx: Tx, moment: Moment, account_ids: Sequence[str], known: Read | None = None) -> dict[str, Plan]:
    """The plain accounts among these (see the module docstring), read in three statements (one, given
    what the unit has read of them already: `known`). An account `run_account` would refuse (unknown,
    no payout settings) is left to it."""
    if not account_ids:
        return {}
    if known is None:
        known = read(tx, moment.livemode, account_ids)
    found = known.accounts
    connected = [a for a in account_ids if a in found and found[a].kind not in ("platform", "system")]
    destinations = store_external_accounts.for_accounts(tx, connected, moment.livemode)
    plans: dict[str, Plan] = {}
    for account_id in connected:
        account = found[account_id]
        mine, due = known.buckets.get(account_id, ([], None))
        payments = payments_of(mine)
        if (due is not None and due <= moment.now) or needs_credits(account.settings, payments):
            continue  # settled first, or its debits in flight read: run one by one
        external = destinations[account_id]
        defaults = default_destinations(ea for ea, _ in external)
        # Every field at once (`made_whole`): a plan per account of every unit.
        run = made_whole(
            AccountRun, account_id=account_id, platform_id=str(account.platform_id),
            settings=account.settings, defaults=defaults, coming={},
        )  # fmt: skip
        outcomes = {ea.id: outcome for ea, outcome in external}
        plans[account_id] = made_whole(Plan, run=run, sources=candidates(run, payments), outcomes=outcomes)
    return plans


def _lock(
    tx: Tx, moment: Moment, work: Sequence[tuple[Plan, list[BucketKey]]], known: Known | None
) -> Movement:
    """One movement for the batch: every bucket each payout may move, those it checks locked (what the
    unit read of them, if it still holds: `Known`)."""
    runs = [p.run for p, _ in work]
    prefetch_liability(tx, {r.account_id for r in runs} | {r.platform_id for r in runs})
    # Declared once each: the world's, the processor's and a platform's buckets are every payout's.
    moved: set[BucketKey] = set()
    checked: set[BucketKey] = set()
    for p, sources in work:
        for source in sources:
            moved.update(payout_keys(source, p.run.platform_id))
            checked.update(siblings(source))
    return Movement(tx, moment).touch(*moved).touch(*checked, exact=True).lock(known).stage()


def run_batch(tx: Tx, moment: Moment, rail: Rail, plans: Sequence[Plan], known: Read | None = None) -> int:
    """Run these plain accounts' payout runs as one batch (see the module docstring); returns how many
    payouts it made. `known`: what the unit read of them (`read`), used if it still holds."""
    if not plans:
        return 0
    work = [(p, [s for s in p.sources if usable(p.run, s)]) for p in plans]
    work = [(p, sources) for p, sources in work if sources]
    opened: list[Opened] = []
    if work:
        mv = _lock(tx, moment, work, known.known if known is not None else None)
        settles = mv.locked.next_settle  # read under lock: a bucket with a debit on its way has a time
        arriving = store.debits_arriving(tx, {mv.seqs[s]: settles[s] for _, sources in work for s in sources})
        for p, sources in work:
            for source in sources:
                paid = amount(p.run, mv, source, lambda k: mv.seqs[k] in arriving)
                if paid is None:
                    continue
                payout = order(p.run, source, paid)
                outcome = p.outcomes.get(payout.destination.id, PayoutOutcome())
                opened.append(book_order(moment, rail, mv, payout, outcome, reserves_of={p.run.account_id}))
        mv.flush()
        record_opened(tx, moment, rail, mv, opened)
    at = {p.run.account_id: next_run(p.run.settings.schedule, moment.now) for p in plans}
    store.set_next_runs(tx, moment.livemode, at)
    return len(opened)
