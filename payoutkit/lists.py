"""Lists, in every layer: a window onto the newest-first order of a kind of object, and a page.

The wire layer builds a `Window` from `limit`, `starting_after`, `ending_before` and `created`
(`api/listing.py`); `window()` checks it by Stripe's rules; a store list function returns a `Page` of
rows, which the use case turns into records and the wire layer renders as `{"object": "list", …}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from payoutkit.errors import InvalidRequest

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Range:
    """A range filter (`created[gte]=…`): every bound that is given must hold; `eq` an exact value."""

    eq: int | None = None
    gt: int | None = None
    gte: int | None = None
    lt: int | None = None
    lte: int | None = None


@dataclass(frozen=True)
class Window:
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created: Range | None = None


def window(
    limit: int = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
    created: Range | None = None,
) -> Window:
    if not 1 <= limit <= 100:
        raise InvalidRequest(
            "Invalid limit: must be between 1 and 100", param="limit", code="parameter_invalid_integer"
        )
    if starting_after and ending_before:
        raise InvalidRequest(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    return Window(limit, starting_after, ending_before, created)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, in the order it is shown (newest first), and whether more follow."""

    items: list[T]
    has_more: bool

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        return Page([fn(item) for item in self.items], self.has_more)
