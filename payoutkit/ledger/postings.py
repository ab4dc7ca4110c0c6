"""Buckets, entries and posting: the double-entry core.

A *bucket* is the balance of one (account, mode, currency, balance type, source type); it holds
`available` and `pending`, signed minor units. An *entry* is one balance transaction to be written: it
moves `net = amount - fee` into one bucket, into `pending` when it becomes available later than it is
created, else into `available`.

Sign convention, settled once: a positive net adds to the bucket's holder. The world outside (card
networks, banks) and the processor are *system accounts* with buckets of their own, so the entries of
every operation sum to zero per mode and currency (`post` refuses any that do not) and the sum of all
buckets, system ones included, is always zero.

`post` is a function of the current buckets and the entries: it returns the new buckets and never
touches storage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from payoutkit.ledger.errors import InsufficientFunds, LedgerError


class BalanceType(StrEnum):
    PAYMENTS = "payments"
    ISSUING = "issuing"
    REFUND_AND_DISPUTE_PREFUNDING = "refund_and_dispute_prefunding"
    # Internal to the platform: funds held against negative balances of accounts it is liable for;
    # shown as the Balance's `connect_reserved`.
    CONNECT_RESERVED = "connect_reserved"


class SourceType(StrEnum):
    CARD = "card"
    BANK_ACCOUNT = "bank_account"
    FPX = "fpx"


class TxnStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"


# The system accounts: the world outside (money that enters or leaves through networks and banks) and
# the processor (the fees it earns). Their ids never collide with `acct_…` ids.
WORLD = "sys_world"
PROCESSOR = "sys_processor"


class UnbalancedBooking(LedgerError):
    """Entries of one operation do not sum to zero: a bug in a booking function, never user input."""


# Keys are made, hashed and compared by the thousand in a batch of payouts: slots halve a hash's cost.
@dataclass(frozen=True, order=True, slots=True)
class BucketKey:
    account: str
    livemode: bool
    currency: str
    balance_type: BalanceType = BalanceType.PAYMENTS
    source_type: SourceType = SourceType.CARD
    # Hashed once, when made: a payout hashes its keys some 60 times (dict lookups), and the generated
    # hash of five fields, two of them enums (whose hash is a Python call), costs about 1 µs each time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (self.account, self.livemode, self.currency, self.balance_type, self.source_type)
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[BucketKey], tuple[str, bool, str, BalanceType, SourceType]]:
        # Made anew when unpickled: a string's hash differs from process to process.
        return BucketKey, (self.account, self.livemode, self.currency, self.balance_type, self.source_type)

    def with_account(self, account: str) -> BucketKey:
        return BucketKey(account, self.livemode, self.currency, self.balance_type, self.source_type)

    def with_source_type(self, source_type: SourceType) -> BucketKey:
        return BucketKey(self.account, self.livemode, self.currency, self.balance_type, source_type)


@dataclass(frozen=True, slots=True)
class Bucket:
    key: BucketKey
    available: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.available + self.pending


@dataclass(frozen=True)
class FeeDetail:
    amount: int
    currency: str
    type: str  # application_fee | stripe_fee | tax | …
    description: str | None = None
    application: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "amount": self.amount,
            "application": self.application,
            "currency": self.currency,
            "description": self.description,
            "type": self.type,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One balance transaction to write."""

    key: BucketKey
    amount: int
    type: str
    reporting_category: str
    created: int
    available_on: int
    fee_details: tuple[FeeDetail, ...] = field(default=())
    description: str | None = None
    source: str | None = None
    # The payout that sweeps this transaction, when it is written already swept (an automatic payout's
    # own `payout` transaction): no later update of the row, nor of its indexes, to mark it.
    payout: str | None = None

    def __post_init__(self) -> None:
        for name in ("amount", "created", "available_on"):
            value = getattr(self, name)
            if type(value) is not int:
                raise TypeError(f"Entry.{name} must be an int, got {value!r}")
        if self.amount == 0 and self.fee == 0:
            raise ValueError("an entry moves money: amount and fee cannot both be zero")

    def with_key(self, key: BucketKey) -> Entry:
        """The same entry on another bucket (`dataclasses.replace` costs three times as much)."""
        return Entry(
            key, self.amount, self.type, self.reporting_category, self.created, self.available_on,
            self.fee_details, self.description, self.source, self.payout,
        )  # fmt: skip

    @property
    def fee(self) -> int:
        return sum(f.amount for f in self.fee_details) if self.fee_details else 0

    @property
    def net(self) -> int:
        return self.amount - self.fee

    @property
    def status(self) -> TxnStatus:
        return TxnStatus.PENDING if self.available_on > self.created else TxnStatus.AVAILABLE


def check_balanced(entries: Iterable[Entry]) -> None:
    totals: dict[tuple[bool, str], int] = defaultdict(int)
    for entry in entries:
        totals[(entry.key.livemode, entry.key.currency)] += entry.net
    unbalanced = {k: v for k, v in totals.items() if v != 0}
    if unbalanced:
        raise UnbalancedBooking(f"entries do not sum to zero: {unbalanced}")


def apply(buckets: Mapping[BucketKey, Bucket], entries: Iterable[Entry]) -> dict[BucketKey, Bucket]:
    """The new values of the buckets `entries` move (pending or available by each entry's status)."""
    changed: dict[BucketKey, Bucket] = {}
    for entry in entries:
        bucket = changed.get(entry.key) or buckets.get(entry.key) or Bucket(entry.key)
        if entry.status is TxnStatus.PENDING:
            bucket = Bucket(bucket.key, bucket.available, bucket.pending + entry.net)
        else:
            bucket = Bucket(bucket.key, bucket.available + entry.net, bucket.pending)
        changed[entry.key] = bucket
    return changed


def post(buckets: Mapping[BucketKey, Bucket], entries: Sequence[Entry]) -> dict[BucketKey, Bucket]:
    """Apply balanced `entries` to `buckets`; return the buckets that changed, with their new values."""
    check_balanced(entries)
    return apply(buckets, entries)


def require_available(bucket: Bucket | None, amount: int, *, param: str | None = "amount") -> None:
    """Refuse to take `amount` out of a bucket whose available funds do not cover it."""
    available = bucket.available if bucket else 0
    if amount > available:
        raise InsufficientFunds(
            "You have insufficient available funds in your Payoutkit account for this request. "
            f"This request needs {amount} and {max(available, 0)} is available.",
            param=param,
        )
