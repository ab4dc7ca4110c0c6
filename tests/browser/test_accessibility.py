"""axe-core (connect/node_modules/axe-core, injected into the page) on every component and its dialogs:
no serious or critical violation, inside the components' open shadow roots too (axe walks them)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Payoutkit, screenshot
from tests.browser.host import AXE, Host
from tests.browser.seed import connected_account, payout
from tests.browser.ui import mount, open_host, pay_out_dialog

BLOCKING = {"serious", "critical"}


def axe_violations(page: Page, host: Host) -> list[dict[str, Any]]:
    assert AXE.is_file(), f"{AXE} is missing: `make test` installs connect/'s npm packages"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=host.url + "/vendor/axe.min.js")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in BLOCKING]


def _checked_nodes(page: Page) -> int:
    """How many elements axe examined inside shadow roots (proof that it looked inside them)."""
    count: int = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["passes"]});
            return result.passes.flatMap(p => p.nodes).filter(n => Array.isArray(n.target[0])).length;
        }"""
    )
    return count


@pytest.mark.parametrize("component", ["balances", "payouts", "payouts-list", "payout-details"])
def test_no_serious_or_critical_axe_violation(
    payoutkit: Payoutkit, host: Host, page: Page, request: pytest.FixtureRequest, component: str
) -> None:
    payoutkit.set_instant_pricing(percent="1.5", minimum=50, maximum=1500)
    seeded = connected_account(payoutkit, interval="manual", card=True, charges=(10_000,))
    made = payout(payoutkit, seeded.account, 1_000)
    open_host(page, host, seeded.account)
    element = mount(page, component, payout=made["id"] if component == "payout-details" else None)
    # Loaded: the payout's amount shows in every one of them (the balances show the rest of the money).
    expect(element.get_by_text("$10.00" if component != "balances" else "$90.00").first).to_be_visible()
    violations = axe_violations(page, host)
    assert violations == [], json.dumps(violations, indent=1)
    assert _checked_nodes(page) > 0, "axe examined nothing inside the component's shadow root"

    if component in ("balances", "payouts"):
        dialog = pay_out_dialog(page)
        dialog.get_by_role("radio", name="Instant").check()
        violations = axe_violations(page, host)
        assert violations == [], json.dumps(violations, indent=1)
        # Focus is inside the dialog, and Escape closes it.
        assert dialog.evaluate("d => d.contains(d.getRootNode().activeElement) || d.matches(':focus-within')")
        screenshot(page, request, "dialog")
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
    if component in ("payouts", "payouts-list"):
        page.get_by_role("table", name="Payouts").get_by_text("$10.00").first.click()
        close = page.get_by_role("button", name="Close")
        expect(close).to_be_visible()
        violations = axe_violations(page, host)
        assert violations == [], json.dumps(violations, indent=1)
        screenshot(page, request, "details")
    if component == "balances":
        page.get_by_role("button", name="Edit schedule").click()
        expect(page.get_by_role("dialog", name="Payout schedule")).to_be_visible()
        violations = axe_violations(page, host)
        assert violations == [], json.dumps(violations, indent=1)
