"""Payouts as use cases: created, listed, canceled, refused and advanced with an actor, no HTTP (the
accounts and funds they need are set up through the API)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from payoutkit.errors import InvalidRequest, PermissionDenied
from payoutkit.ledger.payout_record import Payout, PayoutStatus
from payoutkit.ledger.schedule import Interval, Schedule
from payoutkit.lists import Window
from payoutkit.records.accounts import Account, Controller, PayoutSettings
from payoutkit.records.payouts import PayoutFilter
from payoutkit.services import payout_create, payout_lifecycle, payouts
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.rail import SIMULATED
from payoutkit.store.db import Database
from tests.contract.test_payouts import manual_account
from tests.support.server import RunningServer

DAY = 86_400


@pytest.fixture
def db(server: RunningServer) -> Iterator[Database]:
    database = Database(server.settings.database_url, pool_size=2)
    yield database
    database.dispose()


def _actor(http: httpx.Client, account: str) -> Actor:
    platform = http.get("/v1/account").json()["id"]
    now = http.get("/v1/test_helpers/clock").json()["now"]
    return Actor(account_id=account, platform_id=platform, livemode=False, now=now, request_id="req_1")


def _create(db: Database, server: RunningServer, actor: Actor, amount: int) -> Payout:
    command = payout_create.CreatePayout(amount=amount, currency="usd")
    return db.transaction(payout_create.create, actor, command, settings=server.settings, rail=SIMULATED)


def test_a_payout_is_created_listed_and_canceled_as_records(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    made = _create(db, server, actor, 1200)
    assert (made.amount, made.status, made.method, made.automatic) == (
        1200,
        PayoutStatus.PENDING,
        "standard",
        False,
    )
    assert made.balance_transaction.startswith("txn_")

    shown = http.get(f"/v1/payouts/{made.id}", headers={"Stripe-Account": account}).json()
    assert shown == made.doc()

    listed = db.transaction(payouts.list_payouts, actor, Window(limit=10), PayoutFilter(status="pending"))
    assert [p.id for p in listed.items] == [made.id]

    canceled = db.transaction(payout_lifecycle.cancel, actor, payout_lifecycle.CancelPayout(made.id))
    assert canceled.status is PayoutStatus.CANCELED
    assert canceled.failure_balance_transaction is not None
    with pytest.raises(InvalidRequest, match="Only pending payouts"):
        db.transaction(payout_lifecycle.cancel, actor, payout_lifecycle.CancelPayout(made.id))


@pytest.mark.parametrize(
    ("acting", "liable", "allowed"),
    [("acct_c", True, True), ("acct_c", False, False), ("acct_p", True, False)],
)
def test_only_a_connected_account_its_platform_is_liable_for_reverses_payouts(
    acting: str, liable: bool, allowed: bool
) -> None:
    actor = Actor(account_id=acting, platform_id="acct_p", livemode=False, now=0)
    settings = PayoutSettings(Schedule(Interval.MANUAL, 2), False, None)
    losses = "application" if liable else "stripe"
    controller = Controller("application", "application", losses, "stripe", "express")
    account = Account("acct_c", "US", "usd", 0, "none", settings, controller=controller, platform_id="acct_p")
    if allowed:
        payout_lifecycle.require_reversal_rights(actor, account)
    else:
        with pytest.raises(PermissionDenied):
            payout_lifecycle.require_reversal_rights(actor, account)


def test_the_rail_advances_a_due_payout_to_paid(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    made = _create(db, server, actor, 900)
    later = Moment.job(False, made.arrival_date + DAY)
    moved = db.transaction(payout_lifecycle.advance_due, later, SIMULATED)
    assert moved >= 1
    paid = db.transaction(payouts.retrieve, actor, made.id)
    assert paid.status is PayoutStatus.PAID
    assert paid.trace_id.status == "supported"


def test_a_liable_account_s_payout_does_not_wait_for_its_platform_s_buckets(
    server: RunningServer, http: httpx.Client, stripe_client: object, db: Database
) -> None:
    """The platform is liable for a custom account, but a payout that leaves the account's reserve as
    it is never touches the platform's buckets: with both of them locked by another transaction (as
    the platform's own payout or another liable account's reserve change would hold them), it still
    completes at once. PostgreSQL only: SQLite units are serialized and take no row locks."""
    if db.is_sqlite:
        pytest.skip("row locks are PostgreSQL's")
    from sqlalchemy import Connection, select

    from payoutkit.store.schema import balances

    account = manual_account(stripe_client)  # type: ignore[arg-type]
    actor = _actor(http, account)
    platform_rows = (
        select(balances.c.seq)
        .where(balances.c.account_id == actor.platform_id, balances.c.currency == "usd")
        .with_for_update()
    )
    with db.engine.connect() as holder, holder.begin():
        held = holder.execute(platform_rows).scalars().all()
        assert len(held) >= 2  # the platform's payments and connect_reserved buckets (at least)

        def payout_within_a_second(conn: Connection) -> Payout:
            conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            command = payout_create.CreatePayout(amount=700, currency="usd")
            return payout_create.create(conn, actor, command, settings=server.settings, rail=SIMULATED)

        made = db.transaction(payout_within_a_second)
    assert (made.amount, made.status) == (700, PayoutStatus.PENDING)
    balance = http.get("/v1/balance", headers={"Stripe-Account": account}).json()
    assert balance["available"][0]["amount"] == 5000 - 700
