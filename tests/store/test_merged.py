"""A unit's kept writes merged into one statement, and its BEGIN kept until a statement needs it, on
PostgreSQL (store/merged.py, store/pipeline.py): what the unit stores is what it would store sent one by
one, in order, inside its transaction; a plain read needs no transaction; a write that would see or
undo another's in one statement goes in a statement of its own; and several buckets moved in one
statement are locked in row-id order whatever order they are given in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import psycopg
import pytest
from sqlalchemy import Connection, insert, select, text

from payoutkit.runtime import Runtime
from payoutkit.store import balances as store_balances
from payoutkit.store import pipeline
from payoutkit.store.fast import SHAPES, Shape, Write
from payoutkit.store.merged import Statement, merge
from payoutkit.store.schema import balances, resources
from tests.conftest import CLOCK_START
from tests.support.waiting import InThread, wait_for_a_lock_wait

_MOVE = store_balances._MOVE_BUCKETS
_INSERT = Write(insert(resources), deferred=True)


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_m", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


def _move(seq: int, available: int) -> dict[str, Any]:
    return {"b_seq": seq, "b_available": available, "b_pending": 0, "b_next": None}


def _buckets(runtime: Runtime, n: int) -> list[int]:
    def make(conn: Connection) -> list[int]:
        rows = [{"account_id": f"acct_m{i}", "livemode": False, "currency": "usd",
                 "balance_type": "payments", "source_type": "card"} for i in range(n)]  # fmt: skip
        conn.execute(insert(balances), rows)
        found = select(balances.c.seq).where(balances.c.account_id.startswith("acct_m"))
        return sorted(int(r[0]) for r in conn.execute(found.order_by(balances.c.seq)))

    return runtime.db.transaction(make)


def _available(runtime: Runtime, seqs: list[int]) -> list[int]:
    q = select(balances.c.available).where(balances.c.seq.in_(seqs)).order_by(balances.c.seq)
    return runtime.db.transaction(lambda conn: [int(r[0]) for r in conn.execute(q)])


class _Sent:
    """What `pipeline._send` (on a thread) sent while attached: (begin, statements, commit) per round trip."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.trips: list[tuple[bool, list[Statement], bool]] = []
        real = pipeline._send

        def send(driver: Any, begin: bool, statements: list[Statement], commit: bool) -> None:
            self.trips.append((begin, list(statements), commit))
            real(driver, begin, statements, commit)

        monkeypatch.setattr(pipeline, "_send", send)


def _status(conn: Connection) -> psycopg.pq.TransactionStatus:
    return conn.connection.driver_connection.info.transaction_status  # type: ignore[union-attr,no-any-return]


