"""Suite-wide fixtures: databases on both stores, the real server on real HTTP, and clients for it.

    pg_cluster (session)                 a throwaway PostgreSQL server (devtools/pg.py)
    database_url [sqlite|postgresql]     a fresh database migrated to head, per test
    base_settings -> server_settings     the app's Settings; override `server_settings` to customise
    server                               create_app(settings) under uvicorn on 127.0.0.1
    stripe_client / stripe_module / http the official SDK (both styles) and a raw httpx client

Everything the app needs is imported inside the fixtures, so tests that need no app (the pure
ledger, tests/support) run even while the app does not import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from devtools.pg import PostgresCluster
from tests.support import databases
from tests.support.server import RunningServer, loopback_socket, serve_in_thread

if TYPE_CHECKING:
    import stripe

    from payoutkit.config import Settings

# CI runs the same Hypothesis examples every time (a landing is never decided by a lucky draw);
# developers' runs keep exploring new ones, and print how to reproduce what they find. Neither has a
# deadline: Hypothesis's default (200 ms per example) is a timing assertion, and on a loaded machine a
# correct example can take longer (a pure ledger test failed so under load in the seventh session).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
hypothesis_settings.register_profile("dev", print_blob=True, deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")

# 2026-01-01T10:00:00Z, a Thursday: the simulated clock starts here in every test.
CLOCK_START = 1767261600
SECRET_KEY = "sk_test_" + "payoutkitTestSecret00001"
PUBLISHABLE_KEY = "pk_test_" + "payoutkitTestPublic00001"
LIVE_SECRET_KEY = "sk_live_" + "payoutkitLiveSecret00001"
LIVE_PUBLISHABLE_KEY = "pk_live_" + "payoutkitLivePublic00001"


# -- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.build_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PostgresCluster) -> str:
    return databases.build_pg_template(pg_cluster)


@pytest.fixture(params=databases.BACKENDS, ids=databases.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database migrated to head, on each store in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        yield databases.copy_sqlite_template(template, tmp_path)
        return
    # Only PostgreSQL tests start the cluster, so `-k sqlite` runs need no PostgreSQL.
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = databases.create_pg_database(cluster, request.getfixturevalue("pg_template"))
    yield cluster.url(name)
    cluster.drop_database(name)


# -- the server -------------------------------------------------------------------------------


@pytest.fixture
def base_settings(database_url: str) -> Settings:
    from payoutkit.config import Settings

    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        publishable_key=PUBLISHABLE_KEY,
        live_secret_key=LIVE_SECRET_KEY,
        live_publishable_key=LIVE_PUBLISHABLE_KEY,
        simulated_clock=True,
        simulated_clock_start=CLOCK_START,
        worker=False,
    )


@pytest.fixture
def server_settings(request: pytest.FixtureRequest, base_settings: Settings) -> Settings:
    """The settings `server` runs with. Customise by overriding this fixture in a module:

        @pytest.fixture
        def server_settings(base_settings): return replace(base_settings, worker=True)

    or per test with indirect parametrization over a dict of overrides:

        @pytest.mark.parametrize("server_settings", [{"worker": True}], indirect=True)
    """
    overrides: dict[str, Any] = getattr(request, "param", {})
    return replace(base_settings, **overrides)


@pytest.fixture
def server(server_settings: Settings) -> Iterator[RunningServer]:
    from payoutkit.api.app import create_app

    with loopback_socket(server_settings.host) as sock:
        settings = replace(server_settings, port=sock.getsockname()[1])
        app = create_app(settings)
        with serve_in_thread(app, sock) as url:
            yield RunningServer(url=url, settings=settings, runtime=app.state.payoutkit)


# -- clients ----------------------------------------------------------------------------------


def _secret_key(server: RunningServer) -> str:
    assert server.settings.secret_key is not None
    return server.settings.secret_key


def _sdk_http_client() -> tuple[stripe.HTTPClient, Any]:
    """The SDK's default HTTP client (requests), on a session that ignores proxy variables, so that
    calls to loopback never leave the machine. Returns the client and the session to close."""
    import requests
    import stripe

    session = requests.Session()
    session.trust_env = False
    return stripe.RequestsClient(session=session), session


@pytest.fixture
def stripe_client(server: RunningServer) -> Iterator[stripe.StripeClient]:
    """The official SDK's client object, pointed at our server."""
    import stripe

    http_client, session = _sdk_http_client()
    client = stripe.StripeClient(
        api_key=_secret_key(server),
        base_addresses={"api": server.url, "connect": server.url, "files": server.url},
        max_network_retries=0,
        http_client=http_client,
    )
    yield client
    session.close()


_STRIPE_GLOBALS = ("api_key", "api_base", "max_network_retries", "default_http_client")


@pytest.fixture
def stripe_module(server: RunningServer) -> Iterator[Any]:
    """The SDK's legacy global style (`stripe.api_key = ...; stripe.Balance.retrieve()`),
    configured for our server; the module's globals are restored afterwards."""
    import stripe

    saved = {name: getattr(stripe, name) for name in _STRIPE_GLOBALS if hasattr(stripe, name)}
    http_client, session = _sdk_http_client()
    stripe.api_key = _secret_key(server)
    stripe.api_base = server.url
    stripe.max_network_retries = 0
    stripe.default_http_client = http_client
    try:
        yield stripe
    finally:
        for name, value in saved.items():
            setattr(stripe, name, value)
        session.close()


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    """A raw HTTP client authenticated with the platform's secret key, for wire-level tests."""
    with httpx.Client(
        base_url=server.url, auth=(_secret_key(server), ""), trust_env=False, timeout=30
    ) as client:
        yield client
