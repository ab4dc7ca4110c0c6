"""States and keyboard use of the components in Chromium: empty, error (and setOnLoadError), paging
through payouts, and the Pay out dialog driven from the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import Payoutkit, screenshot
from tests.browser.host import Host
from tests.browser.seed import connected_account, payout, payouts
from tests.browser.ui import embedded, eventually, figure, money, mount, open_host


def test_an_account_without_money_or_payouts_says_so(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, charges=())
    open_host(page, host, seeded.account)
    mount(page, "payouts")
    expect(page.get_by_text("No payouts yet.")).to_be_visible()
    balances = page.locator("stripe-connect-payouts")
    # Either the empty state or zero figures, but never a Pay out button with nothing to pay out.
    expect(balances.get_by_text(re.compile(r"No balance yet|\$0\.00")).first).to_be_visible()
    assert page.get_by_role("button", name="Pay out", exact=True).count() == 0
    screenshot(page, request, "empty")


def test_a_platform_that_cannot_make_a_session_gets_an_error_state_and_on_load_error(
    host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    # The platform's backend fails (no such account): fetchClientSecret rejects.
    open_host(page, host, "acct_doesnotexist0000")
    mount(page, "balances")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    page.wait_for_function("host.errors.length > 0")
    [event] = page.evaluate("host.errors")
    assert event["elementTagName"] == "stripe-connect-balances"
    assert event["error"]["type"] == "account_session_create_error"
    screenshot(page, request, "error")


def test_the_payouts_list_pages(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(100_000,))
    amounts = [100 * (i + 1) for i in range(12)]  # $1.00 ... $12.00, newest last
    for amount in amounts:
        payout(payoutkit, seeded.account, amount)
    open_host(page, host, seeded.account)
    mount(page, "payouts-list")
    table = page.get_by_role("table", name="Payouts")
    expect(table.get_by_text(money(page, 1_200), exact=True)).to_be_visible()
    first_page = table.inner_text()
    assert money(page, 100) not in first_page.split()  # the oldest is not on the first page
    previous = page.get_by_role("button", name="Previous")
    expect(previous).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(table.get_by_text(money(page, 100), exact=True)).to_be_visible()
    expect(table.get_by_text(money(page, 1_200), exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    previous.click()
    expect(table.get_by_text(money(page, 1_200), exact=True)).to_be_visible()


def _balances_with_money(payoutkit: Payoutkit, host: Host, page: Page) -> tuple[str, Locator, Locator]:
    """`balances` mounted for a connected account on a manual schedule holding 100.00 available: the
    account, the component and its Pay out button."""
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    return seeded.account, element, page.get_by_role("button", name="Pay out", exact=True)


def test_a_payout_from_the_keyboard_alone(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    account, element, pay_out = _balances_with_money(payoutkit, host, page)
    pay_out.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Pay out")
    expect(dialog).to_be_visible()
    # Focus moved into the dialog, on the amount.
    amount = dialog.get_by_role("textbox", name="Amount")
    expect(amount).to_be_focused()
    # Escape closes it and gives the focus back to the button that opened it.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pay_out).to_be_focused()

    page.keyboard.press("Enter")
    expect(amount).to_be_focused()
    page.keyboard.type("40.00")
    confirm = dialog.get_by_role("button", name="Confirm payout")
    expect(dialog.locator("[data-figure='fee']")).to_have_text(money(page, 0))
    expect(confirm).to_be_enabled()
    page.keyboard.press("Enter")  # submits the form
    eventually(page, lambda: payouts(payoutkit, account))
    expect(dialog.get_by_role("status")).to_contain_text(money(page, 4_000))
    expect(figure(element, "available")).to_have_text(money(page, 6_000))
    assert [p["amount"] for p in payouts(payoutkit, account)] == [4_000]


def test_a_dialog_closed_and_opened_again_at_once_keeps_its_form(
    payoutkit: Payoutkit, host: Host, page: Page
) -> None:
    """The browser fires a dialog's `close` event as a task of its own. Closed and opened again within
    one task (Escape then Enter, quicker than that task: it happened under CI's load), the dialog gets
    its first opening's `close` while it is open again; the handlers then emptied the open dialog (its
    heading alone) and sent the focus out of it. Such a `close` is ignored now."""
    _, _, pay_out = _balances_with_money(payoutkit, host, page)
    pay_out.click()
    dialog = page.get_by_role("dialog", name="Pay out")
    amount = dialog.get_by_role("textbox", name="Amount")
    expect(amount).to_be_focused()
    # Close it and open it again in the same task, before the browser's `close` event runs.
    pay_out.evaluate(
        """(button) => {
            button.getRootNode().querySelector("dialog#payout").close();
            button.click();
        }"""
    )
    expect(dialog).to_be_visible()
    expect(amount).to_be_focused()
    page.wait_for_timeout(300)  # the stale `close` and what it would do have run by now
    expect(amount).to_be_visible()
    expect(amount).to_be_focused()
    # The opening's own close still gives the focus back to the button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pay_out).to_be_focused()


def test_the_component_says_why_a_payout_is_not_available(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    # A debit card but no instant pricing on the platform (which pays this account's fees); a daily
    # schedule, so standard payouts are the schedule's, not the account's to make.
    seeded = connected_account(payoutkit, interval="daily", card=True, charges=(), pending=(5_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(element.locator("[data-figure='schedule']")).to_have_text(re.compile(r"^Daily"))
    standard = element.locator("[data-reason][data-method='standard']")
    expect(standard).to_have_attribute("data-reason", "not_manual")
    expect(standard).to_have_text(re.compile("Switch the schedule to Manual"))
    reasons = element.locator("[data-reason]")
    expect(reasons.first).to_be_visible()
    codes = {reasons.nth(i).get_attribute("data-reason") for i in range(reasons.count())}
    assert codes == {"not_manual", "no_pricing"}, codes
    screenshot(page, request, "reasons")

    # With pricing and money available on a manual schedule, the instant reason goes away.
    payoutkit.set_instant_pricing(percent="1.5", minimum=50, maximum=1500)
    manual = connected_account(payoutkit, interval="manual", card=True, charges=(5_000,))
    page.evaluate("host.unmountAll()")
    host.account = manual.account
    page.reload()
    page.evaluate("host.init({})")
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 5_000))
    expect(element.locator("[data-reason]")).to_have_count(0)
    expect(figure(element, "instant_available")).to_have_text(money(page, 5_000))


def test_a_zero_decimal_currency_is_shown_whole(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=())
    charge = payoutkit.client.v1.charges.create(
        {
            "amount": 5_000,
            "currency": "jpy",
            "source": "tok_visa",
            "transfer_data": {"destination": seeded.account},
        }
    )
    assert charge.currency == "jpy"
    payoutkit.advance(7 * 86_400)
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(figure(element, "available", "jpy")).to_have_text(money(page, 5_000, "jpy"))
    assert money(page, 5_000, "jpy") == "¥5,000"
    page.evaluate("host.instance.update({locale: 'ja-JP'})")
    expect(figure(element, "available", "jpy")).to_have_text(money(page, 5_000, "jpy", "ja-JP"))


def test_the_drawer_overlay_on_a_phone(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account, appearance={"overlays": "drawer"})
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    page.get_by_role("button", name="Pay out", exact=True).click()
    dialog = page.get_by_role("dialog", name="Pay out")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= 375, box
    expect(dialog.get_by_role("button", name="Confirm payout")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, request, "drawer")


def test_logout_ends_the_components_session(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    tokens: list[str] = []  # the page's token, as its balance reads send it

    def keep_token(r: Request) -> None:
        if "/embedded/v1/balance" in r.url:
            tokens.append(r.headers.get("authorization", ""))

    page.on("request", keep_token)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    token = tokens[-1].removeprefix("Bearer ")
    assert embedded(payoutkit.url, token, "GET", "/balance").status_code == 200
    with page.expect_response("**/embedded/v1/logout") as ended:
        page.evaluate("host.instance.logout()")
    assert ended.value.status == 200
    # The session ended on the server too: the page's token is refused there from now on.
    refused = embedded(payoutkit.url, token, "GET", "/balance")
    assert refused.status_code == 401, refused.text
    expect(figure(element, "available")).to_have_count(0)
    assert page.get_by_role("button", name="Pay out", exact=True).count() == 0
    secrets = page.evaluate("host.secrets")
    # Nothing asks for a new session or reads the account after logout.
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.wait_for_timeout(1_000)
    assert [url for url in asked if "/embedded/" in url or url.endswith("/session")] == []
    assert page.evaluate("host.secrets") == secrets
