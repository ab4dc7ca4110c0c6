"""Top-ups: funds pulled from the account's bank into one of its balances.

`destination_balance` (a Payoutkit parameter) picks `payments` (default), `issuing` or
`refund_and_dispute_prefunding`. Test bank tokens select the outcome (`btok_us_verified` succeeds;
`btok_us_verified_noAccount` and its siblings fail with that code and move no money). Test-mode
top-ups succeed at once and their funds are available at once (`bank_account` source type), so a test
can fund a balance for transfers and payouts.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Connection

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams
from payoutkit.api.params import Int, Metadata, Params, metadata_update
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger.booking import book_topup
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import WORLD, BalanceType, SourceType
from payoutkit.services.access import list_owned, owned
from payoutkit.services.events import emit_request
from payoutkit.services.movement import key, movement
from payoutkit.services.test_tokens import test_id_in_livemode
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources

TOPUP_SOURCES = {
    "btok_us_verified": None,
    "btok_us_verified_noAccount": ("no_account", "The bank account could not be located."),
    "btok_us_verified_accountClosed": ("account_closed", "The bank account has been closed."),
    "btok_us_verified_insufficientFunds": ("insufficient_funds", "The bank account has insufficient funds."),
    "btok_us_verified_debitNotAuthorized": ("debit_not_authorized", "The debit was not authorized."),
    "btok_us_verified_invalidCurrency": ("invalid_currency", "The bank account cannot take this currency."),
}


class TopupCreate(Params):
    amount: Int
    currency: str
    description: str | None = None
    metadata: Metadata = None
    source: str | None = None
    statement_descriptor: str | None = None
    transfer_group: str | None = None
    # Payoutkit: which balance the funds land in (Stripe sets this per Issuing top-up).
    destination_balance: Literal["payments", "issuing", "refund_and_dispute_prefunding"] | None = None


class TopupUpdate(Params):
    description: str | None = None
    metadata: Metadata = None


class TopupList(ListParams):
    status: Literal["canceled", "failed", "pending", "succeeded"] | None = None


def create(conn: Connection, ctx: Ctx, p: TopupCreate) -> dict[str, Any]:
    currency = check_currency(p.currency)
    amount = check_amount(p.amount, currency)
    if ctx.livemode and p.source is None:  # the default source is a test one
        raise InvalidRequest(
            "A live top-up needs a source: test bank tokens work with test keys only.",
            param="source",
            code="parameter_missing",
        )
    token = p.source or "btok_us_verified"
    if ctx.livemode and token in TOPUP_SOURCES:
        raise test_id_in_livemode(token, "source")
    if token not in TOPUP_SOURCES:
        raise ResourceMissing(f"No such source: '{token}'", param="source")
    if p.statement_descriptor and len(p.statement_descriptor) > 15:
        raise InvalidRequest(
            "The statement descriptor must be at most 15 characters.", param="statement_descriptor"
        )
    tid = new_id("tu")
    balance_type = BalanceType(p.destination_balance or "payments")
    topup: dict[str, Any] = {
        "id": tid,
        "object": "topup",
        "amount": amount,
        "balance_transaction": None,
        "created": ctx.now,
        "currency": currency,
        "description": p.description,
        "expected_availability_date": ctx.now,
        "failure_code": None,
        "failure_message": None,
        "livemode": ctx.livemode,
        "metadata": metadata_update({}, p.metadata),
        "source": None,
        "statement_descriptor": p.statement_descriptor,
        "status": "succeeded",
        "transfer_group": p.transfer_group,
    }
    failure = TOPUP_SOURCES[token]
    if failure is not None:
        topup.update(status="failed", failure_code=failure[0], failure_message=failure[1])
    else:
        k = key(ctx, ctx.account_id, currency, SourceType.BANK_ACCOUNT, balance_type)
        mv = movement(conn, ctx, [k, k.with_account(WORLD)])
        mv.post(
            book_topup(
                k, amount, topup_id=tid, created=ctx.now, available_on=ctx.now, description=p.description
            )
        )
        mv.sync_reserves()
        topup["balance_transaction"] = mv.txn_for(ctx.account_id, tid)
    objects.create(conn, topup, account_id=ctx.account_id, status=topup["status"])
    # Test-mode top-ups settle at once: both events carry the final object.
    emit_request(conn, ctx, "topup.created", topup)
    emit_request(conn, ctx, f"topup.{topup['status']}", topup)
    return topup


def retrieve(conn: Connection, ctx: Ctx, p: Params, topup: str) -> dict[str, Any]:
    check_id(topup, ("tu",), "topup", "topup")
    return owned(conn, ctx, topup, "topup", param="topup")


def modify(conn: Connection, ctx: Ctx, p: TopupUpdate, topup: str) -> dict[str, Any]:
    obj = retrieve(conn, ctx, p, topup)
    if p.description is not None:
        obj["description"] = p.description
    obj["metadata"] = metadata_update(obj["metadata"], p.metadata)
    return objects.save(conn, obj)


def list_topups(conn: Connection, ctx: Ctx, p: TopupList) -> dict[str, Any]:
    where = [resources.c.status == p.status] if p.status else []
    return list_owned(conn, ctx, "topup", p, "/v1/topups", *where)
