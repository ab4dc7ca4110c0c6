"""Opening a payout, the pure parts: the payout record `book_order` builds (all at once, `made_whole`)
is the one the dataclass's own `__init__` would build."""

from __future__ import annotations

from dataclasses import fields

from payoutkit.ledger.payout_record import Payout, PayoutFees, PayoutStatus, TraceId
from payoutkit.ledger.postings import BucketKey, SourceType
from payoutkit.records.external_accounts import ExternalAccount
from payoutkit.services.actor import Moment
from payoutkit.services.payout_open import PayoutOrder, _payout, payout_keys, siblings

DEST = ExternalAccount(
    id="ba_1", object="bank_account", account="acct_a", country="DE", currency="eur",
    default_for_currency=True, status="new", available_payout_methods=("standard",), fingerprint="f",
    last4="6789", livemode=False, created=1,
)  # fmt: skip
SOURCE = BucketKey("acct_a", False, "eur", source_type=SourceType.CARD)


def test_the_opened_payout_is_the_one_its_init_builds() -> None:
    order = PayoutOrder(
        account_id="acct_a", platform_id="acct_p", amount=700, source=SOURCE, destination=DEST,
        fees=PayoutFees(application_fee=5, application_fee_id="fee_1"), description="d",
        statement_descriptor="s", metadata={"k": "v"},
    )  # fmt: skip
    made = _payout(order, Moment(livemode=False, now=1000), ("po_1", "fee_1", "txn_1"), 2000)
    assert vars(made).keys() == {f.name for f in fields(Payout)}
    assert made == Payout(
        id="po_1", amount=700, application_fee="fee_1", application_fee_amount=5, arrival_date=2000,
        automatic=False, balance_transaction="txn_1", created=1000, currency="eur", description="d",
        destination="ba_1", livemode=False, metadata={"k": "v"}, method="standard",
        reconciliation_status="not_applicable", source_type="card", statement_descriptor="s",
        status=PayoutStatus.PENDING, trace_id=TraceId("pending", None), type="bank_account",
    )  # fmt: skip
    assert made.metadata is not order.metadata


def test_the_cached_keys_are_fresh_lists_of_the_same_keys() -> None:
    keys = siblings(SOURCE)
    keys.append(SOURCE)  # a caller's list is its own
    assert siblings(SOURCE) == [BucketKey("acct_a", False, "eur", source_type=st) for st in SourceType]
    moved = payout_keys(SOURCE, "acct_p")
    moved.clear()
    assert [k.account for k in payout_keys(SOURCE, "acct_p")][0::3] == ["acct_a", "acct_p"]


def test_an_automatic_order_is_the_one_its_init_builds() -> None:
    """`payout_run_rules.order` builds its `PayoutOrder` all at once (`made_whole`): every field set, as
    the dataclass's own `__init__` sets them."""
    from payoutkit.records.accounts import PayoutSettings
    from payoutkit.services.payout_run_rules import AccountRun, order

    schedule = {"interval": "daily", "delay_days": 2}
    settings = PayoutSettings.from_doc({"statement_descriptor": "s", "schedule": schedule})
    made = order(AccountRun("acct_a", "acct_p", settings, {"eur": DEST}, {}), SOURCE, 700)
    assert set(vars(made)) == {f.name for f in fields(PayoutOrder)}
    assert made == PayoutOrder(
        account_id="acct_a", platform_id="acct_p", amount=700, source=SOURCE, destination=DEST,
        automatic=True, statement_descriptor="s",
    )  # fmt: skip
