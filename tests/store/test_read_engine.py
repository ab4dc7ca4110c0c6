"""PostgreSQL's read units run on the read engine (store/db.py `make_read_engine`): no transaction is
held (each statement is its own, so a one-statement read is one round trip), a write in a read unit
fails and leaves nothing, and the read units share the writing units' caches."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import pq
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError

from payoutkit.runtime import Runtime
from payoutkit.store.engines import engine_cache
from payoutkit.store.schema import resources
from tests.conftest import CLOCK_START

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


def test_a_read_unit_holds_no_transaction_and_sees_each_commit(runtime: Runtime) -> None:
    db = runtime.db
    runtime.db.transaction(lambda conn: conn.execute(insert(resources), [_row("t_1")]))
    seen: list[Any] = []

    def read(conn: Connection) -> None:
        driver = conn.connection.driver_connection
        seen.append(conn.execute(select(resources.c.id).where(resources.c.id == "t_1")).scalar())
        seen.append(driver.info.transaction_status)  # type: ignore[union-attr]
        # a write committed by another unit meanwhile: the next statement sees it (READ COMMITTED)
        db.transaction(lambda other: other.execute(insert(resources), [_row("t_2")]))
        seen.append(conn.execute(select(resources.c.id).where(resources.c.id == "t_2")).scalar())

    db.read_transaction(read)
    assert seen == ["t_1", pq.TransactionStatus.IDLE, "t_2"]


def test_a_write_in_a_read_unit_fails_and_leaves_nothing(runtime: Runtime) -> None:
    def sneaky(conn: Connection) -> None:
        conn.execute(insert(resources), [_row("t_w")])

    with pytest.raises(DBAPIError, match="read-only transaction"):
        runtime.db.read_transaction(sneaky)
    with pytest.raises(DBAPIError, match="read-only transaction"):
        runtime.db.read_transaction(lambda conn: conn.execute(text("UPDATE clock SET now = now + 1")))
    ids = select(resources.c.id).where(resources.c.id == "t_w")
    assert runtime.db.transaction(lambda conn: conn.execute(ids).first()) is None
    # the writing units are not read only
    runtime.db.transaction(sneaky)


def test_read_units_share_the_writing_units_caches(runtime: Runtime) -> None:
    db = runtime.db
    assert db.read_engine is not db.engine
    assert db.engines == (db.engine, db.read_engine)
    written = db.transaction(lambda conn: engine_cache(conn, "a_cache"))
    written["k"] = "v"  # what a writing unit caches (e.g. an account's standing) a read unit sees
    assert db.read_transaction(lambda conn: engine_cache(conn, "a_cache")) is written
