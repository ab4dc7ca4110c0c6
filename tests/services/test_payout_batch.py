"""Automatic payout runs in batches (services/payout_batch.py) leave exactly what running the same
accounts one by one (`payout_automatic.run_account`, in due order) leaves: the same payouts (amounts,
source types, arrival dates, the `automatic` flag), balance transactions and sweeps, buckets, reserves,
next runs, and each account's events in the same order.

The population mixes what a batch must handle and what it leaves to `run_account` in its place in the
due order: plain usd accounts; an account with two myr source types (its second payout sees what its
first left) and a usd one besides; an account with a negative source type and no debits (skipped
mid-batch: its other sources are more than its total covers); an account with no bank account
(skipped); an account that owes money with `debit_negative_balances` (run alone: it needs its debits in
flight); one with pending funds due by the run (run alone: settled first); the platform itself (run
alone). Each comparison runs the reference and the batch in units of work that are rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select

from payoutkit.services import payout_automatic, payout_batch
from payoutkit.services.actor import Actor, Moment
from payoutkit.services.rail import SIMULATED
from payoutkit.services.refunds import RefundCommand, create_refund
from payoutkit.store import payouts as store_payouts
from payoutkit.store.balances import flush_moves
from payoutkit.store.db import Database
from payoutkit.store.invariants import check_ledger
from tests.contract.helpers import card_fee
from tests.support.server import RunningServer

DAY = 86_400


class _Rollback(Exception):
    pass


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


def _account(http: httpx.Client, *, country: str = "US", **settings: str) -> str:
    data = {"type": "custom", "country": country} | {
        f"settings[payouts][{k}]": v for k, v in settings.items()
    }
    return str(_post(http, "/v1/accounts", **data)["id"])


def _bank(http: httpx.Client, account: str, currency: str = "usd") -> None:
    if currency == "usd":
        _post(http, f"/v1/accounts/{account}/external_accounts", external_account="btok_us_verified")
        return
    bank = {
        "external_account[object]": "bank_account",
        "external_account[country]": "MY",
        "external_account[currency]": currency,
        "external_account[account_number]": "000123456789",
    }
    _post(http, f"/v1/accounts/{account}/external_accounts", **bank)


def _charge(http: httpx.Client, account: str, amount: int, source: str = "tok_bypassPending") -> str:
    return str(_post(http, "/v1/charges", account, amount=amount, currency="usd", source=source)["id"])


def _funded(http: httpx.Client, *amounts: int) -> tuple[list[str], list[str]]:
    """One connected account per amount, each with a bank account and a charge of that amount: the
    accounts and their charges, in order."""
    accounts, charges = [], []
    for amount in amounts:
        a = _account(http)
        _bank(http, a)
        accounts.append(a)
        charges.append(_charge(http, a, amount))
    return accounts, charges


def _populate(http: httpx.Client) -> dict[str, str]:
    """The accounts of the module docstring, by role (the platform's own run is due as well)."""
    for currency in ("usd", "myr"):
        _post(http, "/v1/charges", amount=500_000, currency=currency, source="tok_bypassPending")
        _post(http, "/v1/topups", amount=500_000, currency=currency)  # bank_account funds
    made: dict[str, str] = {}
    for i in range(3):
        made[f"plain{i}"] = a = _account(http)
        _bank(http, a)
        _charge(http, a, 10_000 + 1000 * i)
    made["myr"] = a = _account(http, country="MY")
    _bank(http, a, "myr")
    _bank(http, a, "usd")
    for source_type, amount in (("bank_account", 8000), ("card", 7000)):
        _post(http, "/v1/transfers", amount=amount, currency="myr", destination=a, source_type=source_type)
    _charge(http, a, 4000)
    made["short"] = a = _account(http)  # card -fee, bank_account 8,000: more than the total, left
    _bank(http, a)
    _post(http, "/v1/refunds", a, charge=_charge(http, a, 1000))
    _post(http, "/v1/transfers", amount=8000, currency="usd", destination=a, source_type="bank_account")
    made["no_bank"] = a = _account(http)
    _charge(http, a, 5000)
    made["debit"] = a = _account(http, debit_negative_balances="true")
    _bank(http, a)
    _post(http, "/v1/refunds", a, charge=_charge(http, a, 1000))  # owes the fee: debited
    made["pending"] = a = _account(http)
    _bank(http, a)
    _charge(http, a, 9000, "tok_visa")  # available in 2 days: due by the run
    made["plain_last"] = a = _account(http)
    _bank(http, a)
    _charge(http, a, 3000)
    return made


def _outcome(conn: Connection) -> dict[str, Any]:
    """What the runs left, without random ids and system shards: payouts, each bucket, each transaction
    (and which payout of its account swept it), reserves, next runs, and each account's events in order."""
    from payoutkit.store.schema import balance_transactions as t
    from payoutkit.store.schema import balances as b
    from payoutkit.store.schema import connect_reserves, events, payout_runs, resources

    flush_moves(conn)
    keep = ("amount", "currency", "source_type", "status", "arrival_date", "created", "automatic", "type")
    payouts = {
        r.id: (r.account_id, *(r.data.get(k) for k in keep))
        for r in conn.execute(select(resources.c.id, resources.c.account_id, resources.c.data).where(
            resources.c.object == "payout"))
    }  # fmt: skip

    def shard(account: str) -> str:
        return account.rsplit("_", 1)[0] if account.startswith("sys_") else account

    sums: dict[tuple[Any, ...], list[int]] = {}
    columns = (b.c.account_id, b.c.livemode, b.c.currency, b.c.balance_type, b.c.source_type)
    for r in conn.execute(select(*columns, b.c.available, b.c.pending)):
        total = sums.setdefault((shard(r[0]), *r[1:5]), [0, 0])
        total[0] += r.available
        total[1] += r.pending
    txns = sorted(
        (shard(r.account_id), r.type, r.amount, r.status, r.available_on, r.balance_type, r.source_type,
         payouts.get(r.payout) if r.payout else None)
        for r in conn.execute(select(t))
    )  # fmt: skip
    evts: dict[str, list[tuple[Any, ...]]] = {}
    for r in conn.execute(select(events).order_by(events.c.seq)):
        obj = r.data["data"]["object"]
        evts.setdefault(str(r.account_id), []).append((r.type, obj.get("amount"), obj.get("source_type")))
    return {
        "payouts": sorted(payouts.values()),
        "balances": sorted((*k, *v) for k, v in sums.items()),
        "txns": txns,
        "reserves": sorted(conn.execute(select(*(c for c in connect_reserves.c if c.name != "seq"))).all()),
        "runs": sorted(tuple(r) for r in conn.execute(select(payout_runs))),
        "events": evts,
    }


def _rolled_back(db: Database, fn: Callable[[Connection], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def unit(conn: Connection) -> None:
        fn(conn)
        out.update(_outcome(conn))
        assert check_ledger(conn) == []
        raise _Rollback

    with pytest.raises(_Rollback):
        db.transaction(unit)
    return out


def _one_by_one(moment: Moment) -> Callable[[Connection], None]:
    """The runs as they were before batches: every busy due account through `run_account`, in order."""

    def run(conn: Connection) -> None:
        while due := store_payouts.due_runs(conn, moment.livemode, moment.now, 1000):
            idle = payout_automatic.run_idle(conn, due, moment.livemode, moment.now)
            for account_id in due:
                if account_id not in idle:
                    payout_automatic.run_account(conn, moment, SIMULATED, account_id)

    return run


def _batched(moment: Moment, limit: int) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        while payout_automatic.run_automatic(conn, moment, SIMULATED, limit=limit) > 0:
            pass

    return run


def _run_time(http: httpx.Client) -> Moment:
    now = int(http.get("/v1/test_helpers/clock").json()["now"])
    return Moment.job(False, now + 5 * DAY)


def test_a_batch_leaves_what_running_each_account_alone_leaves(http: httpx.Client, db: Database) -> None:
    made = _populate(http)
    moment = _run_time(http)
    reference = _rolled_back(db, _one_by_one(moment))
    # The population does what it is meant to: payouts in two currencies, a debit, skipped accounts.
    by_account: dict[str, list[tuple[Any, ...]]] = {}
    for p in reference["payouts"]:
        by_account.setdefault(p[0], []).append(p)
    assert sorted((p[2], p[3]) for p in by_account[made["myr"]]) == [
        ("myr", "bank_account"), ("myr", "card"), ("usd", "card")
    ]  # fmt: skip
    assert [p[1] for p in by_account[made["debit"]]] == [-card_fee(1000)]
    assert made["short"] not in by_account
    assert made["no_bank"] not in by_account
    assert [p[1] for p in by_account[made["pending"]]] == [9000 - card_fee(9000)]  # settled, then paid
    assert all(p[7] for p in reference["payouts"])  # automatic
    # Which accounts a batch takes, and which it leaves to `run_account` in their place.
    platform = http.get("/v1/account").json()["id"]

    def plain(conn: Connection) -> None:
        plans = payout_batch.plan(conn, moment, [platform, *made.values()])
        assert set(plans) == {
            made[k] for k in ("plain0", "plain1", "plain2", "myr", "short", "no_bank", "plain_last")
        }

    _rolled_back(db, plain)
    for limit in (1000, 3, 1):  # one batch; batch boundaries inside the population; one account a unit
        assert _rolled_back(db, _batched(moment, limit)) == reference, limit


def test_the_batch_decides_on_the_locked_balance_not_on_what_it_read(
    http: httpx.Client, db: Database, server: RunningServer
) -> None:
    """A balance that moves between the batch's read (`plan`) and its lock — a refund here, in the same
    unit; on PostgreSQL another unit's — is paid out as it is when locked."""
    platform = http.get("/v1/account").json()["id"]
    accounts, charges = _funded(http, 10_000, 20_000, 30_000)
    moment = _run_time(http)

    def run(conn: Connection) -> None:
        plans = payout_batch.plan(conn, moment, accounts)
        assert set(plans) == set(accounts)
        actor = Actor(account_id=accounts[1], platform_id=platform, livemode=False, now=moment.now)
        create_refund(conn, actor, RefundCommand(charge=charges[1], amount=5000))
        assert payout_batch.run_batch(conn, moment, SIMULATED, [plans[a] for a in accounts]) == 3

    got = _rolled_back(db, run)
    paid = {p[0]: p[1] for p in got["payouts"]}
    fees = {a: card_fee(amount) for a, amount in zip(accounts, (10_000, 20_000, 30_000), strict=True)}
    assert paid == {
        accounts[0]: 10_000 - fees[accounts[0]],
        accounts[1]: 20_000 - fees[accounts[1]] - 5000,
        accounts[2]: 30_000 - fees[accounts[2]],
    }
    assert {b[0]: b[5] for b in got["balances"] if b[0] in accounts and b[4] == "card"} == dict.fromkeys(
        accounts, 0
    )
    # Each account's events in order: the charge's, the refund's for the second, then its payout.
    assert got["events"][accounts[1]][-1] == ("payout.created", paid[accounts[1]], "card")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite runs one unit at a time
def test_a_debit_racing_a_batch_waits_for_it_and_sees_the_payout(
    http: httpx.Client, db: Database, database_url: str
) -> None:
    """The batch locks each account's buckets (a liable account's, as its own movement would) until it
    commits: a refund on one of its accounts meanwhile waits, then takes the balance the payout left
    (here below zero, as a refund may), and the platform's reserve follows. (SQLite serializes units.)"""
    platform = http.get("/v1/account").json()["id"]
    accounts = list(zip(*_funded(http, 10_000, 20_000), strict=True))
    moment = _run_time(http)
    locked, go = threading.Event(), threading.Event()
    done: list[str] = []

    def batch(conn: Connection) -> None:
        assert payout_automatic.run_automatic(conn, moment, SIMULATED) >= 2
        locked.set()
        assert go.wait(30)

    def refund() -> None:
        account, charge = accounts[1]
        actor = Actor(account_id=account, platform_id=platform, livemode=False, now=moment.now)
        db.transaction(create_refund, actor, RefundCommand(charge=charge, amount=5000))
        done.append("refund")

    runner = threading.Thread(target=db.transaction, args=(batch,))
    runner.start()
    assert locked.wait(30)
    racer = threading.Thread(target=refund)
    racer.start()
    racer.join(1.0)
    assert done == []  # waiting on the batch's lock of the account's buckets
    go.set()
    runner.join(30)
    racer.join(30)
    assert done == ["refund"]
    got = _rolled_back(db, lambda conn: None)
    account = accounts[1][0]
    [paid] = [p[1] for p in got["payouts"] if p[0] == account]
    assert paid == 20_000 - card_fee(20_000)
    card = [b for b in got["balances"] if b[0] == account and b[3] == "payments" and b[4] == "card"]
    assert [b[5] for b in card] == [-5000]
    assert [(r.account_id, r.amount) for r in got["reserves"] if r.account_id == account] == [(account, 5000)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite runs one unit at a time
def test_concurrent_sequences_of_runs_leave_what_one_sequence_leaves(
    http: httpx.Client, db: Database, database_url: str
) -> None:
    """The worker's runs on PostgreSQL (`worker.drain`): two sequences of units at once, each unit
    claiming its due accounts with SKIP LOCKED, pay each account once and leave what one sequence
    leaves (the debit's reserve moves the platform's buckets, which both sequences may move)."""
    import anyio

    from payoutkit import worker

    _populate(http)
    moment = _run_time(http)
    reference = _rolled_back(db, _batched(moment, 2))
    units: list[int] = []

    def job(conn: Connection, moment: Moment, rail: Any) -> int:
        n = payout_automatic.run_automatic(conn, moment, rail, limit=2)
        units.append(n)
        return n

    due = db.transaction(lambda conn: len(store_payouts.due_runs(conn, False, moment.now, 1000)))
    assert anyio.run(worker.drain, db, job, 2, moment, SIMULATED) == due  # each due account run once
    assert sum(1 for n in units if n) >= 2
    got = _rolled_back(db, lambda conn: None)
    assert got == reference  # each account's events too: they come from its own unit, in order


def test_a_balance_moved_after_the_units_read_is_read_again_by_the_batch(
    http: httpx.Client, db: Database
) -> None:
    """The batch's movement takes the buckets the unit read (`payout_batch.read`, on SQLite) only while
    the unit has moved none since: a refund between that read and the batch (same unit) is seen, and
    the refunded account is paid out what is left, not what was read."""
    platform = http.get("/v1/account").json()["id"]
    accounts, charges = _funded(http, 10_000, 20_000)
    moment = _run_time(http)

    def run(conn: Connection) -> None:
        known = payout_batch.read(conn, moment.livemode, accounts)
        plans = payout_batch.plan(conn, moment, accounts, known)
        actor = Actor(account_id=accounts[1], platform_id=platform, livemode=False, now=moment.now)
        create_refund(conn, actor, RefundCommand(charge=charges[1], amount=5000))
        assert payout_batch.run_batch(conn, moment, SIMULATED, [plans[a] for a in accounts], known) == 2

    got = _rolled_back(db, run)
    paid = {p[0]: p[1] for p in got["payouts"]}
    assert paid == {accounts[0]: 10_000 - card_fee(10_000), accounts[1]: 20_000 - card_fee(20_000) - 5000}
    assert {b[0]: b[5] for b in got["balances"] if b[0] in accounts and b[4] == "card"} == dict.fromkeys(
        accounts, 0
    )


def test_a_refund_during_a_run_is_not_overdrawn(
    http: httpx.Client, db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refund asked for through the API while a run has read the account (its plan made) and not yet
    locked it: on PostgreSQL it commits first and the run, reading under lock, pays out what is left;
    on SQLite it waits for the run's commit and takes the balance below zero (as a refund may). The run
    never pays out what the refund took (a lock or a read wrongly skipped would)."""
    accounts, charges = _funded(http, 10_000, 20_000)
    target, balance = accounts[1], 20_000 - card_fee(20_000)
    moment = _run_time(http)
    read, refunded = threading.Event(), threading.Event()
    plan = payout_batch.plan

    def plan_then_wait(*args: Any, **kwargs: Any) -> dict[str, payout_batch.Plan]:
        plans = plan(*args, **kwargs)
        read.set()
        refunded.wait(3)  # on SQLite the refund waits for this unit instead
        return plans

    monkeypatch.setattr(payout_batch, "plan", plan_then_wait)
    answers: list[httpx.Response] = []

    def refund() -> None:
        assert read.wait(30)
        headers = {"Stripe-Account": target}
        answers.append(http.post("/v1/refunds", data={"charge": charges[1], "amount": 5000}, headers=headers))
        refunded.set()

    racer = threading.Thread(target=refund)
    racer.start()
    while db.transaction(payout_automatic.run_automatic, moment, SIMULATED) > 0:
        pass
    racer.join(60)
    assert [a.status_code for a in answers] == [200]
    got = _rolled_back(db, lambda conn: None)
    kinds = [e[0] for e in got["events"][target]]
    first = kinds.index("payout.created")
    refund_first = any(k.startswith(("charge.refund", "refund.")) for k in kinds[:first])
    assert refund_first == database_url.startswith("postgresql")  # the race this test is about
    [paid] = [p[1] for p in got["payouts"] if p[0] == target]
    card = [b[5] for b in got["balances"] if b[0] == target and b[3] == "payments" and b[4] == "card"]
    if refund_first:
        assert (paid, card) == (balance - 5000, [0])
    else:
        assert (paid, card) == (balance, [-5000])
