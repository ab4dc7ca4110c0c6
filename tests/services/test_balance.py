"""The balance reads as use cases, called with an actor (no HTTP), on both stores.

A read writes nothing and takes no write lock (`Database.read_transaction`), yet answers exactly what
settling first and then reading answers: due pending funds show as available, in the Balance and on
each balance transaction, while the stored buckets and transactions stay as they were.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event

from payoutkit.errors import ResourceMissing
from payoutkit.ledger.booking import book_topup
from payoutkit.ledger.postings import BucketKey
from payoutkit.lists import window
from payoutkit.runtime import Runtime
from payoutkit.services import balance
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.movement import movement
from payoutkit.services.settlement import settle_at
from payoutkit.store import Tx
from payoutkit.store.bucket_reads import read_buckets
from tests.conftest import CLOCK_START

DAY = 86400


def _topup(rt: Runtime, amount: int, available_on: int) -> str:
    def book(conn: Tx) -> str:
        key = BucketKey(rt.platform_id, False, "usd")
        entries = book_topup(key, amount, topup_id="tu_test", created=CLOCK_START, available_on=available_on)
        mv = movement(conn, Moment.job(False, CLOCK_START), [e.key for e in entries])
        mv.post(entries)
        return mv.txn_for(rt.platform_id)

    return rt.db.transaction(book)


def _stored_pending(rt: Runtime) -> int:
    buckets, _ = rt.db.transaction(read_buckets, rt.platform_id, False)
    return sum(b.pending for b in buckets)


def test_a_read_shows_due_funds_as_available_and_writes_nothing(runtime: Runtime, platform: Actor) -> None:
    txn_id = _topup(runtime, 1000, available_on=CLOCK_START + DAY)
    early = runtime.db.read_transaction(balance.read_balance, platform.at(CLOCK_START))
    assert (early.available[0].amount, early.pending[0].amount) == (0, 1000)

    due = platform.at(CLOCK_START + DAY)
    read = runtime.db.read_transaction(balance.read_balance, due)
    assert (read.available[0].amount, read.pending[0].amount) == (1000, 0)
    one = runtime.db.read_transaction(balance.retrieve_transaction, due, txn_id)
    assert one.status == "available"
    listed = runtime.db.read_transaction(balance.list_transactions, due, balance.ListTransactions(), window())
    assert [t.status for t in listed.items] == ["available"]
    assert _stored_pending(runtime) == 1000  # nothing settled

    # What settling first and then reading answers is the same.
    assert runtime.db.transaction(settle_at, Moment.job(False, CLOCK_START + DAY)) >= 1
    assert _stored_pending(runtime) == 0
    assert runtime.db.read_transaction(balance.read_balance, due).doc() == read.doc()
    settled = runtime.db.read_transaction(balance.retrieve_transaction, due, txn_id)
    assert settled == one


def test_funds_not_yet_due_stay_pending(runtime: Runtime, platform: Actor) -> None:
    txn_id = _topup(runtime, 500, available_on=CLOCK_START + 2 * DAY)
    actor = platform.at(CLOCK_START + 2 * DAY - 1)
    read = runtime.db.read_transaction(balance.read_balance, actor)
    assert (read.available[0].amount, read.pending[0].amount) == (0, 500)
    assert runtime.db.read_transaction(balance.retrieve_transaction, actor, txn_id).status == "pending"


def test_an_empty_balance_is_read_in_one_statement_in_the_accounts_currency(
    runtime: Runtime, platform: Actor
) -> None:
    """`GET /v1/balance` of an account that holds nothing shows zeros in its default currency, read by
    the same one statement as the buckets (no second round trip for the currency); an account that
    does not exist is missing."""
    statements: list[str] = []

    def before(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:
        if sql.split()[0].upper() not in ("BEGIN", "COMMIT"):
            statements.append(sql)

    for engine in runtime.db.engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        read = runtime.db.read_transaction(balance.retrieve, platform, runtime.settings)
        assert len(statements) == 1, statements
        with pytest.raises(ResourceMissing):
            runtime.db.read_transaction(
                balance.retrieve, replace(platform, account_id="acct_missing"), runtime.settings
            )
    finally:
        for engine in runtime.db.engines:
            event.remove(engine, "before_cursor_execute", before)
    assert [(a.amount, a.currency) for a in read.available] == [(0, "usd")]
    assert [(p.amount, p.currency) for p in read.pending] == [(0, "usd")]
