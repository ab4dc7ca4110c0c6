"""The front door: the v1 API's requests routed by a table, straight to their endpoint.

Starlette's router tries every route's regular expression in turn, and each request then passes
through four middleware layers (errors, the embedded API's CORS, `Stripe-Version`, exceptions) that a
v1 request needs only one of. `Front` answers what it can by a table instead: the routes of
`api/wire.py` endpoints whose path parameters are plain segments (`{id}`), indexed by method and
number of segments, tried in the router's order; the `Stripe-Version` is checked here (the same
`is_valid`), and the endpoint writes it on its answer.

What the table answers is exactly what the router would: the first route (in the router's order)
that matches path and method. It gives way to the router, which answers as before, whenever that is
not certain: a path no route of the table takes with this method (404, 405), a route the table leaves
out that comes earlier and matches (`/v1/{collection:path}/search`), a `Stripe-Version` to refuse, a
`root_path`, anything but `/v1/`. The embedded API and static files always go through the router and
its middleware (CORS is theirs).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.convertors import StringConvertor
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from payoutkit.api.version import is_valid
from payoutkit.api.wire import Endpoint
from payoutkit.services.events import API_VERSION

PREFIX = "/v1/"
DEFAULT_VERSION = API_VERSION.encode("latin-1")


@dataclass(frozen=True)
class Entry:
    """A route of the table: its segments (None: a parameter's) and endpoint."""

    segments: tuple[str | None, ...]
    names: tuple[str, ...]  # the parameters' names, in order
    endpoint: Endpoint
    # The routes the table leaves out that come before this one: if one of them matches, it wins.
    earlier: tuple[BaseRoute, ...]

    def params(self, parts: list[str]) -> dict[str, str] | None:
        """The path parameters of `parts` (the path's segments), or None when it does not match."""
        found: dict[str, str] = {}
        names = iter(self.names)
        for want, part in zip(self.segments, parts, strict=True):
            if want is None:
                if not part:  # Starlette's `str` convertor: one or more characters but `/`
                    return None
                found[next(names)] = part
            elif want != part:
                return None
        return found


def _segments(route: Route) -> tuple[tuple[str | None, ...], tuple[str, ...]] | None:
    """The segments of a route's path, or None when the table cannot take it (a `:path` parameter)."""
    if not route.path.startswith(PREFIX):
        return None
    if any(type(c) is not StringConvertor for c in route.param_convertors.values()):
        return None
    segments: list[str | None] = []
    names: list[str] = []
    for part in route.path.split("/")[1:]:
        if part.startswith("{") and part.endswith("}") and ":" not in part:
            segments.append(None)
            names.append(part[1:-1])
        elif "{" in part or "}" in part:
            return None
        else:
            segments.append(part)
    return tuple(segments), tuple(names)


def _earlier_matches(route: BaseRoute, scope: Scope) -> bool:
    """Whether the router would run `route` for this request: its path's regular expression first
    (a path it does not match is `Match.NONE` for a `Route`), then the router's own test."""
    if isinstance(route, Route) and route.path_regex.match(scope["path"]) is None:
        return False
    return route.matches(scope)[0] is Match.FULL


class RouteTable:
    """The table of `routes` (a router's list, in its order) that `Front` routes by."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.table: dict[tuple[str, int], list[Entry]] = {}
        others: list[BaseRoute] = []  # the routes the table leaves out, so far
        for route in routes:
            shape = _segments(route) if isinstance(route, Route) else None
            if shape is None or not isinstance(route, Route) or not isinstance(route.app, Endpoint):
                others.append(route)
                continue
            entry = Entry(shape[0], shape[1], route.app, tuple(others))
            for method in route.methods or ():
                self.table.setdefault((method, len(shape[0])), []).append(entry)
        # The same entries by method, number of segments and second segment (the collection: `payouts`
        # of `/v1/payouts/{id}`), each list in the table's order with the entries whose second segment
        # is a parameter; `others`: those alone, for a second segment no entry names.
        self.by_name: dict[tuple[str, int, str], list[Entry]] = {}
        self.others: dict[tuple[str, int], list[Entry]] = {}
        for (method, n), entries in self.table.items():
            if n < 2:
                self.others[method, n] = entries
                continue
            for name in {e.segments[1] for e in entries if e.segments[1] is not None}:
                self.by_name[method, n, name] = [e for e in entries if e.segments[1] in (name, None)]
            self.others[method, n] = [e for e in entries if e.segments[1] is None]

    def match(self, scope: Scope) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint and path parameters the router would run for this request, if the table
        knows it; None: ask the router."""
        parts = scope["path"].split("/")[1:]
        method, n = scope["method"], len(parts)
        entries = self.by_name.get((method, n, parts[1])) if n > 1 else None
        for entry in self.others.get((method, n), ()) if entries is None else entries:
            params = entry.params(parts)
            if params is not None:
                for route in entry.earlier:
                    if _earlier_matches(route, scope):
                        return None
                return entry.endpoint, params
        return None


def version_of(scope: Scope) -> bytes | None:
    """The `Stripe-Version` to answer with, or None when the header is one to refuse."""
    asked = next((v for k, v in scope["headers"] if k == b"stripe-version"), b"")
    if not asked:
        return DEFAULT_VERSION
    return asked if is_valid(asked.decode("latin-1")) else None
