"""store/among.py: `among(column, "name")` matches the rows whose column is one of the list given, on
both stores, for every length of the list (none included); on PostgreSQL the statement's text is the
same whatever the length (one array parameter), so the driver can keep it parsed and prepared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, insert, select

from payoutkit.runtime import Runtime
from payoutkit.store.among import among
from payoutkit.store.schema import resources
from tests.conftest import CLOCK_START

_BY_IDS = select(resources.c.id).where(among(resources.c.id, "ids"), resources.c.object == "test_thing")


def _row(rid: str) -> dict[str, Any]:
    return {"id": rid, "object": "test_thing", "account_id": "acct_x", "livemode": False,
            "created": CLOCK_START, "parent_id": None, "status": None, "data": {"id": rid}}  # fmt: skip


def test_among_matches_exactly_the_listed_rows(runtime: Runtime) -> None:
    runtime.db.transaction(lambda conn: conn.execute(insert(resources), [_row(f"t_{i}") for i in range(400)]))
    texts: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if "test_thing" in statement or "object" in statement:
            texts.append(statement)

    event.listen(runtime.db.engine, "before_cursor_execute", before)
    wanted_lists: list[Any] = [
        [],
        ["t_7"],
        ["t_1", "t_3", "t_1"],  # a repeat matches once
        [f"t_{i}" for i in range(0, 400, 2)] + ["nope"],  # 201 values, one of no row
        ("t_5", "t_6"),  # any iterable: a tuple
        {"t_8", "t_9"},  # a set
    ]
    for wanted in wanted_lists:

        def read(conn: Connection, wanted: Any = wanted) -> set[str]:
            return {r[0] for r in conn.execute(_BY_IDS, {"ids": wanted})}

        assert runtime.db.transaction(read) == {w for w in wanted if w != "nope"}, wanted
    if runtime.db.engine.dialect.name == "postgresql":
        assert len(texts) == len(wanted_lists)
        assert len(set(texts)) == 1  # one text for every length
        assert "ANY" in texts[0]
