"""Seeding through the store's own bulk functions (`payoutkit.store.seeding`), shared by the scenarios.

`load(url, fill)` runs `fill(conn)` in one transaction on the database at `url` (SQLite: unsynced,
with a large page cache, while loading), then refreshes the planner's statistics. `world_buckets`
makes the 16 `sys_world_NN` buckets through `store.balances.create_buckets`, as a first booking does.

`history(url, count)` is the history scenario's seed: `count` balance transactions of +1000 (available,
type `adjustment`) on the platform's (test mode, usd, payments, card) bucket and `count` of -1000 on the
`sys_world_NN` buckets, interleaved, then every bucket from its transactions; `check_ledger` must pass.
Run it while no server is using the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, func, select

from payoutkit.ledger.postings import WORLD, BucketKey
from payoutkit.services.movement import SYSTEM_SHARDS
from payoutkit.store import seeding
from payoutkit.store.balances import create_buckets
from payoutkit.store.engines import make_engine
from payoutkit.store.invariants import check_ledger
from payoutkit.store.schema import accounts, balance_transactions, clock

T = TypeVar("T")
KEY = BucketKey("-", False, "usd")  # test mode, usd, payments, card: the buckets every scenario uses
AMOUNT = 1000


def load(url: str, fill: Callable[[Connection], T]) -> T:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            seeding.bulk_mode(conn)
            with conn.begin():
                out = fill(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            seeding.analyze(conn)
    finally:
        engine.dispose()
    return out


def world_buckets(conn: Connection) -> None:
    create_buckets(conn, [KEY.with_account(f"{WORLD}_{i:02d}") for i in range(SYSTEM_SHARDS)])


def platform_account(conn: Connection) -> str:
    row = conn.execute(select(accounts.c.id).where(accounts.c.kind == "platform").order_by(accounts.c.seq))
    return str(row.first()[0])  # type: ignore[index]


def count_txns(conn: Connection, account: str) -> int:
    query = select(func.count()).where(balance_transactions.c.account_id == account)
    return int(conn.execute(query).scalar_one())


def ledger_clean(conn: Connection) -> None:
    violations = check_ledger(conn)
    if violations:
        found = "\n  ".join(violations[:20])
        raise AssertionError(f"check_ledger found {len(violations)} violations:\n  {found}")


def _history(conn: Connection, count: int) -> tuple[str, int]:
    account = platform_account(conn)
    now = conn.execute(select(func.max(clock.c.now))).scalar()
    created = (int(now) if now is not None else int(time.time())) - 86_400  # yesterday: nothing to settle
    world_buckets(conn)
    create_buckets(conn, [KEY.with_account(account)])
    pairs = seeding.Pairs(KEY, count, account, least=AMOUNT, first=created, kind="adjustment",
                          category="other_adjustment", description="bench seed")  # fmt: skip
    seeding.book_pairs(conn, pairs)
    seeding.resync_buckets(conn)
    ledger_clean(conn)
    return account, count_txns(conn, account)


def history(url: str, count: int) -> tuple[str, int]:
    """Bulk history on the platform account; returns (account, its transaction count)."""
    if count <= 0:
        return load(url, lambda conn: (a := platform_account(conn), count_txns(conn, a)))
    return load(url, lambda conn: _history(conn, count))
