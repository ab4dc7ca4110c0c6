"""`GET /v1/balance`, `/v1/balance_transactions` (and `/v1/balance/history`) and one by id.

These are reads: their routes run as read units (`endpoint(..., read_only=True)`), which take no write
lock (on SQLite a deferred BEGIN; on PostgreSQL a READ ONLY transaction). What is due but not yet
settled is shown as settlement will leave it (services/balance.py).
"""

from __future__ import annotations

from typing import Any

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Params
from payoutkit.records.balance import BalanceTransaction
from payoutkit.runtime import Runtime
from payoutkit.services import balance
from payoutkit.services.actor import Actor
from payoutkit.store import Tx

URL = "/v1/balance_transactions"


class BalanceTransactionList(ListParams):
    currency: str | None = None
    payout: str | None = None
    source: str | None = None
    type: str | None = None


def retrieve(call: Call, params: Params) -> dict[str, Any]:
    return balance.retrieve(call.conn, call.actor, call.runtime.settings).doc()


def read_together(conn: Tx, actors: list[Actor], rt: Runtime) -> None:
    """What a shared unit of `GET /v1/balance` reads first, for all its requests at once."""
    balance.read_together(conn, actors, rt.settings)


def render_transaction(txn: BalanceTransaction) -> dict[str, Any]:
    return txn.doc()


def list_transactions(call: Call, params: BalanceTransactionList) -> dict[str, Any]:
    command = balance.ListTransactions(
        currency=params.currency, payout=params.payout, source=params.source, type=params.type
    )
    found = balance.list_transactions(call.conn, call.actor, command, window_of(params))
    return render_page(found, URL, render_transaction)


def retrieve_transaction(call: Call, params: Params, id: str) -> dict[str, Any]:
    return render_transaction(balance.retrieve_transaction(call.conn, call.actor, id))


def _load(conn: Tx, actor: Actor, txn_id: str) -> dict[str, Any] | None:
    found = balance.find_transaction(conn, actor, txn_id)
    return None if found is None else render_transaction(found)


expand.register("txn", _load)
