"""Settling a few buckets reads them by primary key on PostgreSQL, however many buckets the store holds.

A movement settles the buckets it locks (services/movement.py), on the request path. On PostgreSQL one
statement flips a batch's due transactions, sums them per bucket and moves the sums in the buckets
(store/settlement.py); the planner cannot count the rows of the sums (a CTE), so the moves' update is
bounded by the batch's own buckets as well, or it could read every bucket of the table (on a store of
10,000 buckets and 1,000,000 due transactions it did, for 3 buckets). The test takes the nested loop
away from the planner, so that the plan shows whether the statement itself bounds what it reads.
The statement checked is the store's own, as the store sends it (captured from the driver call).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from devtools.pg import PostgresCluster
from payoutkit.ledger.postings import WORLD, BucketKey
from payoutkit.services.movement import SYSTEM_SHARDS
from payoutkit.store import seeding, settlement
from payoutkit.store.balances import create_buckets
from payoutkit.store.engines import make_engine
from tests.support import databases

BUCKETS = 1_000
NOW = 1_767_225_600
DAY = 86_400
KEY = BucketKey("-", False, "usd")


def test_settling_a_few_buckets_reads_them_by_primary_key(
    pg_cluster: PostgresCluster, pg_template: str
) -> None:
    name = databases.create_pg_database(pg_cluster, pg_template)
    engine = make_engine(pg_cluster.url(name), pool_size=1)
    try:
        with engine.begin() as conn:  # buckets with due pending charges, as bench/settle.py seeds them
            seeding.add_buckets(conn, "acct_plan", BUCKETS, KEY)
            create_buckets(conn, [KEY.with_account(f"{WORLD}_{i:02d}") for i in range(SYSTEM_SHARDS)])
            pairs = seeding.Pairs(KEY, 10 * BUCKETS, "acct_plan", BUCKETS, least=500, spread=9_500,
                                  first=NOW - 8 * DAY, span=5 * DAY, pending_days=2)  # fmt: skip
            seeding.book_pairs(conn, pairs)
            seeding.resync_buckets(conn)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            seeding.analyze(conn)
        sent: list[tuple[str, Any]] = []

        def capture(_c: Any, _cur: Any, statement: str, params: Any, *_a: Any) -> None:
            sent.append((statement, params))

        with engine.connect() as conn:
            seqs = [int(r[0]) for r in conn.execute(text("SELECT seq FROM balances ORDER BY seq LIMIT 3"))]
            event.listen(engine, "before_cursor_execute", capture)
            try:
                moved = conn.execute(settlement._FLIP_SUM_AND_MOVE, {"seqs": seqs, "now": NOW}).all()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            statement, params = sent[-1]
            # Whatever the statistics make of the sums' rows: without a nested loop over them, only the
            # batch's bound keeps the update off a scan of every bucket.
            conn.exec_driver_sql("SET LOCAL enable_nestloop = off")
            plan = "\n".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
            conn.rollback()
        assert sorted(int(seq) for seq, _, _ in moved) == seqs  # each had due funds: the statement moved them
        assert "Seq Scan on balances" not in plan, plan
        assert "Index Scan using pk_balances on balances" in plan, plan
    finally:
        engine.dispose()
        pg_cluster.drop_database(name)
