"""The simulated clock of test mode: it never moves live data, and a long advance lets other requests run.

Live data follows the real clock only (payoutkit/clock.py `mode_time`): settlement, payout steps,
automatic payout runs and idempotency expiry of live objects happen at real time, whatever the
simulated clock says and whichever path — an advance, a test-mode request, a job — reaches them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, select

from payoutkit.ledger.booking import book_topup
from payoutkit.ledger.postings import BucketKey
from payoutkit.services import payout_automatic, payout_lifecycle
from payoutkit.services.actor import Moment
from payoutkit.services.movement import movement
from payoutkit.services.rail import SIMULATED
from payoutkit.services.settlement import settle
from payoutkit.store.db import Database
from payoutkit.store.engines import make_engine
from payoutkit.store.schema import accounts, metadata
from tests.conftest import LIVE_SECRET_KEY
from tests.contract.helpers import DAY, advance
from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

LIVE_FUNDS = 50_000


@pytest.fixture
def engine(server: RunningServer) -> Iterator[Engine]:
    engine = make_engine(server.settings.database_url, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def live(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False, timeout=60) as client:
        yield client


def _seed_live_pending_funds(database_url: str, available_in: int) -> str:
    """Live funds on the platform that become available `available_in` seconds from now (real time),
    booked through the one write path (a top-up's postings): live charges need live cards, which a
    test cannot have. Returns the balance transaction's id."""

    def book(conn: Connection) -> str:
        platform = conn.execute(select(accounts.c.id).where(accounts.c.kind == "platform")).scalar_one()
        now = int(time.time())
        key = BucketKey(platform, True, "usd")
        entries = book_topup(
            key, LIVE_FUNDS, topup_id="tu_liveSeed", created=now, available_on=now + available_in
        )
        mv = movement(conn, Moment.job(True, now), [e.key for e in entries])
        mv.post(entries)
        return mv.txn_for(platform)

    db = Database(database_url, pool_size=1)
    try:
        return db.transaction(book)
    finally:
        db.dispose()


def _live_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every live row of every table that has a mode."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if "livemode" in table.c:
                rows = conn.execute(
                    select(table).where(table.c.livemode.is_(True)).order_by(*table.primary_key)
                )
                found[table.name] = [tuple(r) for r in rows]
    return found


def _live_balance(live: httpx.Client) -> tuple[int, int]:
    body = live.get("/v1/balance").json()
    assert body["livemode"] is True
    usd = lambda entries: next(e["amount"] for e in entries if e["currency"] == "usd")  # noqa: E731
    return usd(body["available"]), usd(body["pending"])


def test_the_simulated_clock_never_moves_live_data(
    server: RunningServer, http: httpx.Client, live: httpx.Client, engine: Engine
) -> None:
    txn = _seed_live_pending_funds(server.settings.database_url, available_in=3 * DAY)
    assert _live_balance(live) == (0, LIVE_FUNDS)
    platform = live.get("/v1/account").json()["id"]
    bank = {"object": "bank_account", "country": "US", "currency": "usd", "routing_number": "021000021",
            "account_number": "123456789012"}  # fmt: skip
    added = live.post(
        f"/v1/accounts/{platform}/external_accounts",
        data={f"external_account[{k}]": v for k, v in bank.items()} | {"default_for_currency": "true"},
    )
    assert added.status_code == 200, added.text
    refused = live.post("/v1/payouts", data={"amount": 5_000, "currency": "usd"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "balance_insufficient", refused.text
    before = _live_rows(engine)
    assert before["balance_transactions"]

    # Test mode jumps well past real time, and past the live funds' available_on.
    far = int(time.time()) + 30 * DAY
    advance(http, to=far)
    assert http.get("/v1/test_helpers/clock").json()["now"] == far
    # Every test-mode path that might reach live data on its way: reading the live transaction by id
    # (directly and as an expansion), lists, the balance, a charge and a payout attempt in test mode.
    http.get(f"/v1/balance_transactions/{txn}")
    http.get(f"/v1/balance/history/{txn}")
    http.get("/v1/balance_transactions", params={"limit": 100})
    http.get("/v1/balance")
    http.get("/v1/events", params={"limit": 100})
    http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"})
    http.post("/v1/payouts", data={"amount": 100, "currency": "usd"})
    advance(http, seconds=DAY)

    # Nothing live moved: not a row, not a status, not a time.
    assert _live_rows(engine) == before
    assert _live_balance(live) == (0, LIVE_FUNDS)
    refused = live.post("/v1/payouts", data={"amount": 5_000, "currency": "usd"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "balance_insufficient", refused.text
    assert _live_rows(engine)["balance_transactions"] == before["balance_transactions"]
    assert_ledger_ok(server.settings.database_url)


def test_live_data_moves_by_the_real_clock_whatever_time_a_unit_is_given(
    server: RunningServer, live: httpx.Client, engine: Engine
) -> None:
    """The guard itself, below every route: a live unit of work handed a simulated time ahead of the
    real clock (as a test-mode request reaching live data once did) moves nothing early."""
    _seed_live_pending_funds(server.settings.database_url, available_in=3 * DAY)
    before = _live_rows(engine)
    far = int(time.time()) + 30 * DAY
    assert Moment.job(True, far).now <= int(time.time())
    assert Moment.job(False, far).now == far
    db = Database(server.settings.database_url, pool_size=1)
    try:
        assert db.transaction(lambda conn: settle(conn, far, livemode=True)) == 0
        rail = SIMULATED
        for job in (payout_lifecycle.advance_due, payout_automatic.run_automatic):
            db.transaction(job, Moment.job(True, far), rail)
    finally:
        db.dispose()
    after = _live_rows(engine)
    # The platform's live payout run was due at its creation (real time) and may run; nothing else.
    assert {k: v for k, v in after.items() if k != "payout_runs"} == {
        k: v for k, v in before.items() if k != "payout_runs"
    }
    assert _live_balance(live) == (0, LIVE_FUNDS)
    assert_ledger_ok(server.settings.database_url)


# -- a long advance, in committed steps -------------------------------------------------------------

SCHEDULES: list[dict[str, Any]] = [
    {"interval": "daily", "delay_days": 2},
    {"interval": "daily", "delay_days": 7},
    {"interval": "weekly", "weekly_anchor": "wednesday"},
    {"interval": "monthly", "monthly_anchor": 31},
    {"interval": "manual"},
]
# Bank accounts whose payouts succeed, and one whose payouts fail after they were paid (a return).
BANKS = ["btok_us_verified", "btok_us_verified", "btok_us_verified", "btok_us_verified_accountClosed"]


def _populate(http: httpx.Client, accounts_per_schedule: int = 1) -> list[str]:
    """Connected accounts on every kind of schedule, with bank accounts, charges, transfers and a
    manual payout; the platform too has funds and pays out daily."""
    made = []
    http.post("/v1/charges", data={"amount": 90_000, "currency": "usd", "source": "tok_bypassPending"})
    for i, schedule in enumerate(SCHEDULES * accounts_per_schedule):
        data = {"type": "custom"} | {f"settings[payouts][schedule][{k}]": str(v) for k, v in schedule.items()}
        account = http.post("/v1/accounts", data=data).json()["id"]
        added = http.post(
            f"/v1/accounts/{account}/external_accounts", data={"external_account": BANKS[i % len(BANKS)]}
        )
        assert added.status_code == 200, added.text
        as_account = {"Stripe-Account": account}
        for amount, source in ((10_000 + i, "tok_visa"), (2_500, "tok_bypassPending"), (700, "tok_visa")):
            charged = http.post(
                "/v1/charges",
                data={"amount": amount, "currency": "usd", "source": source},
                headers=as_account,
            )
            assert charged.status_code == 200, charged.text
        http.post("/v1/transfers", data={"amount": 1_000 + i, "currency": "usd", "destination": account})
        if schedule["interval"] == "manual":
            assert http.post("/v1/payouts", data={"amount": 1_000, "currency": "usd"}, headers=as_account)
        made.append(account)
    return made


def _unsharded(account: str) -> str:
    """A system account's shard (`sys_world_07`, picked at random per unit) as the account."""
    return account.rsplit("_", 1)[0] if account.startswith("sys_") else account


def _outcome(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Payouts, balances and balance transactions, without their random ids and shards."""
    from payoutkit.store.schema import balance_transactions as t
    from payoutkit.store.schema import balances as b
    from payoutkit.store.schema import resources as r

    keep = ("amount", "status", "arrival_date", "created", "automatic", "method", "failure_code", "currency")
    payouts_ = conn.execute(select(r.c.account_id, r.c.data).where(r.c.object == "payout"))
    txns = conn.execute(
        select(t.c.account_id, t.c.type, t.c.amount, t.c.fee, t.c.status, t.c.available_on, t.c.created,
               t.c.balance_type, t.c.source_type)
    )  # fmt: skip
    sums: dict[tuple[Any, ...], list[int]] = {}
    for row in conn.execute(
        select(b.c.account_id, b.c.livemode, b.c.currency, b.c.balance_type, b.c.source_type, b.c.available,
               b.c.pending)
    ):  # fmt: skip
        total = sums.setdefault((_unsharded(row[0]), *row[1:5]), [0, 0])
        total[0] += row.available
        total[1] += row.pending
    return {
        "payouts": sorted((p.account_id, *(p.data.get(k) for k in keep)) for p in payouts_),
        "balances": sorted((*k, *v) for k, v in sums.items()),
        "balance_transactions": sorted((_unsharded(x[0]), *x[1:]) for x in txns),
    }


def test_a_stepped_advance_ends_as_the_single_unit_replay_does(
    server: RunningServer, http: httpx.Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from payoutkit.services import jobs

    _populate(http)
    start = http.get("/v1/test_helpers/clock").json()["now"]
    to = start + 75 * DAY
    # The reference: the old advance — the whole replay in one unit of work, every due account run one
    # by one (no idle pass) — rolled back after reading. (The server is idle meanwhile.)
    with engine.connect() as conn, monkeypatch.context() as patch:
        patch.setattr(payout_automatic, "run_idle", lambda *args: set())
        trans = conn.begin()
        jobs.catch_up(conn, SIMULATED, False, to)
        reference = _outcome(conn)
        trans.rollback()
    assert reference["payouts"]
    assert {p[2] for p in reference["payouts"]} >= {"paid", "failed"}
    assert advance(http, to=to) == to
    with engine.connect() as conn:
        assert _outcome(conn) == reference
    assert_ledger_ok(server.settings.database_url)


def test_requests_are_answered_while_a_long_advance_runs(server: RunningServer, http: httpx.Client) -> None:
    _populate(http, accounts_per_schedule=2)
    start = http.get("/v1/test_helpers/clock").json()["now"]
    to = start + 365 * DAY
    done: list[int] = []

    def long_advance() -> None:
        with httpx.Client(base_url=server.url, auth=http.auth, trust_env=False, timeout=600) as client:
            done.append(advance(client, to=to))

    thread = threading.Thread(target=long_advance)
    thread.start()
    # Read clock, balance, clock while the advance runs. A balance answered between two clock reads
    # that both show a time strictly between the start and the target was answered mid-advance: the
    # advance had moved the clock, and had not yet finished.
    mid_advance: list[tuple[int, int]] = []
    try:
        while thread.is_alive() and not mid_advance:
            before = http.get("/v1/test_helpers/clock").json()["now"]
            assert http.get("/v1/balance").status_code == 200
            after = http.get("/v1/test_helpers/clock").json()["now"]
            assert start <= before <= after <= to  # the clock only moves forward
            if start < before and after < to:
                mid_advance.append((before, after))
    finally:
        thread.join()
    assert done == [to]
    assert mid_advance, "no request was answered while the advance ran"
    assert http.get("/v1/test_helpers/clock").json()["now"] == to
    assert_ledger_ok(server.settings.database_url)
