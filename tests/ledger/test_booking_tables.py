"""Table tests for every `book_*` function of the pure ledger: each row a money story and its entries.

Each row gives concrete inputs and the exact entries expected, written out by hand from the rules in
docs/architecture.md ("Money stories, as booked") and the functions' docstrings, never computed by the
code under test: per entry the account, type, reporting category, amount, fee details, fee, net,
status and `available_on`, source, description, and the bucket it lands in (currency, balance type,
source type, mode). The order of the entries is part of what is checked (services find "the first
balance transaction written for an account" by it). Every row's entries must also sum to zero per
mode and currency.

Amounts are the processing fee rules worked by hand: card 2.9 % + 30 (10,000 → 290 + 30 = 320), ACH
0.8 % capped at 500 (100,000 → 800, capped 500), JPY card 3.6 % (1,000 → 36).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from payoutkit import ledger
from payoutkit.ledger.booking import (
    Charge,
    book_application_fee_refund,
    book_charge,
    book_dispute,
    book_refund,
    book_reserve,
    book_topup,
    book_transfer,
    book_transfer_reversal,
)
from payoutkit.ledger.fees import PercentFee
from payoutkit.ledger.instant import instant_fees
from payoutkit.ledger.payouts import Booking, PayoutFees, book_payout, book_payout_return
from payoutkit.ledger.postings import BalanceType, BucketKey, Entry, SourceType, check_balanced

T = 1767261600  # 2026-01-01T10:00:00Z, a Thursday: every booking is created now unless said otherwise
MON = 1767571200  # 2026-01-05T00:00:00Z: two business days after T (card settlement)
FRI = 1767916800  # 2026-01-09T00:00:00Z: six business days after T (ACH settlement)
LATER = T + 7 * 86_400  # a booking made a week after T
ARRIVAL = 1767398400  # 2026-01-03T00:00:00Z: a standard payout's arrival date (for the debit rows)

A, B, P = "acct_a", "acct_b", "acct_platform"
WORLD, PROC = "sys_world", "sys_processor"
PAY, RESERVED, ISSUING = BalanceType.PAYMENTS, BalanceType.CONNECT_RESERVED, BalanceType.ISSUING
CARD, BANK = SourceType.CARD, SourceType.BANK_ACCOUNT

Fee = tuple[str, int, str | None, str | None]  # (type, amount, application, description)


class Row(NamedTuple):
    """One entry as the tables write it."""

    account: str
    type: str
    category: str
    amount: int
    fees: tuple[Fee, ...]
    fee: int
    net: int
    status: str
    available_on: int
    source: str | None
    description: str | None = None
    currency: str = "usd"
    balance: BalanceType = PAY
    source_type: SourceType = CARD
    livemode: bool = False


def seen(entries: list[Entry]) -> list[Row]:
    rows = []
    for e in entries:
        assert {f.currency for f in e.fee_details} <= {e.key.currency}
        rows.append(
            Row(
                e.key.account,
                e.type,
                e.reporting_category,
                e.amount,
                tuple((f.type, f.amount, f.application, f.description) for f in e.fee_details),
                e.fee,
                e.net,
                e.status.value,
                e.available_on,
                e.source,
                e.description,
                e.key.currency,
                e.key.balance_type,
                e.key.source_type,
                e.key.livemode,
            )
        )
        assert e.created in (T, LATER)
    return rows


def check(entries: list[Entry], expected: list[Row]) -> None:
    assert seen(entries) == expected
    check_balanced(entries)


def key(
    account: str,
    currency: str = "usd",
    source: SourceType = CARD,
    balance: BalanceType = PAY,
    livemode: bool = False,
) -> BucketKey:
    return BucketKey(account, livemode, currency, balance, source)


PROCESSING_FEES = "Payoutkit processing fees"

# ---- book_charge ---------------------------------------------------------------------------------

# fmt: off
CHARGES: list[tuple[Charge, list[Row]]] = [
    (  # A card charge on A: pending until Monday; the world pays, the processor earns its fee at once.
        Charge(key(A), 10_000, 320, 0, T, MON, "ch_1", P, description="Order 1"),
        [
            Row(A, "charge", "charge", 10_000, (("stripe_fee", 320, None, PROCESSING_FEES),), 320, 9_680,
                "pending", MON, "ch_1", "Order 1"),
            Row(WORLD, "charge", "charge", -10_000, (), 0, -10_000, "available", T, "ch_1"),
            Row(PROC, "stripe_fee", "fee", 320, (), 0, 320, "available", T, "ch_1"),
        ],
    ),
    (  # A direct charge with an application fee of 500: A pays both fees; the platform's is pending.
        Charge(key(A), 10_000, 320, 500, T, MON, "ch_2", P, application_fee_id="fee_2"),
        [
            Row(A, "charge", "charge", 10_000,
                (("stripe_fee", 320, None, PROCESSING_FEES), ("application_fee", 500, P, "Application fee")),
                820, 9_180, "pending", MON, "ch_2"),
            Row(WORLD, "charge", "charge", -10_000, (), 0, -10_000, "available", T, "ch_2"),
            Row(PROC, "stripe_fee", "fee", 320, (), 0, 320, "available", T, "ch_2"),
            Row(P, "application_fee", "platform_earning", 500, (), 0, 500, "pending", MON, "fee_2",
                "Application fee"),
        ],
    ),
    (  # Zero processing fee, available at once (bypassPending): a zero fee detail, no processor entry.
        Charge(key(A), 5_000, 0, 0, T, T, "ch_3", P),
        [
            Row(A, "charge", "charge", 5_000, (("stripe_fee", 0, None, PROCESSING_FEES),), 0, 5_000,
                "available", T, "ch_3"),
            Row(WORLD, "charge", "charge", -5_000, (), 0, -5_000, "available", T, "ch_3"),
        ],
    ),
    (  # JPY, zero-decimal: 1,000 yen at 3.6 % is 36 yen.
        Charge(key(A, "jpy"), 1_000, 36, 0, T, MON, "ch_4", P),
        [
            Row(A, "charge", "charge", 1_000, (("stripe_fee", 36, None, PROCESSING_FEES),), 36, 964,
                "pending", MON, "ch_4", currency="jpy"),
            Row(WORLD, "charge", "charge", -1_000, (), 0, -1_000, "available", T, "ch_4", currency="jpy"),
            Row(PROC, "stripe_fee", "fee", 36, (), 0, 36, "available", T, "ch_4", currency="jpy"),
        ],
    ),
    (  # ACH (bank_account) with the fee at its 500 cap, settled six business days later, live mode.
        Charge(key(A, source=BANK, livemode=True), 100_000, 500, 0, T, FRI, "ch_5", P),
        [
            Row(A, "charge", "charge", 100_000, (("stripe_fee", 500, None, PROCESSING_FEES),), 500, 99_500,
                "pending", FRI, "ch_5", source_type=BANK, livemode=True),
            Row(WORLD, "charge", "charge", -100_000, (), 0, -100_000, "available", T, "ch_5",
                source_type=BANK, livemode=True),
            Row(PROC, "stripe_fee", "fee", 500, (), 0, 500, "available", T, "ch_5", source_type=BANK,
                livemode=True),
        ],
    ),
    (  # A destination charge to B with an application fee: the whole amount goes over, the fee back.
        Charge(key(P), 10_000, 320, 500, T, MON, "ch_6", P, destination=B, transfer_id="tr_6",
               payment_id="py_6", application_fee_id="fee_6", transfer_amount=10_000),
        [
            Row(P, "charge", "charge", 10_000, (("stripe_fee", 320, None, PROCESSING_FEES),), 320, 9_680,
                "pending", MON, "ch_6"),
            Row(P, "transfer", "transfer", -10_000, (), 0, -10_000, "pending", MON, "tr_6"),
            Row(B, "payment", "charge", 10_000, (("application_fee", 500, P, "Application fee"),), 500,
                9_500, "pending", MON, "py_6"),
            Row(WORLD, "charge", "charge", -10_000, (), 0, -10_000, "available", T, "ch_6"),
            Row(PROC, "stripe_fee", "fee", 320, (), 0, 320, "available", T, "ch_6"),
            Row(P, "application_fee", "platform_earning", 500, (), 0, 500, "pending", MON, "fee_6",
                "Application fee"),
        ],
    ),
    (  # A destination charge with transfer_data[amount] = 8,000: the platform keeps 2,000, no fee object.
        Charge(key(P), 10_000, 320, 0, T, MON, "ch_7", P, destination=B, transfer_id="tr_7",
               payment_id="py_7", transfer_amount=8_000),
        [
            Row(P, "charge", "charge", 10_000, (("stripe_fee", 320, None, PROCESSING_FEES),), 320, 9_680,
                "pending", MON, "ch_7"),
            Row(P, "transfer", "transfer", -8_000, (), 0, -8_000, "pending", MON, "tr_7"),
            Row(B, "payment", "charge", 8_000, (), 0, 8_000, "pending", MON, "py_7"),
            Row(WORLD, "charge", "charge", -10_000, (), 0, -10_000, "available", T, "ch_7"),
            Row(PROC, "stripe_fee", "fee", 320, (), 0, 320, "available", T, "ch_7"),
        ],
    ),
    (  # A 1-cent charge: 2.9 % of 1 rounds to 0, plus 30 is a fee of 30 and a net of -29.
        Charge(key(A), 1, 30, 0, T, MON, "ch_8", P),
        [
            Row(A, "charge", "charge", 1, (("stripe_fee", 30, None, PROCESSING_FEES),), 30, -29,
                "pending", MON, "ch_8"),
            Row(WORLD, "charge", "charge", -1, (), 0, -1, "available", T, "ch_8"),
            Row(PROC, "stripe_fee", "fee", 30, (), 0, 30, "available", T, "ch_8"),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("charge", "expected"),
    CHARGES,
    ids=[
        "direct",
        "direct-application-fee",
        "zero-fee-available-at-once",
        "jpy-zero-decimal",
        "ach-fee-cap-livemode",
        "destination-application-fee",
        "destination-transfer-amount",
        "fee-above-amount",
    ],
)
def test_book_charge(charge: Charge, expected: list[Row]) -> None:
    check(book_charge(charge), expected)


def test_book_charge_refuses_a_destination_charge_without_its_ids() -> None:
    with pytest.raises(ValueError, match="transfer and payment ids"):
        book_charge(Charge(key(P), 10_000, 320, 0, T, MON, "ch_9", P, destination=B, transfer_amount=10_000))


# ---- book_refund ---------------------------------------------------------------------------------

RefundCase = tuple[BucketKey, int, str | None, list[Row]]
# fmt: off
REFUNDS: list[RefundCase] = [
    (  # A partial refund out of A's available funds; the processing fee is not returned.
        key(A), 3_000, None,
        [
            Row(A, "refund", "refund", -3_000, (), 0, -3_000, "available", T, "re_1"),
            Row(WORLD, "refund", "refund", 3_000, (), 0, 3_000, "available", T, "re_1"),
        ],
    ),
    (  # JPY from the bank_account source, with a description (on the owner's entry only).
        key(A, "jpy", BANK), 700, "Returned goods",
        [
            Row(A, "refund", "refund", -700, (), 0, -700, "available", T, "re_1", "Returned goods",
                currency="jpy", source_type=BANK),
            Row(WORLD, "refund", "refund", 700, (), 0, 700, "available", T, "re_1", currency="jpy",
                source_type=BANK),
        ],
    ),
    (  # The platform refunds a destination charge of 1 cent in live mode.
        key(P, livemode=True), 1, None,
        [
            Row(P, "refund", "refund", -1, (), 0, -1, "available", T, "re_1", livemode=True),
            Row(WORLD, "refund", "refund", 1, (), 0, 1, "available", T, "re_1", livemode=True),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("k", "amount", "description", "expected"), REFUNDS, ids=["partial", "jpy-bank-description", "livemode-1"]
)
def test_book_refund(k: BucketKey, amount: int, description: str | None, expected: list[Row]) -> None:
    check(book_refund(k, amount, refund_id="re_1", created=T, description=description), expected)


# ---- book_dispute --------------------------------------------------------------------------------

# fmt: off
DISPUTES: list[tuple[BucketKey, int, int, list[Row]]] = [
    (  # The whole 10,000 and the 1,500 dispute fee come out of A at once.
        key(A), 10_000, 1_500,
        [
            Row(A, "adjustment", "dispute", -10_000, (("stripe_fee", 1_500, None, "Dispute fee"),), 1_500,
                -11_500, "available", T, "dp_1", "Chargeback withdrawal"),
            Row(WORLD, "adjustment", "dispute", 10_000, (), 0, 10_000, "available", T, "dp_1"),
            Row(PROC, "stripe_fee", "fee", 1_500, (), 0, 1_500, "available", T, "dp_1"),
        ],
    ),
    (  # No dispute fee: no fee detail, no processor entry.
        key(A), 10_000, 0,
        [
            Row(A, "adjustment", "dispute", -10_000, (), 0, -10_000, "available", T, "dp_1",
                "Chargeback withdrawal"),
            Row(WORLD, "adjustment", "dispute", 10_000, (), 0, 10_000, "available", T, "dp_1"),
        ],
    ),
    (  # JPY on the platform (a destination charge is the platform's to lose), a 2,000 yen fee.
        key(P, "jpy"), 1_000, 2_000,
        [
            Row(P, "adjustment", "dispute", -1_000, (("stripe_fee", 2_000, None, "Dispute fee"),), 2_000,
                -3_000, "available", T, "dp_1", "Chargeback withdrawal", currency="jpy"),
            Row(WORLD, "adjustment", "dispute", 1_000, (), 0, 1_000, "available", T, "dp_1", currency="jpy"),
            Row(PROC, "stripe_fee", "fee", 2_000, (), 0, 2_000, "available", T, "dp_1", currency="jpy"),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(("k", "amount", "fee", "expected"), DISPUTES, ids=["with-fee", "zero-fee", "jpy"])
def test_book_dispute(k: BucketKey, amount: int, fee: int, expected: list[Row]) -> None:
    check(book_dispute(k, amount, fee, dispute_id="dp_1", created=T), expected)


# ---- book_transfer and book_transfer_reversal ----------------------------------------------------

# fmt: off
TRANSFERS: list[tuple[BucketKey, int, str | None, list[Row]]] = [
    (  # The platform sends 5,000 of its available funds to B, which receives a payment.
        key(P), 5_000, "Weekly share",
        [
            Row(P, "transfer", "transfer", -5_000, (), 0, -5_000, "available", T, "tr_1", "Weekly share"),
            Row(B, "payment", "transfer", 5_000, (), 0, 5_000, "available", T, "py_1"),
        ],
    ),
    (  # JPY out of the platform's bank_account funds.
        key(P, "jpy", BANK), 300, None,
        [
            Row(P, "transfer", "transfer", -300, (), 0, -300, "available", T, "tr_1", currency="jpy",
                source_type=BANK),
            Row(B, "payment", "transfer", 300, (), 0, 300, "available", T, "py_1", currency="jpy",
                source_type=BANK),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(("k", "amount", "description", "expected"), TRANSFERS, ids=["usd", "jpy-bank"])
def test_book_transfer(k: BucketKey, amount: int, description: str | None, expected: list[Row]) -> None:
    entries = book_transfer(k, B, amount, ids=("tr_1", "py_1"), created=T, description=description)
    check(entries, expected)


# fmt: off
REVERSALS: list[tuple[BucketKey, int, list[Row]]] = [
    (  # 2,000 comes back from B (which may go negative) to the platform.
        key(P), 2_000,
        [
            Row(B, "payment_refund", "transfer_reversal", -2_000, (), 0, -2_000, "available", T, "pyr_1"),
            Row(P, "transfer_refund", "transfer_reversal", 2_000, (), 0, 2_000, "available", T, "trr_1"),
        ],
    ),
    (  # HUF in live mode, bank_account source.
        key(P, "huf", BANK, livemode=True), 150,
        [
            Row(B, "payment_refund", "transfer_reversal", -150, (), 0, -150, "available", T, "pyr_1",
                currency="huf", source_type=BANK, livemode=True),
            Row(P, "transfer_refund", "transfer_reversal", 150, (), 0, 150, "available", T, "trr_1",
                currency="huf", source_type=BANK, livemode=True),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(("k", "amount", "expected"), REVERSALS, ids=["usd", "huf-bank-livemode"])
def test_book_transfer_reversal(k: BucketKey, amount: int, expected: list[Row]) -> None:
    entries = book_transfer_reversal(k, B, amount, reversal_id="trr_1", payment_refund_id="pyr_1", created=T)
    check(entries, expected)


# ---- book_application_fee_refund -----------------------------------------------------------------

# fmt: off
FEE_REFUNDS: list[tuple[BucketKey, str, int, list[Row]]] = [
    (  # 150 of a direct charge's application fee goes back to A, the account that paid it.
        key(P), A, 150,
        [
            Row(P, "application_fee_refund", "platform_earning_refund", -150, (), 0, -150, "available", T,
                "fr_1"),
            Row(A, "application_fee_refund", "platform_earning_refund", 150, (), 0, 150, "available", T,
                "fr_1"),
        ],
    ),
    (  # A destination charge's fee goes back to its destination B; JPY.
        key(P, "jpy"), B, 33,
        [
            Row(P, "application_fee_refund", "platform_earning_refund", -33, (), 0, -33, "available", T,
                "fr_1", currency="jpy"),
            Row(B, "application_fee_refund", "platform_earning_refund", 33, (), 0, 33, "available", T,
                "fr_1", currency="jpy"),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("k", "account", "amount", "expected"), FEE_REFUNDS, ids=["direct", "destination-jpy"]
)
def test_book_application_fee_refund(k: BucketKey, account: str, amount: int, expected: list[Row]) -> None:
    check(book_application_fee_refund(k, account, amount, fee_refund_id="fr_1", created=T), expected)


# ---- book_topup ----------------------------------------------------------------------------------

# fmt: off
TOPUPS: list[tuple[BucketKey, int, int, str | None, list[Row]]] = [
    (  # Test mode: available at once, from the bank (bank_account source type).
        key(P, source=BANK), 10_000, T, "Float",
        [
            Row(P, "topup", "topup", 10_000, (), 0, 10_000, "available", T, "tu_1", "Float",
                source_type=BANK),
            Row(WORLD, "topup", "topup", -10_000, (), 0, -10_000, "available", T, "tu_1", source_type=BANK),
        ],
    ),
    (  # Pending until Friday; the world's side is booked at once.
        key(A, source=BANK), 2_500, FRI, None,
        [
            Row(A, "topup", "topup", 2_500, (), 0, 2_500, "pending", FRI, "tu_1", source_type=BANK),
            Row(WORLD, "topup", "topup", -2_500, (), 0, -2_500, "available", T, "tu_1", source_type=BANK),
        ],
    ),
    (  # Into the issuing balance, in yen.
        key(P, "jpy", BANK, ISSUING), 90_000, T, None,
        [
            Row(P, "topup", "topup", 90_000, (), 0, 90_000, "available", T, "tu_1", currency="jpy",
                balance=ISSUING, source_type=BANK),
            Row(WORLD, "topup", "topup", -90_000, (), 0, -90_000, "available", T, "tu_1", currency="jpy",
                balance=ISSUING, source_type=BANK),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("k", "amount", "available_on", "description", "expected"),
    TOPUPS,
    ids=["available-at-once", "pending", "issuing-jpy"],
)
def test_book_topup(
    k: BucketKey, amount: int, available_on: int, description: str | None, expected: list[Row]
) -> None:
    entries = book_topup(
        k, amount, topup_id="tu_1", created=T, available_on=available_on, description=description
    )
    check(entries, expected)


# ---- book_reserve --------------------------------------------------------------------------------

# fmt: off
RESERVES: list[tuple[BucketKey, int, list[Row]]] = [
    (  # Hold 1,300 against a liable account's negative balance.
        key(P), 1_300,
        [
            Row(P, "reserve_transaction", "connect_reserved_funds", -1_300, (), 0, -1_300, "available", T,
                None, "why"),
            Row(P, "reserve_transaction", "connect_reserved_funds", 1_300, (), 0, 1_300, "available", T,
                None, "why", balance=RESERVED),
        ],
    ),
    (  # Release 500 back to the platform's payments balance.
        key(P), -500,
        [
            Row(P, "reserve_transaction", "connect_reserved_funds", 500, (), 0, 500, "available", T, None,
                "why"),
            Row(P, "reserve_transaction", "connect_reserved_funds", -500, (), 0, -500, "available", T, None,
                "why", balance=RESERVED),
        ],
    ),
    (  # The platform key's currency, mode and source type carry over to the reserved bucket.
        key(P, "jpy", BANK, livemode=True), 7,
        [
            Row(P, "reserve_transaction", "connect_reserved_funds", -7, (), 0, -7, "available", T, None,
                "why", currency="jpy", source_type=BANK, livemode=True),
            Row(P, "reserve_transaction", "connect_reserved_funds", 7, (), 0, 7, "available", T, None,
                "why", currency="jpy", balance=RESERVED, source_type=BANK, livemode=True),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(("k", "delta", "expected"), RESERVES, ids=["hold", "release", "jpy-bank-livemode"])
def test_book_reserve(k: BucketKey, delta: int, expected: list[Row]) -> None:
    check(book_reserve(k, delta, created=T, description="why"), expected)


def test_book_reserve_of_nothing_is_refused() -> None:
    """A zero delta has nothing to move (callers skip it): the entries refuse to be built."""
    with pytest.raises(ValueError, match="amount and fee cannot both be zero"):
        book_reserve(key(P), 0, created=T, description="why")


# ---- book_payout ---------------------------------------------------------------------------------

APP_FEE = "Instant payout fee"
PROC_FEE = "Instant payout processing fee"
ACCOUNT_PAYS = PayoutFees(application_fee=75, application_fee_id="fee_1", processing_fee=50)
PLATFORM_PAYS = PayoutFees(
    application_fee=75, application_fee_id="fee_1", processing_fee=50, platform_pays_processing=True
)
PROCESSING_ONLY = PayoutFees(processing_fee=50)
FEE_WITHOUT_ID = PayoutFees(application_fee=75)

PayoutCase = tuple[BucketKey, int, int, PayoutFees, str | None, list[Row]]
# fmt: off
PAYOUTS: list[PayoutCase] = [
    (  # A standard payout: out of available funds at once, to the world.
        key(A), 5_000, ARRIVAL, PayoutFees(), None,
        [
            Row(A, "payout", "payout", -5_000, (), 0, -5_000, "available", T, "po_1", "STRIPE PAYOUT"),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1"),
        ],
    ),
    (  # A description replaces the default one.
        key(A, source=BANK), 5_000, ARRIVAL, PayoutFees(), "Rent",
        [
            Row(A, "payout", "payout", -5_000, (), 0, -5_000, "available", T, "po_1", "Rent",
                source_type=BANK),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1", source_type=BANK),
        ],
    ),
    (  # Instant, A pays both fees: 75 to the platform, 50 to the processor; 5,125 leaves A.
        key(A), 5_000, T + 900, ACCOUNT_PAYS, None,
        [
            Row(A, "payout", "payout", -5_000, (("application_fee", 75, P, APP_FEE), ("stripe_fee", 50, None,
                PROC_FEE)), 125, -5_125, "available", T, "po_1", "STRIPE PAYOUT"),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1"),
            Row(P, "application_fee", "platform_earning", 75, (), 0, 75, "available", T, "fee_1"),
            Row(PROC, "stripe_fee", "fee", 50, (), 0, 50, "available", T, "po_1", PROC_FEE),
        ],
    ),
    (  # Instant, the platform pays the processing fee for A: A pays 75, the platform 50.
        key(A), 5_000, T + 900, PLATFORM_PAYS, None,
        [
            Row(A, "payout", "payout", -5_000, (("application_fee", 75, P, APP_FEE),), 75, -5_075,
                "available", T, "po_1", "STRIPE PAYOUT"),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1"),
            Row(P, "application_fee", "platform_earning", 75, (), 0, 75, "available", T, "fee_1"),
            Row(PROC, "stripe_fee", "fee", 50, (), 0, 50, "available", T, "po_1", PROC_FEE),
            Row(P, "stripe_fee", "fee", -50, (), 0, -50, "available", T, "po_1",
                PROC_FEE + " (for a connected account)"),
        ],
    ),
    (  # Instant without platform pricing: only the processing fee, paid by A.
        key(A), 5_000, T + 900, PROCESSING_ONLY, None,
        [
            Row(A, "payout", "payout", -5_000, (("stripe_fee", 50, None, PROC_FEE),), 50, -5_050, "available",
                T, "po_1", "STRIPE PAYOUT"),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1"),
            Row(PROC, "stripe_fee", "fee", 50, (), 0, 50, "available", T, "po_1", PROC_FEE),
        ],
    ),
    (  # An application fee without its own id: the platform's entry is sourced by the payout.
        key(A), 5_000, T + 900, FEE_WITHOUT_ID, None,
        [
            Row(A, "payout", "payout", -5_000, (("application_fee", 75, P, APP_FEE),), 75, -5_075,
                "available", T, "po_1", "STRIPE PAYOUT"),
            Row(WORLD, "payout", "payout", 5_000, (), 0, 5_000, "available", T, "po_1"),
            Row(P, "application_fee", "platform_earning", 75, (), 0, 75, "available", T, "po_1"),
        ],
    ),
    (  # A debit (negative amount): A is credited 3,000, pending until the money arrives.
        key(A), -3_000, ARRIVAL, PayoutFees(), None,
        [
            Row(A, "payout", "payout", 3_000, (), 0, 3_000, "pending", ARRIVAL, "po_1",
                "Debit of bank account"),
            Row(WORLD, "payout", "payout", -3_000, (), 0, -3_000, "available", T, "po_1"),
        ],
    ),
    (  # A debit whose arrival is already past (as given): available at once.
        key(A), -3_000, T - 86_400, PayoutFees(), None,
        [
            Row(A, "payout", "payout", 3_000, (), 0, 3_000, "available", T, "po_1", "Debit of bank account"),
            Row(WORLD, "payout", "payout", -3_000, (), 0, -3_000, "available", T, "po_1"),
        ],
    ),
    (  # HUF, whole forints (a multiple of 100 minor units).
        key(A, "huf"), 150_000, ARRIVAL, PayoutFees(), None,
        [
            Row(A, "payout", "payout", -150_000, (), 0, -150_000, "available", T, "po_1", "STRIPE PAYOUT",
                currency="huf"),
            Row(WORLD, "payout", "payout", 150_000, (), 0, 150_000, "available", T, "po_1", currency="huf"),
        ],
    ),
    (  # JPY, zero-decimal, instant with both fees paid by A.
        key(A, "jpy"), 8_000, T + 900, ACCOUNT_PAYS, None,
        [
            Row(A, "payout", "payout", -8_000, (("application_fee", 75, P, APP_FEE), ("stripe_fee", 50, None,
                PROC_FEE)), 125, -8_125, "available", T, "po_1", "STRIPE PAYOUT", currency="jpy"),
            Row(WORLD, "payout", "payout", 8_000, (), 0, 8_000, "available", T, "po_1", currency="jpy"),
            Row(P, "application_fee", "platform_earning", 75, (), 0, 75, "available", T, "fee_1",
                currency="jpy"),
            Row(PROC, "stripe_fee", "fee", 50, (), 0, 50, "available", T, "po_1", PROC_FEE, currency="jpy"),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("k", "amount", "arrival", "fees", "description", "expected"),
    PAYOUTS,
    ids=[
        "standard",
        "description",
        "instant-account-pays",
        "instant-platform-pays-processing",
        "instant-no-pricing",
        "application-fee-without-id",
        "debit-pending-until-arrival",
        "debit-arrived",
        "huf-whole-units",
        "jpy-instant",
    ],
)
def test_book_payout(
    k: BucketKey, amount: int, arrival: int, fees: PayoutFees, description: str | None, expected: list[Row]
) -> None:
    booking = Booking(k, amount, payout_id="po_1", created=T, platform=P, fees=fees)
    entries = book_payout(booking, arrival=arrival, description=description)
    check(entries, expected)


def test_book_payout_of_an_instant_payout_at_the_fee_caps() -> None:
    """200,000 instant: pricing 1.5 % + 25 (3,025) capped at 1,500; processing 1 % (2,000) capped at 900."""
    fees = instant_fees(
        200_000,
        application=PercentFee(150, fixed=25, minimum=50, maximum=1_500),
        processing=PercentFee(100, minimum=50, maximum=900),
        platform_pays_processing=False,
        application_fee_id="fee_1",
    )
    assert fees == PayoutFees(application_fee=1_500, application_fee_id="fee_1", processing_fee=900)
    entries = book_payout(
        Booking(key(A), 200_000, payout_id="po_1", created=T, platform=P, fees=fees), arrival=T + 900
    )
    # fmt: off
    check(entries, [
        Row(A, "payout", "payout", -200_000,
            (("application_fee", 1_500, P, APP_FEE), ("stripe_fee", 900, None, PROC_FEE)), 2_400, -202_400,
            "available", T, "po_1", "STRIPE PAYOUT"),
        Row(WORLD, "payout", "payout", 200_000, (), 0, 200_000, "available", T, "po_1"),
        Row(P, "application_fee", "platform_earning", 1_500, (), 0, 1_500, "available", T, "fee_1"),
        Row(PROC, "stripe_fee", "fee", 900, (), 0, 900, "available", T, "po_1", PROC_FEE),
    ])
    # fmt: on


# ---- book_payout_return --------------------------------------------------------------------------

FAILURE, CANCEL = "Payout failure", "Payout cancellation"
ReturnCase = tuple[BucketKey, int, str, int, int, PayoutFees, list[Row]]
# fmt: off
RETURNS: list[ReturnCase] = [
    (  # A standard payout fails a week later: A gets 5,000 back at once.
        key(A), 5_000, "payout_failure", LATER, T, PayoutFees(),
        [
            Row(A, "payout_failure", "payout_failure", 5_000, (), 0, 5_000, "available", LATER, "po_1",
                FAILURE),
            Row(WORLD, "payout_failure", "payout_failure", -5_000, (), 0, -5_000, "available", LATER, "po_1"),
        ],
    ),
    (  # Canceled while pending, the same day.
        key(A), 5_000, "payout_cancel", T, T, PayoutFees(),
        [
            Row(A, "payout_cancel", "payout_cancel", 5_000, (), 0, 5_000, "available", T, "po_1", CANCEL),
            Row(WORLD, "payout_cancel", "payout_cancel", -5_000, (), 0, -5_000, "available", T, "po_1"),
        ],
    ),
    (  # An instant payout fails: 5,000 back, and both fees A paid come back to A.
        key(A), 5_000, "payout_failure", LATER, T, ACCOUNT_PAYS,
        [
            Row(A, "payout_failure", "payout_failure", 5_000, (), 0, 5_000, "available", LATER, "po_1",
                FAILURE),
            Row(WORLD, "payout_failure", "payout_failure", -5_000, (), 0, -5_000, "available", LATER, "po_1"),
            Row(P, "application_fee_refund", "platform_earning_refund", -75, (), 0, -75, "available", LATER,
                "fee_1"),
            Row(A, "application_fee_refund", "platform_earning_refund", 75, (), 0, 75, "available", LATER,
                "fee_1"),
            Row(PROC, "stripe_fee", "fee", -50, (), 0, -50, "available", LATER, "po_1", PROC_FEE),
            Row(A, "stripe_fee", "fee", 50, (), 0, 50, "available", LATER, "po_1", PROC_FEE + " returned"),
        ],
    ),
    (  # The processing fee the platform paid goes back to the platform.
        key(A), 5_000, "payout_failure", LATER, T, PLATFORM_PAYS,
        [
            Row(A, "payout_failure", "payout_failure", 5_000, (), 0, 5_000, "available", LATER, "po_1",
                FAILURE),
            Row(WORLD, "payout_failure", "payout_failure", -5_000, (), 0, -5_000, "available", LATER, "po_1"),
            Row(P, "application_fee_refund", "platform_earning_refund", -75, (), 0, -75, "available", LATER,
                "fee_1"),
            Row(A, "application_fee_refund", "platform_earning_refund", 75, (), 0, 75, "available", LATER,
                "fee_1"),
            Row(PROC, "stripe_fee", "fee", -50, (), 0, -50, "available", LATER, "po_1", PROC_FEE),
            Row(P, "stripe_fee", "fee", 50, (), 0, 50, "available", LATER, "po_1",
                PROC_FEE + " (for a connected account) returned"),
        ],
    ),
    (  # A debit that fails before it arrived takes back the pending credit (pending until arrival).
        key(A), -3_000, "payout_failure", T, ARRIVAL, PayoutFees(),
        [
            Row(A, "payout_failure", "payout_failure", -3_000, (), 0, -3_000, "pending", ARRIVAL, "po_1",
                FAILURE),
            Row(WORLD, "payout_failure", "payout_failure", 3_000, (), 0, 3_000, "available", T, "po_1"),
        ],
    ),
    (  # A debit that fails after it arrived takes back available funds.
        key(A), -3_000, "payout_failure", LATER, ARRIVAL, PayoutFees(),
        [
            Row(A, "payout_failure", "payout_failure", -3_000, (), 0, -3_000, "available", LATER, "po_1",
                FAILURE),
            Row(WORLD, "payout_failure", "payout_failure", 3_000, (), 0, 3_000, "available", LATER, "po_1"),
        ],
    ),
    (  # A canceled HUF debit, before arrival, bank_account source.
        key(A, "huf", BANK), -10_000, "payout_cancel", T, ARRIVAL, PayoutFees(),
        [
            Row(A, "payout_cancel", "payout_cancel", -10_000, (), 0, -10_000, "pending", ARRIVAL, "po_1",
                CANCEL, currency="huf", source_type=BANK),
            Row(WORLD, "payout_cancel", "payout_cancel", 10_000, (), 0, 10_000, "available", T, "po_1",
                currency="huf", source_type=BANK),
        ],
    ),
]
# fmt: on


@pytest.mark.parametrize(
    ("k", "amount", "kind", "created", "available_on", "fees", "expected"),
    RETURNS,
    ids=[
        "failure",
        "cancel",
        "instant-failure-account-paid-fees",
        "instant-failure-platform-paid-processing",
        "debit-failure-before-arrival",
        "debit-failure-after-arrival",
        "huf-debit-cancel",
    ],
)
def test_book_payout_return(
    k: BucketKey,
    amount: int,
    kind: str,
    created: int,
    available_on: int,
    fees: PayoutFees,
    expected: list[Row],
) -> None:
    booking = Booking(k, amount, payout_id="po_1", created=created, platform=P, fees=fees)
    entries = book_payout_return(booking, kind=kind, available_on=available_on)
    check(entries, expected)


def test_book_payout_return_refuses_another_kind() -> None:
    booking = Booking(key(A), 5_000, payout_id="po_1", created=T, platform=P)
    with pytest.raises(ValueError, match="not a payout return"):
        book_payout_return(booking, kind="payout", available_on=T)


# ---- every book_ function has a table --------------------------------------------------------------

TABLES: dict[str, Callable[..., object]] = {
    "book_charge": test_book_charge,
    "book_refund": test_book_refund,
    "book_dispute": test_book_dispute,
    "book_transfer": test_book_transfer,
    "book_transfer_reversal": test_book_transfer_reversal,
    "book_application_fee_refund": test_book_application_fee_refund,
    "book_topup": test_book_topup,
    "book_reserve": test_book_reserve,
    "book_payout": test_book_payout,
    "book_payout_return": test_book_payout_return,
}


def test_every_book_function_has_a_table() -> None:
    defined = {
        name
        for path in Path(ledger.__path__[0]).glob("*.py")
        for name in re.findall(r"^def (book_\w+)\(", path.read_text(), flags=re.MULTILINE)
    }
    assert defined == set(TABLES)
