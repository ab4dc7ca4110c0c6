"""Booking: one pure function per money-moving operation, returning the entries to post.

Each function states a money story in entries; `post` checks they sum to zero. The accounts are:
the account that owns the operation, the platform (application fees, transfers, reserves), and the
system accounts `WORLD` (cards, banks) and `PROCESSOR` (processing fees it earns).

Availability: funds from outside arrive `pending` until `available_on`; money that moves between
accounts out of available funds (transfers, refunds, disputes, reserves) is available at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from payoutkit.ledger.postings import (
    PROCESSOR,
    WORLD,
    BalanceType,
    BucketKey,
    Entry,
    FeeDetail,
)


@dataclass(frozen=True)
class Charge:
    """A charge of `amount` on `key.account`, or on the platform with a `destination` account."""

    key: BucketKey  # the bucket of the account the charge is made on
    amount: int
    processing_fee: int
    application_fee: int
    created: int
    available_on: int
    charge_id: str
    platform: str
    description: str | None = None
    destination: str | None = None  # destination charge: the connected account paid
    transfer_id: str | None = None
    payment_id: str | None = None  # the destination's `py_` payment
    application_fee_id: str | None = None
    # What a destination charge transfers: the whole amount (the application fee then comes back from
    # the destination), or `transfer_data[amount]` (and the platform keeps the rest, no fee object).
    transfer_amount: int = 0


def _charge_outside(c: Charge) -> list[Entry]:
    """The charge's money from the world, and the processor's fee on it."""
    key = c.key
    outside = [
        Entry(
            key.with_account(WORLD), -c.amount, "charge", "charge", c.created, c.created, source=c.charge_id
        ),
    ]
    if c.processing_fee:
        outside.append(
            Entry(
                key.with_account(PROCESSOR),
                c.processing_fee,
                "stripe_fee",
                "fee",
                c.created,
                c.created,
                source=c.charge_id,
            )
        )
    return outside


def _fee_income(c: Charge) -> list[Entry]:
    """The platform's application fee, if the charge takes one."""
    if not c.application_fee:
        return []
    return [
        Entry(
            c.key.with_account(c.platform),
            c.application_fee,
            "application_fee",
            "platform_earning",
            c.created,
            c.available_on,
            source=c.application_fee_id,
            description="Application fee",
        )
    ]


def book_charge(c: Charge) -> list[Entry]:
    cur, key = c.key.currency, c.key
    stripe_fee = (FeeDetail(c.processing_fee, cur, "stripe_fee", "Payoutkit processing fees"),)
    app_fee = (
        (FeeDetail(c.application_fee, cur, "application_fee", "Application fee", c.platform),)
        if c.application_fee
        else ()
    )
    outside, fee_income = _charge_outside(c), _fee_income(c)
    if c.destination is None:
        own = Entry(
            key,
            c.amount,
            "charge",
            "charge",
            c.created,
            c.available_on,
            fee_details=stripe_fee + app_fee,
            description=c.description,
            source=c.charge_id,
        )
        return [own, *outside, *fee_income]
    if c.transfer_id is None or c.payment_id is None:
        raise ValueError("a destination charge needs its transfer and payment ids")
    return [
        Entry(
            key,
            c.amount,
            "charge",
            "charge",
            c.created,
            c.available_on,
            fee_details=stripe_fee,
            description=c.description,
            source=c.charge_id,
        ),
        Entry(
            key, -c.transfer_amount, "transfer", "transfer", c.created, c.available_on, source=c.transfer_id
        ),
        Entry(
            key.with_account(c.destination),
            c.transfer_amount,
            "payment",
            "charge",
            c.created,
            c.available_on,
            fee_details=app_fee,
            source=c.payment_id,
        ),
        *outside,
        *fee_income,
    ]


def book_refund(
    key: BucketKey, amount: int, *, refund_id: str, created: int, description: str | None = None
) -> list[Entry]:
    """A refund pays the customer back out of the charge owner's available balance (may go negative).

    Processing fees are not returned, as with Stripe's current pricing.
    """
    return [
        Entry(key, -amount, "refund", "refund", created, created, source=refund_id, description=description),
        Entry(key.with_account(WORLD), amount, "refund", "refund", created, created, source=refund_id),
    ]