_PG = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@_PG
def test_a_units_kept_writes_go_as_one_statement_alone_its_own_transaction(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    [a, b, c] = _buckets(runtime, 3)
    sent = _Sent(monkeypatch)

    def unit(conn: Connection) -> None:
        assert _status(conn) is psycopg.pq.TransactionStatus.IDLE
        conn.execute(select(balances.c.seq).where(balances.c.seq == a)).all()  # a plain read: no BEGIN
        assert _status(conn) is psycopg.pq.TransactionStatus.IDLE
        _INSERT.run(conn, [_row("one_1"), _row("one_2"), _row("one_3")])
        _MOVE.run(conn, [_move(c, 3), _move(a, 1), _move(b, 2)])

    runtime.db.transaction(unit)
    assert [(begin, commit, [s.raw for s in statements]) for begin, statements, commit in sent.trips] == [
        (False, False, [True])
    ]
    [(_, [statement], _)] = sent.trips
    assert statement.sql.startswith("WITH w0 AS (INSERT INTO resources")
    assert statement.sql.count("INSERT INTO resources") == 1
    assert statement.sql.count("UPDATE balances") == 1
    assert "ORDER BY balances.seq FOR UPDATE" in statement.sql
    assert _available(runtime, [a, b, c]) == [1, 2, 3]
    count = select(resources.c.id).where(resources.c.id.startswith("one_"))
    assert len(runtime.db.transaction(lambda conn: conn.execute(count).all())) == 3


@_PG
def test_a_locking_read_sends_the_begin_and_the_commit_ends_the_writes_pipeline(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    [a] = _buckets(runtime, 1)
    sent = _Sent(monkeypatch)

    def unit(conn: Connection) -> None:
        conn.execute(select(balances.c.seq).where(balances.c.seq == a).with_for_update()).all()
        assert _status(conn) is psycopg.pq.TransactionStatus.INTRANS
        _INSERT.run(conn, [_row("lock_1")])
        _MOVE.run(conn, [_move(a, 5)])

    runtime.db.transaction(unit)
    assert [(begin, len(statements), commit) for begin, statements, commit in sent.trips] == [
        (True, 0, False),  # the BEGIN, alone, before the SELECT … FOR UPDATE
        (False, 1, True),  # the two writes in one statement, with the COMMIT
    ]
    assert _available(runtime, [a]) == [5]


@_PG
def test_a_unit_that_only_reads_begins_nothing(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _Sent(monkeypatch)
    runtime.db.transaction(lambda conn: conn.execute(text("SELECT 1")).all())
    assert sent.trips == []


@_PG
def test_a_unit_that_fails_after_sending_a_statement_leaves_nothing(runtime: Runtime) -> None:
    """The statement took the kept BEGIN with it: what it wrote is in the unit's transaction."""

    def unit(conn: Connection) -> None:
        conn.execute(insert(resources), [_row("sent_1")])  # Core: sent at once, after the BEGIN
        assert _status(conn) is psycopg.pq.TransactionStatus.INTRANS
        raise LookupError("the unit fails")

    with pytest.raises(LookupError):
        runtime.db.transaction(unit)
    count = select(resources.c.id).where(resources.c.id.startswith("sent_"))
    assert runtime.db.transaction(lambda conn: conn.execute(count).all()) == []


@_PG
@pytest.mark.parametrize("on_loop", [False, True], ids=["thread", "loop"])
def test_writes_that_would_see_each_other_are_not_merged(runtime: Runtime, on_loop: bool) -> None:
    """Two moves of one bucket kept one after the other (a statement keeps one of two updates of a row),
    and a move after an INSERT into the same table, each apply in full; rows inserted into one table by
    writes kept one after the other are numbered in that order (PostgreSQL runs a statement's CTEs in
    an order of its own)."""
    [a, b] = _buckets(runtime, 2)

    def unit(conn: Connection) -> None:
        _MOVE.run(conn, [_move(a, 5), _move(b, 1)])
        _MOVE.run(conn, [_move(a, 7)])
        for i in range(4):
            _INSERT.run(conn, [_row(f"seen_{i}")])
        _MOVE.run(conn, [_move(a, 11), _move(b, 2)])

    _unit(runtime, on_loop, unit)
    assert _available(runtime, [a, b]) == [23, 3]
    in_order = select(resources.c.id).where(resources.c.id.startswith("seen_")).order_by(resources.c.seq)
    assert [r[0] for r in runtime.db.transaction(lambda conn: conn.execute(in_order).all())] == [
        f"seen_{i}" for i in range(4)
    ]


def _unit(runtime: Runtime, on_loop: bool, unit: Callable[[Connection], None]) -> None:
    async def main() -> None:
        await runtime.db.start_loop_units()
        try:
            await runtime.db.run(unit)
        finally:
            await runtime.db.stop_loop_units()

    if on_loop:
        anyio.run(main)
    else:
        runtime.db.transaction(unit)


@_PG
def test_several_buckets_moved_at_once_are_locked_in_row_id_order(runtime: Runtime) -> None:
    """Given last-first, the moves still lock the first bucket first: while it waits for that one, the
    second is free (a plain statement over arrays could lock in the order given, or any)."""
    [a, b] = _buckets(runtime, 2)
    holder = runtime.db.engine.connect()
    holder.begin()
    holder.execute(select(balances.c.seq).where(balances.c.seq == a).with_for_update()).all()
    mover = InThread(lambda: runtime.db.transaction(lambda conn: _MOVE.run(conn, [_move(b, 2), _move(a, 1)])))
    try:
        wait_for_a_lock_wait(runtime.db.engine, mover.done)  # it waits for the row `holder` locked
        assert not mover.done.is_set(), mover.got
        with runtime.db.engine.connect() as probe:
            probe.execute(text("SET lock_timeout = '1s'"))
            nowait = select(balances.c.seq).where(balances.c.seq == b).with_for_update(nowait=True)
            assert probe.execute(nowait).all() == [(b,)]  # the second bucket: not locked yet
            probe.rollback()
    finally:
        holder.rollback()
        holder.close()
    mover.result()  # the moves went through
    assert _available(runtime, [a, b]) == [1, 2]


def _declare(sql: str, target: str, *names: str) -> str:
    SHAPES[sql] = Shape(target, frozenset({target, *names}))
    return sql


def test_merge_joins_what_may_share_a_statement_and_numbers_its_parameters() -> None:
    ins_a = _declare("INSERT INTO ta (x) VALUES (%(x)s)", "ta")
    ins_b = _declare("INSERT INTO tb (y, z) VALUES (%(y)s, %(y)s || '%%')", "tb")
    upd_a = _declare("UPDATE ta SET x = %(x)s", "ta")
    upd_c = _declare("UPDATE tc SET x = (SELECT max(y) FROM tb) + %(d)s", "tc", "tb")
    [one] = merge([(ins_a, {"x": 1}, False), (ins_b, {"y": "b"}, False)])
    assert one.raw
    assert one.sql == (
        "WITH w0 AS (INSERT INTO ta (x) VALUES ($1)), w1 AS (INSERT INTO tb (y, z) VALUES ($2, $2 || '%')) "
        "SELECT 1"
    )
    assert one.params == [1, "b"]
    # a table written twice, a statement reading a table written before it: a new statement each
    split = merge([(ins_a, {"x": 1}, False), (upd_a, {"x": 9}, False), (ins_b, {"y": "c"}, False),
                   (upd_c, {"d": 4}, False)])  # fmt: skip
    assert [(s.sql, s.params) for s in split] == [
        ("INSERT INTO ta (x) VALUES ($1)", [1]),
        ("WITH w0 AS (UPDATE ta SET x = $1), w1 AS (INSERT INTO tb (y, z) VALUES ($2, $2 || '%')) SELECT 1",
         [9, "c"]),
        ("UPDATE tc SET x = (SELECT max(y) FROM tb) + $1", [4]),
    ]  # fmt: skip
    # what no Write declared, and an executemany, go as they were kept
    undeclared = "INSERT INTO td (x) VALUES (%(x)s)"
    kept = merge([(ins_a, {"x": 1}, False), (undeclared, {"x": 2}, False), (ins_a, [{"x": 3}], True)])
    assert [(s.sql, s.params, s.many, s.raw) for s in kept] == [
        ("INSERT INTO ta (x) VALUES ($1)", [1], False, True),
        (undeclared, {"x": 2}, False, False),
        (ins_a, [{"x": 3}], True, False),
    ]
