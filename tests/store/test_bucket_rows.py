"""A bucket of a source type other than `card` gets its row only when money first lands in it
(`store.balances.bucket_seqs`): before, it holds nothing and reads as empty everywhere — the
Balance, the balance transactions, `check_ledger` — and a payout, which checks its currency's total
over every source type, leaves no row behind for the empty ones. The first money creates the row;
two units landing first money in the same bucket at once (PostgreSQL) share the one row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select

from payoutkit.ledger.postings import WORLD, BucketKey, Entry, SourceType
from payoutkit.services import payout_automatic
from payoutkit.services.actor import Moment
from payoutkit.services.movement import movement
from payoutkit.services.rail import SIMULATED
from payoutkit.store.db import Database
from payoutkit.store.schema import balances
from tests.support.ledger import ledger_violations
from tests.support.server import RunningServer

DAY = 86_400


@pytest.fixture
def db(server: RunningServer) -> Iterator[Database]:
    database = Database(server.settings.database_url, pool_size=2)
    yield database
    database.dispose()


def _post(http: httpx.Client, path: str, account: str | None = None, **data: Any) -> dict[str, Any]:
    headers = {"Stripe-Account": account} if account else {}
    response = http.post(path, data=data, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _now(http: httpx.Client) -> int:
    return int(http.get("/v1/test_helpers/clock").json()["now"])


def _rows(db: Database, account: str) -> dict[str, tuple[int, int]]:
    """The account's usd payments bucket rows, by source type: (available, pending)."""
    query = select(balances.c.source_type, balances.c.available, balances.c.pending).where(
        balances.c.account_id == account, balances.c.currency == "usd", balances.c.balance_type == "payments"
    )
    with db.engine.connect() as conn:
        return {r.source_type: (r.available, r.pending) for r in conn.execute(query)}


def _balance(http: httpx.Client, account: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get("/v1/balance", headers={"Stripe-Account": account}).json()
    usd: dict[str, Any] = next(a for a in body["available"] if a["currency"] == "usd")
    return usd


def _land(conn: Connection, moment: Moment, account: str, amount: int) -> None:
    """Credit `amount` to the account's (usd, payments, bank_account) bucket, from the world."""
    bank = BucketKey(account, False, "usd", source_type=SourceType.BANK_ACCOUNT)
    world = BucketKey(WORLD, False, "usd", source_type=SourceType.BANK_ACCOUNT)
    mv = movement(conn, moment, [bank, world])
    mv.post([_adjustment(bank, amount, moment.now), _adjustment(world, -amount, moment.now)])


def _adjustment(key: BucketKey, amount: int, now: int) -> Entry:
    return Entry(key, amount, "adjustment", "other_adjustment", created=now, available_on=now)


def test_a_payout_leaves_no_row_for_the_empty_source_types_and_they_read_as_zero(
    http: httpx.Client, db: Database, database_url: str
) -> None:
    account = _post(http, "/v1/accounts", type="custom", country="US")["id"]
    _post(http, f"/v1/accounts/{account}/external_accounts", external_account="btok_us_verified")
    charged = _post(http, "/v1/charges", account, amount=10_000, currency="usd", source="tok_bypassPending")
    moment = Moment.job(False, _now(http) + 5 * DAY)
    assert db.transaction(payout_automatic.run_automatic, moment, SIMULATED) >= 1
    # The payout checked the usd total over card, bank_account and fpx; only card has a row.
    assert _rows(db, account) == {"card": (0, 0)}
    usd = _balance(http, account)
    assert usd["amount"] == 0
    assert usd["source_types"].get("bank_account", 0) == 0
    assert usd["source_types"].get("fpx", 0) == 0
    listed = http.get("/v1/balance_transactions", headers={"Stripe-Account": account}).json()["data"]
    assert sorted(t["type"] for t in listed) == ["charge", "payout"]
    assert sum(t["net"] for t in listed) == 0
    assert charged["amount"] == 10_000
    assert ledger_violations(database_url) == []


def test_the_first_money_into_a_bucket_creates_its_row(
    http: httpx.Client, db: Database, database_url: str
) -> None:
    account = _post(http, "/v1/accounts", type="custom", country="US")["id"]
    assert _rows(db, account) == {}
    moment = Moment.job(False, _now(http))
    db.transaction(_land, moment, account, 700)
    assert _rows(db, account) == {"bank_account": (700, 0), "card": (0, 0)}
    usd = _balance(http, account)
    assert (usd["amount"], usd["source_types"]["bank_account"]) == (700, 700)
    db.transaction(_land, moment, account, 300)  # the row is there now: moved, not created again
    assert _rows(db, account)["bank_account"] == (1000, 0)
    assert ledger_violations(database_url) == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite runs one unit at a time
def test_two_units_landing_first_money_in_one_bucket_share_its_row(
    http: httpx.Client, db: Database, database_url: str
) -> None:
    """The first unit creates the row and holds it uncommitted; the second, which found no row, waits
    on the first's insert, then moves the row the first created (PostgreSQL: SQLite units are
    serialized)."""
    account = _post(http, "/v1/accounts", type="express")["id"]
    moment = Moment.job(False, _now(http))
    landed, go = threading.Event(), threading.Event()
    done: list[str] = []

    def first(conn: Connection) -> None:
        _land(conn, moment, account, 500)
        landed.set()
        assert go.wait(30)

    def second() -> None:
        db.transaction(_land, moment, account, 200)
        done.append("second")

    runner = threading.Thread(target=db.transaction, args=(first,))
    runner.start()
    assert landed.wait(30)
    racer = threading.Thread(target=second)
    racer.start()
    racer.join(1.0)
    assert done == []  # waiting on the first unit's new row
    go.set()
    runner.join(30)
    racer.join(30)
    assert done == ["second"]
    assert _rows(db, account)["bank_account"] == (700, 0)
    assert ledger_violations(database_url) == []
