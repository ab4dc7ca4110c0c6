"""Top-ups: funds pulled from the account's bank into one of its balances.

`destination_balance` (a Payoutkit parameter) picks `payments` (default), `issuing` or
`refund_and_dispute_prefunding`. Test bank tokens select the outcome (`btok_us_verified` succeeds;
`btok_us_verified_noAccount` and its siblings fail with that code and move no money). Test-mode
top-ups succeed at once and their funds are available at once (`bank_account` source type), so a test
can fund a balance for transfers and payouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.booking import book_topup
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import WORLD, BalanceType, BucketKey, SourceType
from payoutkit.lists import Page, Window
from payoutkit.records.topups import Topup
from payoutkit.services.actor import Actor
from payoutkit.services.events import emit_request
from payoutkit.services.movement import movement
from payoutkit.services.policy import may_reach
from payoutkit.services.test_tokens import test_id_in_livemode
from payoutkit.store import Tx
from payoutkit.store import topups as store

DEFAULT_SOURCE = "btok_us_verified"


@dataclass(frozen=True)
class TopupFailure:
    code: str
    message: str


# The test bank tokens a top-up may come from, and the failure each selects (None: it succeeds).
TOPUP_SOURCES: Mapping[str, TopupFailure | None] = {
    DEFAULT_SOURCE: None,
    "btok_us_verified_noAccount": TopupFailure("no_account", "The bank account could not be located."),
    "btok_us_verified_accountClosed": TopupFailure("account_closed", "The bank account has been closed."),
    "btok_us_verified_insufficientFunds": TopupFailure(
        "insufficient_funds", "The bank account has insufficient funds."
    ),
    "btok_us_verified_debitNotAuthorized": TopupFailure(
        "debit_not_authorized", "The debit was not authorized."
    ),
    "btok_us_verified_invalidCurrency": TopupFailure(
        "invalid_currency", "The bank account cannot take this currency."
    ),
}


@dataclass(frozen=True, kw_only=True)
class NewTopup:
    amount: int
    currency: str
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    source: str | None = None
    statement_descriptor: str | None = None
    transfer_group: str | None = None
    destination_balance: str | None = None  # payments (default), issuing, refund_and_dispute_prefunding


@dataclass(frozen=True, kw_only=True)
class TopupChanges:
    topup: str
    description: str | None = None
    metadata: Mapping[str, str] | None = None  # the whole new metadata, when it changes


@dataclass(frozen=True, kw_only=True)
class TopupQuery:
    window: Window
    status: str | None = None


def _source_outcome(actor: Actor, source: str | None) -> TopupFailure | None:
    if actor.livemode and source is None:  # the default source is a test one
        raise InvalidRequest(
            "A live top-up needs a source: test bank tokens work with test keys only.",
            param="source",
            code="parameter_missing",
        )
    token = source or DEFAULT_SOURCE
    if actor.livemode and token in TOPUP_SOURCES:
        raise test_id_in_livemode(token, "source")
    if token not in TOPUP_SOURCES:
        raise ResourceMissing(f"No such source: '{token}'", param="source")
    return TOPUP_SOURCES[token]


def create(tx: Tx, actor: Actor, command: NewTopup) -> Topup:
    currency = check_currency(command.currency)
    amount = check_amount(command.amount, currency)
    failure = _source_outcome(actor, command.source)
    if command.statement_descriptor and len(command.statement_descriptor) > 15:
        raise InvalidRequest(
            "The statement descriptor must be at most 15 characters.", param="statement_descriptor"
        )
    topup = Topup(
        id=new_id("tu"),
        amount=amount,
        balance_transaction=None,
        created=actor.now,
        currency=currency,
        description=command.description,
        expected_availability_date=actor.now,
        failure_code=None if failure is None else failure.code,
        failure_message=None if failure is None else failure.message,
        livemode=actor.livemode,
        metadata=dict(command.metadata),
        statement_descriptor=command.statement_descriptor,
        status="succeeded" if failure is None else "failed",
        transfer_group=command.transfer_group,
    )
    if failure is None:
        topup = _fund(tx, actor, topup, BalanceType(command.destination_balance or "payments"))
    store.insert_topup(tx, topup, owner=actor.account_id)
    # Test-mode top-ups settle at once: both events carry the final object.
    emit_request(tx, actor, "topup.created", topup.doc())
    emit_request(tx, actor, f"topup.{topup.status}", topup.doc())
    return topup


def _fund(tx: Tx, actor: Actor, topup: Topup, balance_type: BalanceType) -> Topup:
    """Book the top-up's funds into the account's balance, available at once."""
    k = BucketKey(actor.account_id, actor.livemode, topup.currency, balance_type, SourceType.BANK_ACCOUNT)
    mv = movement(tx, actor, [k, k.with_account(WORLD)])
    mv.post(
        book_topup(
            k,
            topup.amount,
            topup_id=topup.id,
            created=actor.now,
            available_on=actor.now,
            description=topup.description,
        )
    )
    mv.sync_reserves()
    return replace(topup, balance_transaction=mv.txn_for(actor.account_id, topup.id))


def retrieve(tx: Tx, actor: Actor, topup_id: str) -> Topup:
    check_id(topup_id, ("tu",), "topup", "topup")
    found = store.topup(tx, topup_id)
    if found is None or not may_reach(actor, found[1]) or found[0].livemode != actor.livemode:
        raise ResourceMissing.for_id("topup", topup_id, "topup")
    return found[0]


def update(tx: Tx, actor: Actor, command: TopupChanges) -> Topup:
    topup = retrieve(tx, actor, command.topup)
    if command.description is not None:
        topup = replace(topup, description=command.description)
    if command.metadata is not None:
        topup = replace(topup, metadata=dict(command.metadata))
    store.save_topup(tx, topup)
    return topup


def list_topups(tx: Tx, actor: Actor, query: TopupQuery) -> Page[Topup]:
    return store.list_topups(tx, actor.account_id, actor.livemode, query.window, status=query.status)
