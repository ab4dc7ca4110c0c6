"""The front door's route table (api/front.py): it answers exactly what Starlette's router would.

The table is checked against the router itself on every route the app has: for each route and each
method, on a path made from the route's (parameters filled in), and on paths that must go to the
router (the unserved `/v1/charges/search`, a parameter holding `search`, a trailing slash, an empty
segment, a method a route does not take). Over real HTTP, on both stores: what the router answers
(404, 405, an invalid `Stripe-Version`) has Stripe's envelope as before, and a routed answer carries
exactly one `Stripe-Version`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Match, Route

from payoutkit.api.embedded.routes import routes as embedded_routes
from payoutkit.api.front import RouteTable
from payoutkit.api.routes import routes as v1_routes
from payoutkit.api.static import routes as static_routes
from payoutkit.api.wire import Endpoint
from tests.support.server import RunningServer

ROUTES: list[BaseRoute] = [*v1_routes, *embedded_routes, *static_routes]
METHODS = ("GET", "POST", "DELETE", "HEAD", "PUT", "OPTIONS")
PARAM = re.compile(r"\{[^}]+\}")


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _router(scope: dict[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """What Starlette's router runs for `scope`: the first route that matches fully, its params."""
    for route in ROUTES:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "app", None), child.get("path_params", {})
    return None


def _paths() -> list[str]:
    paths = []
    for route in ROUTES:
        if isinstance(route, Route):
            paths.append(PARAM.sub("x_1", route.path))
            paths.append(PARAM.sub("search", route.path))
            paths.append(PARAM.sub("x_1", route.path) + "/")
            paths.append(PARAM.sub("", route.path))
    return [*paths, "/v1/charges/search", "/v1/a/b/search", "/v1/", "/v1", "/v1//balance", "/v1/nothing"]


@pytest.mark.parametrize("path", _paths())
def test_the_table_runs_what_the_router_runs(path: str) -> None:
    table = RouteTable(ROUTES)
    for method in METHODS:
        scope = _scope(method, path)
        found = table.match(scope)
        routed = _router(scope)
        if found is None:
            # Given way to the router: never for a v1 endpoint the router would run.
            missed = routed is not None and isinstance(routed[0], Endpoint) and path.startswith("/v1/")
            assert not missed, (method, path)
            continue
        assert routed is not None, (method, path)
        assert found[0] is routed[0], (method, path)
        assert found[1] == routed[1], (method, path)


def test_every_v1_endpoint_route_is_in_the_table() -> None:
    table = RouteTable(ROUTES)
    for route in v1_routes:
        if not isinstance(route, Route) or not isinstance(route.app, Endpoint):
            continue
        for method in route.methods or ():
            found = table.match(_scope(method, PARAM.sub("x_1", route.path)))
            assert found is not None, (method, route.path)
            assert found[0] is route.app, (method, route.path)


def test_unknown_urls_and_methods_answer_as_before(server: RunningServer, http: httpx.Client) -> None:
    unknown = http.get("/v1/nothing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "invalid_request_error"
    assert "Unrecognized request URL" in unknown.json()["error"]["message"]
    assert unknown.headers["request-id"].startswith("req_")
    search = http.get("/v1/charges/search")
    assert search.status_code == 404
    assert "Unrecognized request URL" in search.json()["error"]["message"]
    slash = http.get("/v1/balance/")
    assert slash.status_code == 404
    wrong = http.delete("/v1/balance")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_stripe_version_checked_and_answered_once(server: RunningServer, http: httpx.Client) -> None:
    plain = http.get("/v1/balance")
    assert plain.status_code == 200
    assert len(plain.headers.get_list("stripe-version")) == 1
    asked = http.get("/v1/balance", headers={"Stripe-Version": "2024-06-20"})
    assert asked.headers.get_list("stripe-version") == ["2024-06-20"]
    assert asked.headers["content-type"] == "application/json"
    assert int(asked.headers["content-length"]) == len(asked.content)
    bad = http.get("/v1/balance", headers={"Stripe-Version": "2024-02-30"})
    assert bad.status_code == 400
    assert "Invalid Stripe API version" in bad.json()["error"]["message"]
    missing = http.get("/v1/payouts/po_doesnotexist", headers={"Stripe-Version": "2024-06-20"})
    assert missing.status_code == 404
    assert missing.headers.get_list("stripe-version") == ["2024-06-20"]
