"""Automatic payouts: what an account's payout run does (`run_automatic`, the worker's job).

At each account's run the worker pays out each available balance (per currency and source type) to
the currency's default external account, and marks the balance transactions it swept with the payout
(`GET /v1/balance_transactions?payout=`). A negative balance is recovered by debiting the account's
bank when `debit_negative_balances` is set; the debit sweeps what it covers and its own credit,
pending until it arrives, so the balance is paid out again only once it has (else the next payout's
transactions would not add up to it). When runs are due: `payoutkit/services/payout_runs.py`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from payoutkit.ledger.payouts import payable, payout_limit
from payoutkit.ledger.postings import BalanceType, BucketKey
from payoutkit.services.actor import Moment
from payoutkit.services.movement import Movement, movement
from payoutkit.services.payout_open import PayoutOrder, open_payout, payout_keys, siblings
from payoutkit.services.payout_parties import (
    Destination,
    PayoutSettings,
    account_of,
    destinations,
    payout_settings_of,
)
from payoutkit.services.payout_runs import next_run
from payoutkit.services.rail import Rail
from payoutkit.services.settlement import settle
from payoutkit.store import Tx
from payoutkit.store import payouts as store
from payoutkit.store.balances import read_buckets
from payoutkit.store.payouts import RunBalance


def _busy(r: RunBalance, settings: PayoutSettings | None, now: int) -> bool:
    if r.next_settle_at is not None and r.next_settle_at <= now:
        return True
    if r.balance_type != "payments" or r.available == 0 or settings is None:
        return False
    return (settings.automatic and r.available > 0) or (settings.debit_negative_balances and r.available < 0)


def run_idle(
    conn: Tx,
    account_ids: Sequence[str],
    livemode: bool,
    now: int,
) -> set[str]:
    """Of these accounts whose payout run is due, the ones a run would leave as they are — nothing to
    settle, no positive balance to pay out automatically, no negative one to debit — get their next run
    time in two reads and one write for the lot, and are returned; the caller runs the others one by
    one. A long simulated advance meets every account on every schedule day, and most have nothing
    to do: this keeps each of its steps cheap."""
    if not account_ids:
        return set()
    settings = {a: payout_settings_of(s) for a, s in store.payout_settings(conn, account_ids).items()}
    busy: set[str] = set()
    # The buckets as this unit has moved them: a payout that failed at this same moment has returned
    # its funds by a move deferred to the unit's end, and those funds are to be paid out now.
    for r in store.run_balances(conn, account_ids, livemode):
        # An account without payout settings is not idle either: it is run one by one.
        if _busy(r, settings.get(r.account_id), now):
            busy.add(r.account_id)
    idle = {a for a in account_ids if a in settings and a not in busy}
    store.set_next_runs(conn, livemode, {a: next_run(settings[a].schedule, now) for a in idle})
    return idle


def run_automatic(tx: Tx, moment: Moment, rail: Rail, *, limit: int = 200) -> int:
    """Run the payout runs that are due (at most `limit`); return how many accounts were run."""
    due = store.due_runs(tx, moment.livemode, moment.now, limit)
    idle = run_idle(tx, due, moment.livemode, moment.now)
    for account_id in due:
        if account_id not in idle:
            run_account(tx, moment, rail, account_id)
    return len(due)


def credits_in_flight(tx: Tx, account_id: str, livemode: bool) -> dict[tuple[str, str], int]:
    """Per (currency, source type): what the account's debits and reversals still on their way will
    credit when they arrive."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for payout in store.payouts_in_flight(tx, account_id, livemode):
        if payout.amount < 0:
            out[(payout.currency, payout.source_type)] -= payout.amount
    return out


@dataclass(frozen=True)
class _Run:
    """One account's run: who, what its settings say, its default destinations, the debits on their way."""

    account_id: str
    platform_id: str
    settings: PayoutSettings
    defaults: dict[str, Destination]
    coming: dict[tuple[str, str], int]

    def short(self, source: BucketKey, available: int) -> int:
        """What is still short once the debits already on their way have arrived."""
        return available + self.coming.get((source.currency, source.source_type.value), 0)


def _candidates(tx: Tx, moment: Moment, run: _Run) -> tuple[list[BucketKey], _Run]:
    """The buckets the run may pay out or debit (settling what is due first), and the run with the
    debits on their way."""
    automatic, debit = run.settings.automatic, run.settings.debit_negative_balances
    buckets, due = read_buckets(tx, run.account_id, moment.livemode)
    if due is not None and due <= moment.now:
        settle(tx, moment.now, livemode=moment.livemode, account_id=run.account_id)
        buckets, _ = read_buckets(tx, run.account_id, moment.livemode)
    payments = [b for b in buckets if b.key.balance_type is BalanceType.PAYMENTS]
    negative = debit and any(b.available < 0 for b in payments)
    coming = credits_in_flight(tx, run.account_id, moment.livemode) if negative else {}
    run = _Run(run.account_id, run.platform_id, run.settings, run.defaults, coming)
    keys = [
        b.key
        for b in payments
        if (automatic and b.available > 0) or (debit and run.short(b.key, b.available) < 0)
    ]
    return keys, run


def _amount(tx: Tx, run: _Run, mv: Movement, source: BucketKey) -> int | None:
    """What the run pays out of `source` (negative: debits), or None to leave it."""
    available = mv.bucket(source).available
    if run.settings.automatic and available > 0:
        # A positive balance is paid out whole (an automatic payout sweeps its bucket; in HUF and TWD
        # all but what is short of a whole unit) and only while the currency's total covers it: an
        # account that owes money in another source type is paid out once that is covered.
        total = sum(mv.bucket(k).available for k in siblings(source))
        amount = payable(available, source.currency)
        if amount <= 0 or amount > payout_limit(available, total):
            return None
        if store.debit_arriving(tx, mv.seqs[mv.route(source)]):
            return None  # the balance's debit has not arrived yet: pay out once it has
        return amount
    amount = payable(run.short(source, available), source.currency)
    dest = run.defaults[source.currency]
    if not (run.settings.debit_negative_balances and amount < 0 and dest.object == "bank_account"):
        return None
    return amount


def _usable(run: _Run, source: BucketKey) -> bool:
    dest = run.defaults.get(source.currency)
    if dest is None or dest.errored:
        return False  # no usable destination: automatic payouts stop until it is updated
    # A debit needs a bank account.
    return dest.object == "bank_account" or run.settings.automatic


def run_account(tx: Tx, moment: Moment, rail: Rail, account_id: str) -> int:
    """One account's payout run; returns how many payouts it made."""
    platform_id, data = store.account_of(tx, account_id)
    settings = account_of(data).payouts
    defaults = {
        d.currency: d for d in destinations(tx, account_id, moment.livemode) if d.default_for_currency
    }
    sources, run = _candidates(tx, moment, _Run(account_id, platform_id, settings, {}, {}))
    run = _Run(account_id, platform_id, settings, defaults, run.coming)
    made = 0
    for source in sources:
        if not _usable(run, source):
            continue
        mv = movement(tx, moment, payout_keys(source, platform_id), exact=siblings(source))
        amount = _amount(tx, run, mv, source)
        if amount is None:
            continue
        order = PayoutOrder(
            account_id=account_id,
            platform_id=platform_id,
            amount=amount,
            source=source,
            destination=run.defaults[source.currency],
            automatic=True,
            statement_descriptor=settings.statement_descriptor,
        )
        open_payout(tx, moment, rail, order=order, mv=mv)
        made += 1
    store.set_next_runs(tx, moment.livemode, {account_id: next_run(settings.schedule, moment.now)})
    return made
