"""store/fast.py: a `Query` or `Write` does what `conn.execute` of the same statement does, on both
stores: the same rows and types back, the same values stored, every statement seen by the engine's
cursor listeners, and driver errors raised as SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError

from payoutkit.runtime import Runtime, open_runtime
from payoutkit.store.fast import COPY_MIN, MULTI_VALUES_MAX, Query, Write
from payoutkit.store.schema import resources
from tests.conftest import CLOCK_START


@pytest.fixture
def runtime(base_settings: Any) -> Iterator[Runtime]:
    rt, _ = open_runtime(base_settings)
    try:
        yield rt
    finally:
        rt.db.dispose()


_BY_PARENT = select(
    resources.c.id, resources.c.livemode, resources.c.created, resources.c.data, resources.c.internal
).where(resources.c.parent_id == bindparam("parent"), resources.c.livemode == bindparam("livemode"))


def _row(rid: str, internal: Any) -> dict[str, Any]:
    doc = {"id": rid, "object": "test_thing", "nested": {"a": [1, 2, {"b": None}]}, "flag": True}
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": "parent_1", "status": None, "data": doc,
            "internal": internal}  # fmt: skip


def test_write_stores_what_core_stores_and_query_reads_what_core_reads(runtime: Runtime) -> None:
    def unit(conn: Connection) -> None:
        Write(insert(resources)).run(conn, [_row("fast_1", None), _row("fast_2", {"k": 1})])
        conn.execute(insert(resources), [_row("core_1", None), _row("core_2", {"k": 1})])
        params = {"parent": "parent_1", "livemode": False}
        core = sorted(tuple(r) for r in conn.execute(_BY_PARENT, params))
        fast = sorted(Query(_BY_PARENT).rows(conn, params))
        assert fast == core
        assert [r[0] for r in fast] == ["core_1", "core_2", "fast_1", "fast_2"]
        by_id = {r[0]: r for r in fast}
        for name in ("1", "2"):  # stored alike, read back alike (types included)
            fast_row, core_row = by_id[f"fast_{name}"], by_id[f"core_{name}"]
            assert (fast_row[1], fast_row[2], fast_row[4]) == (core_row[1], core_row[2], core_row[4])
            assert fast_row[3] | {"id": "same"} == core_row[3] | {"id": "same"}
        assert by_id["fast_1"][1] is False
        assert by_id["fast_2"][3] == _row("x", None)["data"] | {"id": "fast_2"}
        nulls = select(resources.c.id, resources.c.internal.is_(None)).where(
            resources.c.parent_id == "parent_1"
        )
        assert {r[0]: r[1] for r in conn.execute(nulls)} == {"core_1": False, "core_2": False,
                                                              "fast_1": False, "fast_2": False}  # fmt: skip
        assert Query(_BY_PARENT).rows(conn, {"parent": "nobody", "livemode": False}) == []

    runtime.db.transaction(unit)


def test_listeners_see_every_statement_and_errors_are_sqlalchemys(runtime: Runtime) -> None:
    seen: list[tuple[str, bool]] = []

    def listener(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        seen.append((statement.split()[0].upper(), many))

    class Done(Exception):
        pass

    def unit(conn: Connection) -> None:
        Query(_BY_PARENT).rows(conn, {"parent": "p", "livemode": False})
        Write(insert(resources)).run(conn, [_row("one", None)])
        Write(insert(resources)).run(conn, [_row("two", None), _row("three", None)])
        Write(insert(resources)).run(conn, [_row(f"many_{i}", None) for i in range(COPY_MIN)])
        with pytest.raises(IntegrityError):
            Write(insert(resources)).run(conn, [_row("one", None)])  # the same id again
        raise Done

    event.listen(runtime.db.engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(Done):
            runtime.db.transaction(unit)
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", listener)
    ours = [s for s in seen if s[0] != "BEGIN"]
    # A few rows: one statement on PostgreSQL (a VALUES row each), the driver's executemany on SQLite;
    # more: a COPY on PostgreSQL, seen as one statement of many rows.
    pg = runtime.db.engine.dialect.name == "postgresql"
    many = "COPY" if pg else "INSERT"
    assert ours == [("SELECT", False), ("INSERT", False), ("INSERT", not pg), (many, True), ("INSERT", False)]


def test_a_copy_that_breaks_a_constraint_is_sqlalchemys_integrity_error(runtime: Runtime) -> None:
    """Many rows of which one repeats a stored id: the write fails as any INSERT would, and the unit's
    transaction rolls back whole (none of the rows is stored)."""

    def first(conn: Connection) -> None:
        Write(insert(resources)).run(conn, [_row("taken", None)])

    def many(conn: Connection) -> None:
        Write(insert(resources)).run(
            conn, [_row(f"c_{i}", None) for i in range(COPY_MIN + 3)] + [_row("taken", None)]
        )

    runtime.db.transaction(first)
    with pytest.raises(IntegrityError):
        runtime.db.transaction(many)

    def count(conn: Connection) -> int:
        return len(conn.execute(select(resources.c.id).where(resources.c.id.like("c_%"))).all())

    assert runtime.db.transaction(count) == 0


def test_a_write_of_many_rows_stores_each_in_order(runtime: Runtime) -> None:
    """Whatever way the rows go (one statement, `executemany`, or on PostgreSQL from COPY_MIN rows a
    COPY), each is stored with its own values, JSON included, in the order given (`seq`, which lists
    are ordered by)."""
    for n in (2, 3, MULTI_VALUES_MAX, COPY_MIN, 200):

        def unit(conn: Connection, n: int = n) -> None:
            rows = [_row(f"w{n}_{i}", {"i": i} if i % 2 else None) | {"parent_id": f"p{n}"} for i in range(n)]
            Write(insert(resources)).run(conn, rows)
            got = conn.execute(
                select(resources.c.id, resources.c.data, resources.c.internal)
                .where(resources.c.parent_id == f"p{n}")
                .order_by(resources.c.seq)
            ).all()
            assert [r.id for r in got] == [f"w{n}_{i}" for i in range(n)]
            assert [r.internal for r in got] == [{"i": i} if i % 2 else None for i in range(n)]
            assert all(r.data == _row(r.id, None)["data"] for r in got)

        runtime.db.transaction(unit)
