"""Lists on the wire: the parameters (`limit`, cursors, `created`), and `{object: "list", data, has_more,
url}` rendered from a page (payoutkit/lists.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import Field

from payoutkit import lists
from payoutkit.api.params import Int, Nested, Params
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
