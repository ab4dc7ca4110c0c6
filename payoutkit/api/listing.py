"""Lists on the wire: the parameters (`limit`, cursors, `created`), and `{object: "list", data, has_more,
url}` rendered from a page (payoutkit/lists.py). `page()` is transitional (issue 8), for the services
not yet moved onto store list functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import Field
from sqlalchemy import ColumnElement, Connection, Table, and_, select

from payoutkit import lists
from payoutkit.api.params import Int, Nested, Params
from payoutkit.errors import InvalidRequest, ResourceMissing
from payoutkit.lists import Page, Window, window

T = TypeVar("T")


class Range(Nested):
    gt: Int | None = None
    gte: Int | None = None
    lt: Int | None = None
    lte: Int | None = None


class ListParams(Params):
    limit: Int = Field(default=10)
    starting_after: str | None = None
    ending_before: str | None = None
    created: Int | Range | None = None


def range_filter(column: Any, value: int | Range | None) -> list[ColumnElement[bool]]:
    if value is None:
        return []
    if isinstance(value, int):
        return [column == value]
    conds = []
    if value.gt is not None:
        conds.append(column > value.gt)
    if value.gte is not None:
        conds.append(column >= value.gte)
    if value.lt is not None:
        conds.append(column < value.lt)
    if value.lte is not None:
        conds.append(column <= value.lte)
    return conds


def window_of(params: ListParams) -> Window:
    """The list window a request asks for (checked: limit 1 to 100, one cursor at most)."""
    return window(params.limit, params.starting_after, params.ending_before, range_of(params.created))


def range_of(value: int | Range | None) -> lists.Range | None:
    if value is None:
        return None
    if isinstance(value, int):
        return lists.Range(eq=value)
    return lists.Range(gt=value.gt, gte=value.gte, lt=value.lt, lte=value.lte)


def render_page(found: Page[T], url: str, render: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    data = [render(x) for x in found.items]
    return {"object": "list", "data": data, "has_more": found.has_more, "url": url}


def page(
    conn: Connection,
    table: Table,
    where: Sequence[ColumnElement[bool]],
    params: ListParams,
    url: str,
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    if not 1 <= params.limit <= 100:
        raise InvalidRequest(
            "Invalid limit: must be between 1 and 100", param="limit", code="parameter_invalid_integer"
        )
    if params.starting_after and params.ending_before:
        raise InvalidRequest(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    conds = list(where) + range_filter(table.c.created, params.created)
    cursor = params.starting_after or params.ending_before
    if cursor:
        seq = conn.execute(select(table.c.seq).where(and_(*where, table.c.id == cursor))).scalar()
        if seq is None:
            param = "starting_after" if params.starting_after else "ending_before"
            raise ResourceMissing(f"No such object: '{cursor}'", param=param)
        conds.append(table.c.seq < seq if params.starting_after else table.c.seq > seq)
    order = table.c.seq.asc() if params.ending_before else table.c.seq.desc()
    rows = conn.execute(select(table).where(and_(*conds)).order_by(order).limit(params.limit + 1)).all()
    has_more = len(rows) > params.limit
    rows = list(rows[: params.limit])
    if params.ending_before:
        rows.reverse()
    return {"object": "list", "data": [render(r) for r in rows], "has_more": has_more, "url": url}
