"""Driving the components in the host page: open the page, initialize connect.js, mount a component,
format money as the page's `Intl` does, and claim a session outside the page for the embedded API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from playwright.sync_api import Locator, Page

from tests.browser.host import Host

T = TypeVar("T")

TAGS = {
    "balances": "stripe-connect-balances",
    "payouts": "stripe-connect-payouts",
    "payouts-list": "stripe-connect-payouts-list",
    "payout-details": "stripe-connect-payout-details",
}


def open_host(page: Page, host: Host, account: str, *, npm: bool = False, **init: Any) -> None:
    """Load the platform's page for `account` and call loadConnectAndInitialize with `init`."""
    host.account = account
    page.goto(host.url + ("/npm" if npm else "/"))
    if npm:
        page.wait_for_function("window.hostReady === true")
    page.evaluate("options => host.init(options)", init)


def mount(page: Page, component: str, *, payout: str | None = None) -> Locator:
    """instance.create(component) appended to the page; returns its element."""
    options = {"payout": payout} if payout else {}
    tag = page.evaluate("([c, o]) => host.mount(c, o)", [component, options])
    assert tag == TAGS[component]
    return page.locator(tag)


def money(page: Page, amount: int, currency: str = "usd", locale: str = "en-US") -> str:
    """`amount` (minor units) as the browser's Intl formats it, e.g. "$100.00"."""
    text: str = page.evaluate(
        """([amount, currency, locale]) => {
            const options = {style: "currency", currency: currency.toUpperCase()};
            const format = new Intl.NumberFormat(locale, options);
            const digits = format.resolvedOptions().maximumFractionDigits;
            return format.format(amount / 10 ** digits);
        }""",
        [amount, currency, locale],
    )
    return text


def figure(element: Locator, name: str, currency: str = "usd") -> Locator:
    """One figure of a balances card (`data-figure`: total, available, pending, in_transit, ...)."""
    return element.locator(f"[data-currency='{currency}'] [data-figure='{name}']")


def pay_out_dialog(page: Page) -> Locator:
    page.get_by_role("button", name="Pay out", exact=True).click()
    dialog = page.get_by_role("dialog", name="Pay out")
    dialog.wait_for(state="visible")
    return dialog


def claim(host: Host, payoutkit_url: str) -> dict[str, Any]:
    """A fresh client secret from the platform's backend, claimed for an embedded token, outside the
    page: what a script holding the page's secret could do with it."""
    secret = httpx.post(host.url + "/session", trust_env=False, timeout=30).json()["client_secret"]
    response = httpx.post(
        payoutkit_url + "/embedded/v1/claim",
        json={"client_secret": secret, "publishable_key": host.publishable_key},
        trust_env=False,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    claimed: dict[str, Any] = response.json()
    return claimed


def embedded(
    payoutkit_url: str, token: str, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    return httpx.request(
        method,
        payoutkit_url + "/embedded/v1" + path,
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        trust_env=False,
        timeout=30,
    )


def eventually(page: Page, check: Callable[[], T], *, timeout: float = 10.0) -> T:
    """`check()`'s first truthy answer within `timeout` seconds (what the page did reaches the server
    asynchronously); fails with the last answer otherwise. It waits with `page.wait_for_timeout`, not
    `time.sleep`: Playwright runs the page's routes (the loopback guard) only while the test is in one of
    its calls, so a sleeping test would hold the page's requests back."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            assert answer, f"not so within {timeout}s: last answer {answer!r}"
            return answer
        page.wait_for_timeout(100)
