"""One page of a table's rows, newest first, by cursor on `seq` (the store's list functions use it).

The WHERE of a list varies with the filters a request gives, so it is composed per call; everything
else (the cursor lookup, the order, the limit) is the same for every list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, and_, select

from payoutkit.errors import ResourceMissing
from payoutkit.lists import Page, Range, Window


def range_filter(column: Any, value: Range | None) -> list[ColumnElement[bool]]:
    if value is None:
        return []
    conds = []
    if value.eq is not None:
        conds.append(column == value.eq)
    if value.gt is not None:
        conds.append(column > value.gt)
    if value.gte is not None:
        conds.append(column >= value.gte)
    if value.lt is not None:
        conds.append(column < value.lt)
    if value.lte is not None:
        conds.append(column <= value.lte)
    return conds


def page(
    conn: Connection, table: Table, where: Sequence[ColumnElement[bool]], window: Window
) -> Page[Row[Any]]:
    """The rows of `table` matching `where` in the window. A cursor must match `where` too (else 404)."""
    conds = list(where) + range_filter(table.c.created, window.created)
    cursor = window.starting_after or window.ending_before
    if cursor:
        seq = conn.execute(select(table.c.seq).where(and_(*where, table.c.id == cursor))).scalar()
        if seq is None:
            param = "starting_after" if window.starting_after else "ending_before"
            raise ResourceMissing(f"No such object: '{cursor}'", param=param)
        conds.append(table.c.seq < seq if window.starting_after else table.c.seq > seq)
    order = table.c.seq.asc() if window.ending_before else table.c.seq.desc()
    rows = conn.execute(select(table).where(and_(*conds)).order_by(order).limit(window.limit + 1)).all()
    has_more = len(rows) > window.limit
    rows = list(rows[: window.limit])
    if window.ending_before:
        rows.reverse()
    return Page(rows, has_more)
