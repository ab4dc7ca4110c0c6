"""The payout components in Debian's Chromium, on the platform's page, against `payoutkit serve`:
what a connected account sees and does, checked in the page and through the official SDK
(docs/embedded.md; issue 9 "Proof"). Controls are found by the en-US roles and names of
docs/embedded.md §3 (Playwright's locators pierce the components' open shadow roots)."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import PageLog, Payoutkit, screenshot
from tests.browser.host import ALL_FEATURES, Host
from tests.browser.seed import DAY, available, connected_account, payout, payouts, schedule
from tests.browser.ui import (
    claim,
    embedded,
    eventually,
    figure,
    money,
    mount,
    open_host,
    pay_out_dialog,
)

MINUTE = 60


def test_balances_shows_available_pending_and_the_schedule(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, charges=(10_000,), pending=(2_500,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    expect(figure(element, "pending")).to_contain_text(money(page, 2_500))
    expect(figure(element, "in_transit")).to_have_text(money(page, 0))
    # The total: available + pending + in transit.
    expect(figure(element, "total")).to_have_text(money(page, 12_500))
    expect(element.locator("[data-figure='schedule']")).to_have_text("Manual")
    # The destination: the bank account's last 4.
    expect(element.locator("[data-figure='destination']")).to_contain_text("6789")
    expect(page.get_by_role("button", name="Pay out", exact=True)).to_be_enabled()
    screenshot(page, request, "balances")


def test_an_instant_payout_shows_its_fee_before_and_the_new_balance_after(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    payoutkit.set_instant_pricing(percent="1.5", minimum=50, maximum=1500)
    seeded = connected_account(payoutkit, bank=True, card=True, charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))

    dialog = pay_out_dialog(page)
    dialog.get_by_role("radio", name="Instant").check()
    destination = dialog.get_by_role("combobox", name="Destination")
    assert seeded.card is not None
    if destination.locator(f"option[value='{seeded.card}']").count():
        destination.select_option(seeded.card)
    dialog.get_by_role("textbox", name="Amount").fill("20.00")
    # The fee (1.5 %, at least $0.50) is shown before confirming.
    expect(dialog.get_by_text("Fee", exact=True)).to_be_visible()
    expect(dialog.locator("[data-figure='fee']")).to_have_text(money(page, 50))
    expect(dialog.get_by_text("You'll receive", exact=True)).to_be_visible()
    # The fee comes on top: the card receives the amount, the balance pays amount + fee.
    expect(dialog.locator("[data-figure='net']")).to_have_text(money(page, 2_000))
    screenshot(page, request, "preview")
    dialog.get_by_role("button", name="Confirm payout").click()

    # The payout, as the platform sees it through the SDK, and the new balance in the component.
    after = 10_000 - 2_000 - 50
    [made] = eventually(page, lambda: payouts(payoutkit, seeded.account))
    expect(dialog.get_by_role("status")).to_contain_text(money(page, 2_000))
    expect(figure(element, "available")).to_have_text(money(page, after))
    assert (made["method"], made["amount"], made["destination"]) == ("instant", 2_000, seeded.card)
    assert available(payoutkit, seeded.account) == after
    screenshot(page, request, "after")


def test_a_manual_payout_on_a_manual_schedule_pays_the_full_available_amount_by_default(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    dialog = pay_out_dialog(page)
    amount = dialog.get_by_role("textbox", name="Amount")
    expect(amount).to_have_value(re.compile(r"^\$?100(\.00)?$"))
    standard = dialog.get_by_role("radio", name="Standard")
    if standard.count():
        standard.check()
    expect(dialog.locator("[data-figure='fee']")).to_have_text(money(page, 0))
    screenshot(page, request, "dialog")
    dialog.get_by_role("button", name="Confirm payout").click()

    [made] = eventually(page, lambda: payouts(payoutkit, seeded.account))
    expect(figure(element, "available")).to_have_text(money(page, 0))
    expect(figure(element, "in_transit")).to_have_text(money(page, 10_000))
    assert (made["method"], made["amount"], made["automatic"]) == ("standard", 10_000, False)
    assert made["destination"] == seeded.bank
    assert available(payoutkit, seeded.account) == 0


def test_a_double_submitted_payout_pays_once(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    dialog = pay_out_dialog(page)
    dialog.get_by_role("textbox", name="Amount").fill("30.00")
    confirm = dialog.get_by_role("button", name="Confirm payout")
    confirm.dblclick()
    # And a third press while the first may still be in flight, if the button still takes one: it
    # may be disabled or gone by now (checking first and then clicking would race with that).
    with contextlib.suppress(PlaywrightTimeoutError):
        confirm.click(timeout=1_000)
    eventually(page, lambda: payouts(payoutkit, seeded.account))
    expect(figure(element, "available")).to_have_text(money(page, 7_000))
    page.wait_for_timeout(1_000)  # any second request has had the time to arrive
    made = payouts(payoutkit, seeded.account)
    assert [(p["amount"], p["method"]) for p in made] == [(3_000, "standard")]
    assert available(payoutkit, seeded.account) == 7_000


def test_a_retry_after_a_lost_answer_pays_once(payoutkit: Payoutkit, host: Host, page: Page) -> None:
    """The payout reaches Payoutkit but its answer is lost on the way back; the user confirms again:
    the same idempotency key makes the retry return the payout already made."""
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    lost: list[int] = []

    def lose_the_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            answer = route.fetch()  # Payoutkit makes the payout...
            lost.append(answer.status)
            route.abort("connectionreset")  # ...and the page never hears of it
        else:
            route.continue_()

    page.route("**/embedded/v1/payouts", lose_the_answer)
    dialog = pay_out_dialog(page)
    dialog.get_by_role("textbox", name="Amount").fill("25.00")
    confirm = dialog.get_by_role("button", name="Confirm payout")
    confirm.click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    assert lost == [200]
    assert [p["amount"] for p in payouts(payoutkit, seeded.account)] == [2_500]

    confirm.click()
    expect(dialog.get_by_role("status")).to_contain_text(money(page, 2_500))
    expect(figure(element, "available")).to_have_text(money(page, 7_500))
    assert [p["amount"] for p in payouts(payoutkit, seeded.account)] == [2_500]
    assert available(payoutkit, seeded.account) == 7_500


def test_editing_the_schedule_changes_the_accounts_schedule(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    page.get_by_role("button", name="Edit schedule").click()
    dialog = page.get_by_role("dialog", name="Payout schedule")
    expect(dialog).to_be_visible()
    dialog.get_by_role("combobox", name="Frequency").select_option(label="Weekly")
    screenshot(page, request, "dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    eventually(page, lambda: schedule(payoutkit, seeded.account)["interval"] == "weekly")
    changed = schedule(payoutkit, seeded.account)
    assert changed["interval"] == "weekly"
    assert changed["weekly_anchor"] in {"monday", "tuesday", "wednesday", "thursday", "friday"}
    expect(element.locator("[data-figure='schedule']")).to_have_text(re.compile(r"^Weekly on \w+day$"))


def test_the_payouts_list_opens_a_payouts_details(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    made = [payout(payoutkit, seeded.account, amount) for amount in (1_000, 2_000, 3_000)]
    open_host(page, host, seeded.account)
    mount(page, "payouts")
    table = page.get_by_role("table", name="Payouts")
    expect(table).to_be_visible()
    for p in made:
        expect(table.get_by_text(money(page, p["amount"])).first).to_be_visible()
    screenshot(page, request, "list")
    table.get_by_text(money(page, 2_000)).first.click()
    close = page.get_by_role("button", name="Close")
    expect(close).to_be_visible()
    # The details: the payout's amount and status, its history and what it settled.
    details = page.locator("stripe-connect-payout-details")
    expect(details.locator(f"[data-payout='{made[1]['id']}']")).to_be_visible()
    expect(details.get_by_text(money(page, 2_000)).first).to_be_visible()
    expect(details.locator("[data-section='history'] li").first).to_contain_text("Pending")
    settled = details.get_by_role("table", name="Balance transactions")
    row_of_payout = f"[data-transaction='{made[1]['balance_transaction']}']"
    expect(settled.locator(row_of_payout)).to_contain_text(money(page, -2_000))
    row = details.locator(row_of_payout)
    expect(row).to_contain_text("Payout")
    screenshot(page, request, "details")
    # The transaction's type is read in the reader's language, like the rest.
    page.evaluate("host.instance.update({locale: 'fr-FR'})")
    expect(row).to_contain_text("Virement")
    page.evaluate("host.instance.update({locale: 'en-US'})")
    expect(row).to_contain_text("Payout")
    close.click()
    expect(close).to_be_hidden()
    expect(table).to_be_visible()


def test_payouts_list_and_payout_details_on_their_own(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    first = payout(payoutkit, seeded.account, 1_500)
    payoutkit.advance(5 * DAY)  # paid
    second = payout(payoutkit, seeded.account, 2_500)
    open_host(page, host, seeded.account)
    mount(page, "payouts-list")
    table = page.get_by_role("table", name="Payouts")
    expect(table.get_by_text(money(page, 1_500)).first).to_be_visible()
    expect(table.get_by_text(money(page, 2_500)).first).to_be_visible()
    # Newest first.
    text = table.inner_text()
    assert text.index(money(page, 2_500)) < text.index(money(page, 1_500))
    assert page.get_by_role("button", name="Pay out", exact=True).count() == 0
    page.evaluate("host.unmountAll()")

    details = mount(page, "payout-details", payout=first["id"])
    expect(details.locator(f"[data-payout='{first['id']}']")).to_contain_text(money(page, 1_500))
    history = details.locator("[data-section='history'] li")
    expect(history.last).to_contain_text("Paid")
    assert history.count() >= 2  # pending ... paid
    expect(details.locator("[data-figure='fee']")).to_have_text(money(page, 0))
    assert second["id"] != first["id"]
    expect(details.locator(f"[data-payout='{second['id']}']")).to_have_count(0)
    screenshot(page, request, "details")
    page.get_by_role("button", name="Close").click()
    page.wait_for_function("host.closed === 1")


def test_features_off_hide_the_controls_and_the_embedded_api_refuses_them(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    off = {"instant_payouts": False, "standard_payouts": False, "edit_payout_schedule": False}
    host.components = {"balances": {"enabled": True, "features": off}}
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    assert page.get_by_role("button", name="Edit schedule").count() == 0
    pay_out = page.get_by_role("button", name="Pay out", exact=True)
    assert pay_out.count() == 0 or pay_out.is_disabled()
    # The component says why.
    expect(element.locator("[data-reason='not_enabled']").first).to_be_attached()
    screenshot(page, request, "features-off")

    # Whatever the page shows, the server refuses: a token of the same platform's session.
    token = claim(host, payoutkit.url)["token"]
    assert embedded(payoutkit.url, token, "GET", "/balance").status_code == 200
    body = {"amount": 1_000, "currency": "usd", "method": "standard", "component": "balances"}
    for path, payload, headers in (
        ("/payouts/preview", body, {}),
        ("/payouts", body, {"Idempotency-Key": "features-off-1"}),
        ("/payouts", {**body, "method": "instant"}, {"Idempotency-Key": "features-off-2"}),
        ("/payout_schedule", {"interval": "daily"}, {}),
    ):
        refused = embedded(payoutkit.url, token, "POST", path, payload, **headers)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["type"] == "permission_error"
    # Components the session did not enable are refused too.
    listed = embedded(payoutkit.url, token, "GET", "/payouts")
    assert listed.status_code == 403, listed.text
    assert payouts(payoutkit, seeded.account) == []
    assert schedule(payoutkit, seeded.account)["interval"] == "manual"


def test_an_expired_session_is_refreshed_mid_flow_keeping_the_typed_amount(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account)
    element = mount(page, "balances")
    dialog = pay_out_dialog(page)
    dialog.get_by_role("textbox", name="Amount").fill("12.34")
    secrets_before = page.evaluate("host.secrets")
    # Past the token's life (10 minutes) and the session's (30 minutes), with the dialog open.
    payoutkit.advance(45 * MINUTE)
    dialog.get_by_role("button", name="Confirm payout").click()
    made = eventually(page, lambda: payouts(payoutkit, seeded.account))
    expect(figure(element, "available")).to_have_text(money(page, 10_000 - 1_234))
    assert [p["amount"] for p in made] == [1_234]
    # connect.js asked the platform for a new session to carry on.
    assert page.evaluate("host.secrets") > secrets_before
    assert len(host.sessions) >= 2
    assert page.evaluate("host.errors") == []
    screenshot(page, request, "after-refresh")


def test_locale_and_appearance_change_through_update(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(123_456,))
    open_host(page, host, seeded.account, locale="en-US")
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 123_456))
    pay_out = page.get_by_role("button", name="Pay out", exact=True)
    assert "rgb(10, 125, 50)" not in _colors(pay_out)

    page.evaluate("host.instance.update({appearance: {variables: {colorPrimary: '#0a7d32'}}})")
    _wait_for_color(page, pay_out, "rgb(10, 125, 50)")
    screenshot(page, request, "appearance")

    for locale in ("fr-FR", "de-DE", "ja-JP"):
        page.evaluate("locale => host.instance.update({locale})", locale)
        expect(figure(element, "available")).to_have_text(money(page, 123_456, locale=locale))
        # The strings are translated: no English "Pay out" button any more.
        expect(page.get_by_role("button", name="Pay out", exact=True)).to_have_count(0)
        screenshot(page, request, locale)
    page.evaluate("host.instance.update({locale: 'en-GB'})")
    expect(figure(element, "available")).to_have_text(money(page, 123_456, locale="en-GB"))


def _colors(locator: Any) -> list[str]:
    colors: list[str] = locator.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.borderColor]; }"
    )
    return colors


def _wait_for_color(page: Page, locator: Any, color: str) -> None:
    for _ in range(50):
        if color in _colors(locator):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the Pay out button never took colorPrimary {color}: {_colors(locator)}")


def test_mobile_width(payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest) -> None:
    page.set_viewport_size({"width": 375, "height": 812})
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    payout(payoutkit, seeded.account, 1_000)
    open_host(page, host, seeded.account)
    element = mount(page, "payouts")
    expect(figure(element, "available")).to_have_text(money(page, 9_000))
    expect(page.get_by_role("table", name="Payouts")).to_be_visible()
    _assert_fits(page, element, 375)
    screenshot(page, request, "payouts")
    dialog = pay_out_dialog(page)
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= 375, box
    expect(dialog.get_by_role("button", name="Confirm payout")).to_be_in_viewport()
    screenshot(page, request, "dialog")


def _assert_fits(page: Page, element: Any, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page scrolls sideways at {width}px: {scroll_width}px wide"
    box = element.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width, box


def test_the_stock_npm_loader_mounts_our_component(
    payoutkit: Payoutkit, host: Host, page: Page, page_log: PageLog, request: pytest.FixtureRequest
) -> None:
    seeded = connected_account(payoutkit, interval="manual", charges=(10_000,))
    open_host(page, host, seeded.account, npm=True)
    element = mount(page, "balances")
    expect(figure(element, "available")).to_have_text(money(page, 10_000))
    expect(page.get_by_role("button", name="Pay out", exact=True)).to_be_visible()
    # The npm package's loader found Payoutkit's window.StripeConnect: it fetched nothing else.
    assert page_log.blocked == [], page_log
    assert page.evaluate("host.secrets") >= 1
    screenshot(page, request, "npm")
    # The loader's own setters (setPayout, setOnClose, ...) reach the component too.
    made = payout(payoutkit, seeded.account, 1_200)
    page.evaluate("host.unmountAll()")
    mount(page, "payout-details", payout=made["id"])
    expect(page.get_by_text(money(page, 1_200)).first).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.wait_for_function("host.closed === 1")
    assert page.evaluate("host.errors") == []


def test_all_features_on_by_the_platform_resolve_in_the_session(host: Host, payoutkit: Payoutkit) -> None:
    seeded = connected_account(payoutkit, charges=())
    host.account = seeded.account
    created = host.create_session()
    assert created["client_secret"].startswith("accs_secret__")
    features: dict[str, Any] = created["components"]["balances"]["features"]
    assert {k: features[k] for k in ALL_FEATURES} == ALL_FEATURES
