"""The browser harness itself: Debian's Chromium under Playwright, `payoutkit serve`, the platform's
site on another origin creating account sessions through the SDK, and the seeded money."""

from __future__ import annotations

from playwright.sync_api import Browser, Page

from tests.browser.conftest import CHROMIUM, Payoutkit
from tests.browser.host import Host
from tests.browser.seed import available, balance, connected_account


def test_the_browser_is_debians_chromium(browser: Browser) -> None:
    assert CHROMIUM.is_file()
    assert browser.version.split(".")[0].isdigit()


def test_the_host_page_is_another_origin_that_loads_connect_js(host: Host, page: Page) -> None:
    assert host.url != host.payoutkit
    page.goto(host.url)
    assert page.get_by_role("heading", name="Platform dashboard").is_visible()
    src = page.locator("script[src$='/v1.0/connect.js']").get_attribute("src")
    assert src == f"{host.payoutkit}/v1.0/connect.js"


def test_a_seeded_account_has_available_and_pending_funds(payoutkit: Payoutkit) -> None:
    seeded = connected_account(payoutkit, charges=(10_000,), pending=(2_500,))
    assert available(payoutkit, seeded.account) == 10_000
    [pending] = balance(payoutkit, seeded.account)["pending"]
    assert pending["amount"] == 2_500
