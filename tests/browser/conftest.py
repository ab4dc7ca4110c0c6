"""Browser fixtures: Debian's Chromium under Playwright, `payoutkit serve` as a real process, and the
platform's own site on another loopback origin (tests/browser/host.py).

    chromium_path (session)   /usr/bin/chromium: a missing browser FAILS the test (never a skip)
    browser (session)         headless Chromium, launched by path: Playwright never downloads a browser
    payoutkit                 `payoutkit serve --simulated-clock` on a fresh SQLite file, known test keys
    host                      the platform's site: its page loads <payoutkit>/v1.0/connect.js
    page                      a fresh browser context and page on the host; only loopback is reachable;
                              a screenshot of the page is kept in .artifacts/screenshots/ at the end
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import stripe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Route,
    expect,
    sync_playwright,
)

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.browser.host import REPO, Host, serve_host
from tests.conftest import PUBLISHABLE_KEY, SECRET_KEY
from tests.support import databases
from tests.support.process import clean_env, serve_process

SCREENSHOTS = REPO / ".artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
# Two cores shared by the whole suite: give the page time (the components answer in well under a second
# when the machine is idle).
expect.set_options(timeout=15_000)
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# A page stuck in a loop never answers page.evaluate (which has no timeout of its own): each browser
# test gets this many seconds, then fails instead of hanging the suite.
TEST_DEADLINE = 600


def _deadline(signum: int, frame: object) -> None:
    raise TimeoutError(f"the browser test ran past {TEST_DEADLINE}s (a page stuck in a loop?)")


@pytest.fixture(autouse=True)
def deadline() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(TEST_DEADLINE)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium (the browser tests need it)"
        )
    return CHROMIUM


# Per module, not per session: while Playwright's sync API runs, its event loop is the thread's running
# loop, and a later test's asyncio.run() (tests/api/test_embedded_api.py) would be refused.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: Path) -> Iterator[Browser]:
    # launch() gives every run a fresh temporary profile, removed on close.
    launched = playwright.chromium.launch(
        executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


# -- Payoutkit and the platform -----------------------------------------------------------------------


@dataclass
class Payoutkit:
    """`payoutkit serve` on loopback and the platform's clients for it: the SDK and raw HTTP."""

    url: str
    client: stripe.StripeClient
    http: httpx.Client
    log: Path

    def advance(self, seconds: int) -> int:
        response = self.http.post("/v1/test_helpers/clock/advance", data={"seconds": seconds})
        assert response.status_code == 200, response.text
        now: int = response.json()["now"]
        return now

    def now(self) -> int:
        response = self.http.get("/v1/test_helpers/clock")
        assert response.status_code == 200, response.text
        now: int = response.json()["now"]
        return now

    def set_instant_pricing(self, currency: str = "usd", **entry: Any) -> None:
        data = {f"currencies[{currency}][{k}]": v for k, v in entry.items()}
        response = self.http.post("/v1/payoutkit/instant_payout_pricing", data=data)
        assert response.status_code == 200, response.text


@pytest.fixture
def payoutkit(sqlite_template: Path, tmp_path: Path) -> Iterator[Payoutkit]:
    database_url = databases.copy_sqlite_template(sqlite_template, tmp_path)
    env = clean_env(PAYOUTKIT_SECRET_KEY=SECRET_KEY, PAYOUTKIT_PUBLISHABLE_KEY=PUBLISHABLE_KEY)
    log = tmp_path / "payoutkit.log"
    session = requests.Session()
    session.trust_env = False
    with (
        serve_process(database_url, log, env=env, args=("--simulated-clock",)) as (url, _proc),
        httpx.Client(base_url=url, auth=(SECRET_KEY, ""), trust_env=False, timeout=60) as http,
    ):
        client = stripe.StripeClient(
            api_key=SECRET_KEY,
            base_addresses={"api": url, "connect": url, "files": url},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session),
        )
        yield Payoutkit(url=url, client=client, http=http, log=log)
    session.close()


CONNECT_JS = REPO / "payoutkit" / "static" / "connect.js"


@pytest.fixture
def host(payoutkit: Payoutkit) -> Iterator[Host]:
    if not CONNECT_JS.is_file():
        pytest.fail(f"{CONNECT_JS} is missing: `make connect` (or `make test`) builds it from connect/")
    with serve_host(
        Host(payoutkit=payoutkit.url, secret_key=SECRET_KEY, publishable_key=PUBLISHABLE_KEY)
    ) as h:
        yield h


# -- the page -----------------------------------------------------------------------------------------


@dataclass
class PageLog:
    """What the page said and asked for: console errors, failed requests, blocked outside requests."""

    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"console: {self.console}\npage errors: {self.page_errors}\nblocked: {self.blocked}"


def _guard_loopback(context: BrowserContext, log: PageLog) -> None:
    """Tests only reach 127.0.0.1: any other request is aborted and recorded."""

    def route(route: Route, request: Request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            log.blocked.append(request.url)
            route.abort()

    context.route("**/*", route)


def _artifact_name(node: pytest.Item) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", node.nodeid.split("::", 1)[-1])


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def context(browser: Browser, page_log: PageLog) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    ctx.set_default_timeout(10_000)
    _guard_loopback(ctx, page_log)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, page_log: PageLog, request: pytest.FixtureRequest) -> Iterator[Page]:
    p = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            page_log.console.append(f"{message.type}: {message.text}")

    p.on("console", on_console)
    p.on("pageerror", lambda error: page_log.page_errors.append(str(error)))
    yield p
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        p.screenshot(path=str(SCREENSHOTS / f"{_artifact_name(request.node)}--end.png"), full_page=True)
    except Exception as exc:  # a page that crashed still lets the test report its own failure
        page_log.console.append(f"(no final screenshot: {exc})")


def screenshot(page: Page, request: pytest.FixtureRequest, step: str) -> Path:
    """Keep a screenshot of `page` at `step` of the running test, in .artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_artifact_name(request.node)}--{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
