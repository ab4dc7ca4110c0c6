"""SQLite prepares each statement of a request once, not on every execution (schema.object_is).

SQLite prepares a statement again, on the next step, whenever a parameter it marked while planning is
bound anew; it marks a parameter compared with a column that a partial index's `WHERE` names with a
constant (`resources.object`). Python's sqlite3 binds every parameter on every execution, so such a
statement is parsed and planned each time (measured: ~35 µs of the payout's ~0.8 ms). The authorizer
SQLite calls while it prepares shows it: in the steady state of payouts, charges, balance reads and
retrieves on two accounts taking turns, nothing is prepared but the driver's own COMMIT.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import Engine, bindparam, event, select

from payoutkit.config import Settings
from payoutkit.store.db import Database
from payoutkit.store.schema import resources
from tests.contract.test_payouts import get_payout, manual_account, payout
from tests.support import databases
from tests.support.server import RunningServer


class Prepares:
    """What SQLite prepared on the connections of every engine made while it listens: the statement
    each preparation was for (the one the cursor was about to run in that thread)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._running = threading.local()

    def connect(self, dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.set_authorizer(self._authorize)

    def before(self, _conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        self._running.statement = statement
        self._running.seen = False

    def _authorize(self, action: int, *_args: Any) -> int:
        # COMMIT and ROLLBACK: Python's sqlite3 prepares its own each time (not ours to cache)
        if action != sqlite3.SQLITE_TRANSACTION and not getattr(self._running, "seen", True):
            self._running.seen = True  # the authorizer is asked once per column: one entry per execution
            self.seen.append(self._running.statement)
        return sqlite3.SQLITE_OK


@pytest.fixture
def prepares() -> Iterator[Prepares]:
    watch = Prepares()
    event.listen(Engine, "connect", watch.connect)
    event.listen(Engine, "before_cursor_execute", watch.before)
    try:
        yield watch
    finally:
        event.remove(Engine, "connect", watch.connect)
        event.remove(Engine, "before_cursor_execute", watch.before)


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: the re-preparation is SQLite's (PostgreSQL's driver prepares by its own count)."""
    return databases.copy_sqlite_template(sqlite_template, tmp_path)


@pytest.fixture
def server_settings(base_settings: Settings, prepares: Prepares) -> Settings:
    return base_settings  # after `prepares`: the server's engine connects while it listens


def _round(client: stripe.StripeClient, http: httpx.Client, accounts: list[str], n: int) -> None:
    for i in range(n):
        for account in accounts:
            made = payout(client, account, 100 + i)
            get_payout(client, account, made["id"])
            assert http.get("/v1/balance", headers={"Stripe-Account": account}).status_code == 200
        charge = {"amount": 1000 + i, "currency": "usd", "source": "tok_visa"}
        assert http.post("/v1/charges", data=charge).status_code == 200


def test_the_steady_state_prepares_nothing(
    server: RunningServer, stripe_client: stripe.StripeClient, http: httpx.Client, prepares: Prepares
) -> None:
    endpoint = {"url": "http://127.0.0.1:9/hook", "enabled_events[0]": "*"}
    assert http.post("/v1/webhook_endpoints", data=endpoint).status_code == 200  # its part of the reads
    accounts = [manual_account(stripe_client), manual_account(stripe_client)]
    _round(stripe_client, http, accounts, 3)  # every statement prepared once, and cached
    prepares.seen.clear()
    _round(stripe_client, http, accounts, 5)
    assert prepares.seen == [], "prepared again:\n" + "\n".join(s[:300] for s in prepares.seen)


def test_a_kind_bound_as_a_parameter_is_prepared_on_every_execution(
    server: RunningServer, prepares: Prepares
) -> None:
    """The control: the watch sees what it is for (the comparison object_is keeps out of the store)."""
    bound = select(resources.c.id).where(
        resources.c.account_id == bindparam("account"),
        resources.c.livemode == bindparam("livemode"),
        resources.c.object == bindparam("kind"),
    )
    db = Database(server.settings.database_url, pool_size=1)

    def run(kind: str) -> None:
        db.transaction(lambda conn: conn.execute(bound, {"account": "a", "livemode": False, "kind": kind}))

    try:
        run("payout")
        run("payout")
        prepares.seen.clear()
        for kind in ("payout", "charge", "payout"):
            run(kind)
        assert len([s for s in prepares.seen if "resources.object = ?" in s]) == 3
    finally:
        db.dispose()
