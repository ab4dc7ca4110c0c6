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


def test_the_page_may_claim_cross_origin_but_never_read_v1(
    payoutkit: Payoutkit, host: Host, page: Page
) -> None:
    """CORS as the browser enforces it: the host page's origin (loopback, test mode) may call the
    embedded API; `/v1/...` answers no cross-origin request, whatever key the page holds."""
    seeded = connected_account(payoutkit, charges=())
    host.account = seeded.account
    page.goto(host.url)
    claimed = page.evaluate(
        """async ([payoutkit, publishable]) => {
            const secret = (await (await fetch("/session", {method: "POST"})).json()).client_secret;
            const response = await fetch(payoutkit + "/embedded/v1/claim", {
                method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({client_secret: secret, publishable_key: publishable}),
            });
            return {status: response.status, body: await response.json()};
        }""",
        [payoutkit.url, host.publishable_key],
    )
    assert claimed["status"] == 200, claimed
    assert claimed["body"]["account"] == seeded.account
    assert claimed["body"]["token"].startswith("ekt_")
    refused = page.evaluate(
        """async ([payoutkit, key]) => {
            try {
                await fetch(payoutkit + "/v1/balance", {headers: {Authorization: "Bearer " + key}});
                return "read";
            } catch (error) { return "blocked: " + error.name; }
        }""",
        [payoutkit.url, host.secret_key],
    )
    assert refused == "blocked: TypeError"
