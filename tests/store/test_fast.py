"""store/fast.py: a `Query` or `Write` does what `conn.execute` of the same statement does, on both
stores: the same rows and types back, the same values stored, every statement seen by the engine's
cursor listeners, and driver errors raised as SQLAlchemy's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import BigInteger, Connection, String, bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from payoutkit.runtime import Runtime
from payoutkit.store.fast import COPY_MIN, FEW_ROWS_MAX, SET_MIN, Query, Write
from payoutkit.store.schema import resources
from tests.conftest import CLOCK_START

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
    # A few rows: one statement on PostgreSQL (an INSERT over arrays), the driver's executemany on SQLite;
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
    COPY), each is stored with its own values, JSON included (an object, an array, none), in the order
    given (`seq`, which lists are ordered by)."""
    for n in (2, 3, FEW_ROWS_MAX, COPY_MIN, 200):

        def unit(conn: Connection, n: int = n) -> None:
            rows = [_row(f"w{n}_{i}", _internal(i)) | {"parent_id": f"p{n}"} for i in range(n)]
            Write(insert(resources)).run(conn, rows)
            got = conn.execute(
                select(resources.c.id, resources.c.data, resources.c.internal)
                .where(resources.c.parent_id == f"p{n}")
                .order_by(resources.c.seq)
            ).all()
            assert [r.id for r in got] == [f"w{n}_{i}" for i in range(n)]
            assert [r.internal for r in got] == [_internal(i) for i in range(n)]
            assert all(r.data == _row(r.id, None)["data"] for r in got)

        runtime.db.transaction(unit)


def _internal(i: int) -> Any:
    return [{"i": i}, [i]] if i % 3 == 1 else {"i": i} if i % 3 == 2 else None


# An UPDATE of rows named by their id: a relative change and a value.
_BUMP = (
    update(resources)
    .where(resources.c.id == bindparam("u_id", type_=String))
    .values(
        created=resources.c.created + bindparam("u_add", type_=BigInteger),
        status=bindparam("u_status", type_=String),
    )
)


def _seen(runtime: Runtime) -> list[tuple[str, bool]]:
    ours: list[tuple[str, bool]] = []

    def before(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        ours.append((statement.split()[0], many))

    event.listen(runtime.db.engine, "before_cursor_execute", before)
    return ours


def test_an_update_by_a_key_changes_each_named_row_as_executemany_would(runtime: Runtime) -> None:
    """`Write(update, by=…)`: whatever way the rows go (one by one, `executemany`, or on PostgreSQL
    from SET_MIN rows one statement over arrays), each named row gets its own values — the relative
    change added once — and no other row changes."""
    runtime.db.transaction(
        lambda conn: conn.execute(insert(resources), [_row(f"u_{i}", None) for i in range(300)])
    )
    bump = Write(_BUMP, by={"u_id": resources.c.id})
    ours = _seen(runtime)
    pg = runtime.db.engine.dialect.name == "postgresql"
    start = 0
    for n in (1, SET_MIN - 1, SET_MIN, 200):
        named = range(start, start + n)
        rows = [{"u_id": f"u_{i}", "u_add": i + 1, "u_status": f"s{i}"} for i in named]
        ours.clear()

        def unit(conn: Connection, rows: list[dict[str, Any]] = rows) -> None:
            bump.run(conn, rows)

        runtime.db.transaction(unit)
        updates = [s for s in ours if s[0] == "UPDATE"]
        assert updates == [("UPDATE", n > 1 and not (pg and n >= SET_MIN))], n
        start += n

    def read(conn: Connection) -> dict[str, tuple[int, str | None]]:
        return {
            r.id: (r.created, r.status)
            for r in conn.execute(select(resources).where(resources.c.id.like("u_%")))
        }

    got = runtime.db.transaction(read)
    for i in range(300):
        want = (CLOCK_START + i + 1, f"s{i}") if i < start else (CLOCK_START, None)
        assert got[f"u_{i}"] == want, i


def test_an_update_that_names_a_row_twice_applies_both_changes(runtime: Runtime) -> None:
    """One statement over arrays would apply only one of a row's updates; a batch that names a row
    twice goes as `executemany`, one change after the other."""
    runtime.db.transaction(
        lambda conn: conn.execute(insert(resources), [_row(f"d_{i}", None) for i in range(SET_MIN)])
    )
    rows = [{"u_id": f"d_{i}", "u_add": 1, "u_status": "x"} for i in range(SET_MIN)]
    rows.append({"u_id": "d_0", "u_add": 10, "u_status": "y"})
    runtime.db.transaction(lambda conn: Write(_BUMP, by={"u_id": resources.c.id}).run(conn, rows))

    def read(conn: Connection) -> tuple[int, str]:
        return conn.execute(
            select(resources.c.created, resources.c.status).where(resources.c.id == "d_0")
        ).one()

    assert tuple(runtime.db.transaction(read)) == (CLOCK_START + 11, "y")


def test_an_update_by_a_key_needs_typed_parameters() -> None:
    """Each parameter is sent as an array of its type: an untyped one is refused when the write is
    made, not on the first batch."""
    untyped = (
        update(resources).where(resources.c.id == bindparam("u_id")).values(status=bindparam("u_status"))
    )
    with pytest.raises(ValueError, match="u_status"):
        Write(untyped, by={"u_id": resources.c.id})
    with pytest.raises(ValueError, match="u_other"):
        Write(_BUMP, by={"u_other": resources.c.id})
    with pytest.raises(ValueError, match="UPDATE"):
        Write(insert(resources), by={"id": resources.c.id})
