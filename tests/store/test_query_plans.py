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

from payoutkit.store import external_accounts, payers
from tests.support import databases


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


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
            (payers._PAYER.stmt, (platform, platform, False)),
        ):
            plan = _plan(conn, statement, params)
            assert "USING INDEX ix_resources_external_accounts" in plan, plan
            assert "SCAN resources" not in plan, plan
    finally:
        conn.close()
