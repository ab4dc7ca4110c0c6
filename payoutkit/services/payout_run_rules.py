"""The rules of an automatic payout run, shared by the two ways accounts are run: one by one
(`payout_automatic.run_account`) and in batches (`payout_batch.run_batch`).

Which buckets a run considers (`candidates`), which it may use (`usable`: a usable default
destination), and what it pays out of a bucket once it is locked (`amount`) are decided here, on
values the caller has read; the callers only differ in how they read and write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from payoutkit.ledger.frozen import made_whole
from payoutkit.ledger.payout_record import NO_FEES
from payoutkit.ledger.payouts import payable, payout_limit
from payoutkit.ledger.postings import BalanceType, Bucket, BucketKey
from payoutkit.records.accounts import Account, PayoutSettings
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services.movement import Movement
from payoutkit.services.payout_open import PayoutOrder, siblings


@dataclass(frozen=True)
class AccountRun:
    """One account's run: who, what its settings say, its default destinations, the debits on their way."""

    account_id: str
    platform_id: str
    settings: PayoutSettings
    defaults: dict[str, ExternalAccount]
    coming: dict[tuple[str, str], int]

    def short(self, source: BucketKey, available: int) -> int:
        """What is still short once the debits already on their way have arrived."""
        return available + self.coming.get((source.currency, source.source_type.value), 0)


def platform_of(account: Account) -> str:
    """The platform whose account pays an account's fees: the platform's own account is its own."""
    return account.id if account.kind == "platform" else str(account.platform_id)


def default_destinations(mine: Iterable[ExternalAccount]) -> dict[str, ExternalAccount]:
    """Per currency, the default external account (of the account's, newest first)."""
    return {d.currency: d for d in mine if d.default_for_currency}


def payments_of(buckets: Iterable[Bucket]) -> list[Bucket]:
    return [b for b in buckets if b.key.balance_type is BalanceType.PAYMENTS]


def needs_credits(settings: PayoutSettings, payments: Sequence[Bucket]) -> bool:
    """Whether a run must know the debits on their way (`AccountRun.coming`): it may debit a negative
    balance."""
    return settings.debit_negative_balances and any(b.available < 0 for b in payments)


def candidates(run: AccountRun, payments: Sequence[Bucket]) -> list[BucketKey]:
    """The buckets the run may pay out (a positive balance, automatic payouts on) or debit (a shortfall
    the debits on their way do not cover, `debit_negative_balances` on)."""
    automatic, debit = run.settings.automatic, run.settings.debit_negative_balances
    return [
        b.key
        for b in payments
        if (automatic and b.available > 0) or (debit and run.short(b.key, b.available) < 0)
    ]


def usable(run: AccountRun, source: BucketKey) -> bool:
    dest = run.defaults.get(source.currency)
    if dest is None or dest.errored:
        return False  # no usable destination: automatic payouts stop until it is updated
    # A debit needs a bank account.
    return dest.object == "bank_account" or run.settings.automatic


def amount(
    run: AccountRun, mv: Movement, source: BucketKey, arriving: Callable[[BucketKey], bool]
) -> int | None:
    """What the run pays out of `source` (negative: debits), or None to leave it; `mv` has the source's
    currency locked, `arriving(source)` says whether a debit of that bucket is still on its way."""
    available = mv.bucket(source).available
    if run.settings.automatic and available > 0:
        # A positive balance is paid out whole (an automatic payout sweeps its bucket; in HUF and TWD
        # all but what is short of a whole unit) and only while the currency's total covers it: an
        # account that owes money in another source type is paid out once that is covered.
        total = sum(mv.bucket(k).available for k in siblings(source))
        paid = payable(available, source.currency)
        if paid <= 0 or paid > payout_limit(available, total):
            return None
        if arriving(source):
            return None  # the balance's debit has not arrived yet: pay out once it has
        return paid
    paid = payable(run.short(source, available), source.currency)
    dest = run.defaults[source.currency]
    if not (run.settings.debit_negative_balances and paid < 0 and dest.object == "bank_account"):
        return None
    return paid


def order(run: AccountRun, source: BucketKey, paid: int) -> PayoutOrder:
    """The automatic payout of `paid` out of `source` to the currency's default destination."""
    return made_whole(  # every field at once (payoutkit/ledger/frozen.py): a payout per account of a run
        PayoutOrder,
        account_id=run.account_id,
        platform_id=run.platform_id,
        amount=paid,
        source=source,
        destination=run.defaults[source.currency],
        outcome=None,
        method="standard",
        automatic=True,
        fees=NO_FEES,
        description=None,
        statement_descriptor=run.settings.statement_descriptor,
        metadata={},
        original_payout=None,
    )
