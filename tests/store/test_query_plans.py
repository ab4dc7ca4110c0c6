"""The reads made on every request keep their index once the store has statistics (SQLite).

An analysed store (store/seeding.py runs ANALYZE after a bulk load; an operator may run it any day)
gives SQLite's planner real row counts. A platform is the parent of every charge it makes, so the
`(parent_id, object, seq)` index looks useless for "this account's external accounts", and the planner
scanned the whole `resources` table on every `GET /v1/balance` and payout (3.2 ms at 1,000,000 charges
against 10 µs). Migration 0007's partial index holds only external accounts, so it stays the plan.
The statements checked are the store's own, compiled as the store runs them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import stripe
from sqlalchemy.dialects import sqlite

from payoutkit.store import bucket_reads, external_accounts, payers, payouts
from tests.support import databases


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


def _for_balance_values(account: str) -> tuple[object, ...]:
    """The parameters of `GET /v1/balance`'s one statement for `account` (a platform) in test mode, in
    the order SQLite binds them."""
    compiled = bucket_reads._FOR_BALANCE.stmt.compile(dialect=sqlite.dialect())
    values = compiled.construct_params({"account_id": account, "platform_id": account, "livemode": False})
    assert compiled.positiontup is not None
    return tuple(values[name] for name in compiled.positiontup)


def _plan(conn: sqlite3.Connection, statement: object, params: tuple[object, ...]) -> str:
    sql = str(statement.compile(dialect=sqlite.dialect()))  # type: ignore[attr-defined]
    return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def test_an_accounts_external_accounts_are_read_by_their_index_on_an_analysed_store(
    database_url: str, stripe_client: stripe.StripeClient
) -> None:
    platform = stripe_client.v1.accounts.retrieve_current().id
    for _ in range(200):  # the platform: the parent of many charges, and of one bank account
        stripe_client.v1.charges.create({"amount": 1000, "currency": "usd", "source": "tok_visa"})
    stripe_client.v1.accounts.external_accounts.create(platform, {"external_account": "btok_us_verified"})
    conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        conn.execute("ANALYZE")
        for statement, params in (
            (external_accounts._FOR_ACCOUNT, (platform, False)),
            (payers._PAYER.stmt, (platform, platform, False, 1)),  # the clock: id 1
        ):
            plan = _plan(conn, statement, params)
            assert "USING INDEX ix_resources_external_accounts" in plan, plan
            assert "SCAN resources" not in plan, plan
        # `GET /v1/balance` reads them in one statement with the buckets, the clock, the pricing and the
        # account's default currency.
        plan = _plan(conn, bucket_reads._FOR_BALANCE.stmt, _for_balance_values(platform))
        assert "USING INDEX ix_resources_external_accounts" in plan, plan
        assert "SCAN" not in plan, plan
    finally:
        conn.close()


def test_the_partial_indexes_keep_the_reads_of_every_request_on_an_analysed_store(
    database_url: str, stripe_client: stripe.StripeClient
) -> None:
    """Migration 0008: `(parent_id, object, seq)` and `(payout)` hold only rows with a parent and swept
    transactions. An account's external accounts are still read in index order (no sort), a payout's
    swept transactions are still found by `payout`."""
    platform = stripe_client.v1.accounts.retrieve_current().id
    stripe_client.v1.accounts.external_accounts.create(platform, {"external_account": "btok_us_verified"})
    for _ in range(100):
        stripe_client.v1.charges.create({"amount": 1000, "currency": "usd", "source": "tok_bypassPending"})
        stripe_client.v1.payouts.create({"amount": 100, "currency": "usd"})
    conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        conn.execute("ANALYZE")
        plan = _plan(conn, external_accounts._FOR_ACCOUNT, (platform, False))
        in_order = "SEARCH resources USING INDEX ix_resources_external_accounts (parent_id=? AND livemode=?)"
        assert plan == in_order  # no TEMP B-TREE
        plan = _plan(conn, payouts._RELEASE, ("po_x", "po_x"))
        assert "USING INDEX ix_balance_transactions_payout (payout=?)" in plan, plan
    finally:
        conn.close()


def test_the_balance_read_does_not_scan_resources_when_the_platform_has_only_charges(
    database_url: str, stripe_client: stripe.StripeClient
) -> None:
    """Migration 0009. With nothing but the platform's charges in `resources` (as the bench's history
    store: 1,000 charges, then 1,000,000 transactions), the statistics say every row has the platform's
    `(account_id, livemode, object)`, and SQLite scanned the table for the pricing part of every
    `GET /v1/balance` (0.7 ms against 0.01). The statistics of such a store are written here as ANALYZE
    wrote them there; with the pricing's partial index the read stays a search."""
    platform = stripe_client.v1.accounts.retrieve_current().id
    for _ in range(20):
        stripe_client.v1.charges.create({"amount": 1000, "currency": "usd", "source": "tok_visa"})
    path = database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        conn.execute("ANALYZE")
        conn.execute(
            "UPDATE sqlite_stat1 SET stat = CASE idx WHEN 'ix_resources_account_id_livemode_object_seq'"
            " THEN '1000 1000 1000 1000 1' WHEN 'sqlite_autoindex_resources_1' THEN '1000 1' ELSE stat END"
            " WHERE tbl = 'resources'"
        )
        conn.commit()
    finally:
        conn.close()
    conn = sqlite3.connect(path)  # statistics are read when a connection opens
    try:
        plan = _plan(conn, bucket_reads._FOR_BALANCE.stmt, _for_balance_values(platform))
        assert "SCAN" not in plan, plan
        assert "SCAN" not in _plan(conn, payouts._PRICING.stmt, (platform, False))
    finally:
        conn.close()
