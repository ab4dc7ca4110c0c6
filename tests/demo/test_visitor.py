"""A visitor walks the demo in Debian's Chromium: picks an account, charges it from the platform's
console, moves the clock, sees the balance move in the components without a reload, pays out from the
component and sees the webhooks arrive. The walk's last screen is README's screenshot (docs/demo.png).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.demo.conftest import Demo

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "demo.png"
expect.set_options(timeout=30_000)  # two cores shared by the suite


@pytest.fixture
def page(browser: Any, demo: Demo) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Only loopback: the demo and Payoutkit.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == []


def figure(page: Page, name: str, currency: str = "usd") -> Locator:
    return page.locator(f"[data-currency='{currency}'] [data-figure='{name}']").first


def console_says(page: Page, pattern: str) -> None:
    expect(page.locator("#console-result")).to_have_text(re.compile(pattern))


def test_a_visitor_charges_moves_the_clock_pays_out_and_sees_the_webhooks(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/")
    expect(page.get_by_role("heading", name="Connected accounts")).to_be_visible()
    page.get_by_role("link", name=re.compile("Maple Courier")).click()
    expect(page.get_by_role("heading", name="Maple Courier")).to_be_visible()
    # The payouts component: the balance summary and the payouts the seed made.
    expect(page.get_by_role("table", name="Payouts")).to_be_visible()
    total = figure(page, "total")
    expect(total).to_have_text(re.compile(r"\$"))
    before = total.inner_text()

    # A charge from the console: the balance moves in the component, no reload.
    page.locator("#charge-form [name=amount]").fill("25000")
    page.get_by_role("button", name="Charge", exact=True).click()
    console_says(page, r"Charge ch_\w+: 25000 usd succeeded")
    expect(total).not_to_have_text(before)
    log = page.get_by_role("list", name="Webhook events")
    expect(log.locator("li[data-type='charge.succeeded']").first).to_be_visible()

    # Two days on the clock: the charge's funds settle into available.
    available = figure(page, "available")
    expect(available).to_have_text(re.compile(r"\$"))
    settled_before = available.inner_text()
    for _ in range(4):
        page.get_by_role("button", name="+1 day").click()
        console_says(page, r"Clock: ")
        page.wait_for_timeout(500)
        if figure(page, "available").inner_text() != settled_before:
            break
    expect(available).not_to_have_text(settled_before)
    expect(log.locator("li[data-type='balance.available']").first).to_be_visible()

    # The seller pays itself out from the component: an instant payout to its debit card.
    page.get_by_role("button", name="Pay out", exact=True).click()
    dialog = page.get_by_role("dialog", name="Pay out")
    dialog.get_by_role("radio", name="Instant").check()
    dialog.get_by_role("textbox", name="Amount").fill("50.00")
    expect(dialog.locator("[data-figure='fee']")).to_have_text(re.compile(r"\$"))
    dialog.get_by_role("button", name="Confirm payout").click()
    expect(dialog.get_by_role("status")).to_contain_text("$50.00")
    page.keyboard.press("Escape")
    first_row = page.get_by_role("table", name="Payouts").get_by_role("row").nth(1)
    expect(first_row).to_contain_text("$50.00")
    expect(log.locator("li.mine[data-type='payout.created']").first).to_contain_text("$50.00")

    # An instant payout arrives within the hour: the clock moves it to paid, in the list and the log.
    page.get_by_role("button", name="+1 hour").click()
    console_says(page, r"Clock: ")
    expect(first_row).to_contain_text("Paid")
    expect(log.locator("li.mine[data-type='payout.paid']").first).to_contain_text("$50.00")
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOT), full_page=False)


def test_the_switches_reconfigure_the_session_and_the_looks(page: Page, demo: Demo) -> None:
    page.goto(demo.url + "/")
    page.get_by_role("link", name=re.compile("Kyoto Tea House")).click()
    pay_out = page.get_by_role("button", name="Pay out", exact=True)
    expect(pay_out).to_be_visible()
    expect(page.get_by_role("button", name="Edit schedule")).to_be_visible()

    # The session's features: without edit_payout_schedule the component offers no schedule editing.
    page.get_by_role("checkbox", name="Edit schedule").uncheck()
    expect(page.get_by_role("button", name="Edit schedule")).to_have_count(0)
    expect(pay_out).to_be_visible()

    # Locale through instance.update(): the component speaks Japanese, in yen.
    page.get_by_role("combobox", name="Locale").select_option("ja-JP")
    expect(pay_out).to_have_count(0)
    expect(figure(page, "total", "jpy")).to_have_text(re.compile(r"[¥￥]"))

    # payout-details for one of its payouts.
    page.goto(page.url + "/payouts")
    expect(page.get_by_role("heading", name="Payout details")).to_be_visible()
    expect(page.locator("stripe-connect-payout-details")).to_contain_text(re.compile(r"[¥￥]"))
