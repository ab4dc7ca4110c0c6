"""Reading the Balance and balance transactions: use cases that write nothing.

The Balance is read from buckets only (its cost does not grow with history). Funds that are due but
not yet settled (the worker, the test clock or the next money-moving unit settles them) are shown as
settlement would leave them: the due pending amounts, read per bucket through the settlement index,
are folded into available in memory (`settled`), and a due pending transaction shows as available
(`BalanceTransaction.as_of`). A read thus answers exactly what a settle-then-read would, without
taking the write lock. The platform's internal `connect_reserved` leg of a reserve transaction is not
listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from payoutkit.clock import mode_time
from payoutkit.config import Settings
from payoutkit.errors import ResourceMissing
from payoutkit.ids import check_id
from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey
from payoutkit.lists import Page, Window
from payoutkit.records.balance import Balance, BalanceTransaction, balance_of, held_currencies
from payoutkit.services.actor import Actor
from payoutkit.services.instant import balance_instantly
from payoutkit.store import Tx, holders, transactions, units, visibility
from payoutkit.store.bucket_reads import (
    ForBalance,
    due_pending,
    read_buckets,
    read_for_balance,
    read_for_balances,
)


def settled(buckets: Iterable[Bucket], due: Mapping[BucketKey, int]) -> list[Bucket]:
    """The buckets as settlement would leave them: each bucket's `due` pending funds made available."""
    return [
        replace(b, available=b.available + due[b.key], pending=b.pending - due[b.key]) if b.key in due else b
        for b in buckets
    ]


def read_balance(tx: Tx, actor: Actor) -> Balance:
    """The acting account's Balance, with what is due by now shown as available."""
    return _balance(tx, actor, *read_buckets(tx, actor.account_id, actor.livemode))


def _balance(
    tx: Tx, actor: Actor, buckets: list[Bucket], due_at: int | None, default_currency: str | None = None
) -> Balance:
    """The Balance of the acting account's `buckets` (`due_at`: the earliest time any has funds due;
    `default_currency`: the account's, if it was read already)."""
    now = None if due_at is None else mode_time(actor.now, actor.livemode)  # the time, when it matters
    if due_at is not None and now is not None and due_at <= now:
        buckets = settled(buckets, due_pending(tx, actor.account_id, actor.livemode, now))
    held = held_currencies(buckets)
    # The currency of the zero entries: the account's default one, read only when it holds nothing.
    if held:
        default_currency = held[0]
    elif default_currency is None:
        default_currency = _default_currency(tx, actor.account_id)
    return balance_of(
        buckets, livemode=actor.livemode, default_currency=default_currency, is_platform=actor.is_platform
    )


def retrieve(tx: Tx, actor: Actor, settings: Settings) -> Balance:
    """`GET /v1/balance`: the acting account's Balance (`read_balance`) with what it may pay out
    instantly (`instant_available`, services/instant.py). In a unit that runs several requests' reads
    (`units.shared`: each came before it began), one Balance read answers all of them that ask for
    the same account's."""
    memo = units.shared(tx)
    if memo is None:
        return _retrieve(tx, actor, settings, None)
    key = ("balance", actor.account_id, actor.platform_id, actor.livemode)
    found: Balance | None = memo.get(key)
    if found is None:
        read = memo.pop(("read", actor.account_id, actor.platform_id, actor.livemode), None)
        found = memo[key] = _retrieve(tx, actor, settings, read)
    return found


def read_together(tx: Tx, actors: Iterable[Actor], settings: Settings) -> None:
    """Before the `retrieve`s of a unit that runs several requests' reads (`units.shared`): what each
    of their accounts' Balance is read from, one statement for all the accounts of one platform and
    mode (`read_for_balances`); an account of its own is left to its `retrieve`."""
    memo = units.shared(tx)
    if memo is None:
        return
    wanted: dict[tuple[str, bool], set[str]] = {}
    for a in actors:
        wanted.setdefault((a.platform_id, a.livemode), set()).add(a.account_id)
    for (platform_id, livemode), accounts in wanted.items():
        if len(accounts) > 1:
            for account_id, read in read_for_balances(tx, accounts, platform_id, livemode).items():
                memo["read", account_id, platform_id, livemode] = read


def _retrieve(tx: Tx, actor: Actor, settings: Settings, read: ForBalance | None) -> Balance:
    # One statement reads the buckets, the account's default currency, the destinations and pricing
    # `balance_instantly` reads and the clock that `actor.now` may read (store/bucket_reads.py).
    if read is None:
        read = read_for_balance(tx, actor.account_id, actor.platform_id, actor.livemode)
    if not read.exists:
        raise ResourceMissing.for_id("account", actor.account_id)
    found = _balance(tx, actor, read.buckets, read.due_at, str(read.default_currency))
    instantly = balance_instantly(tx, actor, settings, list(found.buckets))
    if not instantly:
        return found
    return replace(found, instant_available=tuple(instantly))


def _default_currency(tx: Tx, account_id: str) -> str:
    found = holders.holder(tx, account_id)
    if found is None:
        raise ResourceMissing.for_id("account", account_id)
    return str(found.default_currency)


def find_transaction(tx: Tx, actor: Actor, txn_id: str) -> BalanceTransaction | None:
    """A balance transaction the actor may see: its own (but a reserve's internal leg), or, for a
    platform, one of its own or its connected accounts' in the request's mode."""
    txn = transactions.find(tx, txn_id, actor.livemode)
    if txn is None:
        return None
    own = txn.account_id == actor.account_id and txn.balance_type != BalanceType.CONNECT_RESERVED.value
    if not own and not (actor.is_platform and _platform_sees(tx, actor, txn.account_id)):
        return None
    return txn.as_of(mode_time(actor.now, txn.livemode))


def _platform_sees(tx: Tx, actor: Actor, owner: str) -> bool:
    return owner == actor.account_id or visibility.platform_of(tx, owner) == actor.platform_id


def retrieve_transaction(tx: Tx, actor: Actor, txn_id: str) -> BalanceTransaction:
    check_id(txn_id, ("txn",), "id", "balance transaction")
    found = find_transaction(tx, actor, txn_id)
    if found is None:
        raise ResourceMissing.for_id("balance transaction", txn_id)
    return found


@dataclass(frozen=True)
class ListTransactions:
    """Which of the acting account's balance transactions to list (each filter optional)."""

    currency: str | None = None
    payout: str | None = None
    source: str | None = None
    type: str | None = None

    def __post_init__(self) -> None:
        if self.payout:
            check_id(self.payout, ("po",), "payout", "payout")


def list_transactions(
    tx: Tx, actor: Actor, command: ListTransactions, window: Window
) -> Page[BalanceTransaction]:
    where = transactions.Filter(
        actor.account_id,
        actor.livemode,
        currency=command.currency.lower() if command.currency else None,
        type=command.type,
        source=command.source,
        payout=command.payout,
    )
    now = mode_time(actor.now, actor.livemode)
    return transactions.listed(tx, where, window).map(lambda t: t.as_of(now))