def book_dispute(key: BucketKey, amount: int, fee: int, *, dispute_id: str, created: int) -> list[Entry]:
    """A dispute withdraws the disputed amount and a dispute fee from the charge owner at once."""
    details = (FeeDetail(fee, key.currency, "stripe_fee", "Dispute fee"),) if fee else ()
    entries = [
        Entry(
            key,
            -amount,
            "adjustment",
            "dispute",
            created,
            created,
            fee_details=details,
            source=dispute_id,
            description="Chargeback withdrawal",
        ),
        Entry(key.with_account(WORLD), amount, "adjustment", "dispute", created, created, source=dispute_id),
    ]
    if fee:
        entries.append(
            Entry(key.with_account(PROCESSOR), fee, "stripe_fee", "fee", created, created, source=dispute_id)
        )
    return entries


def book_transfer(
    platform_key: BucketKey,
    destination: str,
    amount: int,
    *,
    ids: tuple[str, str],
    created: int,
    description: str | None = None,
) -> list[Entry]:
    """The platform sends available funds to a connected account, which receives a `payment`;
    `ids` are the transfer's and the payment's."""
    transfer_id, payment_id = ids
    return [
        Entry(
            platform_key,
            -amount,
            "transfer",
            "transfer",
            created,
            created,
            source=transfer_id,
            description=description,
        ),
        Entry(
            platform_key.with_account(destination),
            amount,
            "payment",
            "transfer",
            created,
            created,
            source=payment_id,
        ),
    ]


def book_transfer_reversal(
    platform_key: BucketKey,
    destination: str,
    amount: int,
    *,
    reversal_id: str,
    payment_refund_id: str,
    created: int,
) -> list[Entry]:
    """Funds go back from the connected account (which may go negative) to the platform."""
    return [
        Entry(
            platform_key.with_account(destination),
            -amount,
            "payment_refund",
            "transfer_reversal",
            created,
            created,
            source=payment_refund_id,
        ),
        Entry(
            platform_key, amount, "transfer_refund", "transfer_reversal", created, created, source=reversal_id
        ),
    ]


def book_application_fee_refund(
    platform_key: BucketKey, account: str, amount: int, *, fee_refund_id: str, created: int
) -> list[Entry]:
    return [
        Entry(
            platform_key,
            -amount,
            "application_fee_refund",
            "platform_earning_refund",
            created,
            created,
            source=fee_refund_id,
        ),
        Entry(
            platform_key.with_account(account),
            amount,
            "application_fee_refund",
            "platform_earning_refund",
            created,
            created,
            source=fee_refund_id,
        ),
    ]


def book_topup(
    key: BucketKey,
    amount: int,
    *,
    topup_id: str,
    created: int,
    available_on: int,
    description: str | None = None,
) -> list[Entry]:
    """Funds pulled in from the account's bank into its `payments` or `issuing` balance."""
    return [
        Entry(key, amount, "topup", "topup", created, available_on, source=topup_id, description=description),
        Entry(key.with_account(WORLD), -amount, "topup", "topup", created, created, source=topup_id),
    ]


def reserve_delta(reserved: int, liable_available: int) -> int:
    """How much more (positive) or less (negative) the platform must hold in `connect_reserved`.

    The platform holds exactly the negative part of a connected account's available balance.
    """
    return max(0, -liable_available) - reserved


def book_reserve(platform_key: BucketKey, delta: int, *, created: int, description: str) -> list[Entry]:
    """Move `delta` of the platform's own funds into (positive) or out of its `connect_reserved`."""
    reserved_key = BucketKey(
        platform_key.account,
        platform_key.livemode,
        platform_key.currency,
        BalanceType.CONNECT_RESERVED,
        platform_key.source_type,
    )
    return [
        Entry(
            platform_key,
            -delta,
            "reserve_transaction",
            "connect_reserved_funds",
            created,
            created,
            description=description,
        ),
        Entry(
            reserved_key,
            delta,
            "reserve_transaction",
            "connect_reserved_funds",
            created,
            created,
            description=description,
        ),
    ]
