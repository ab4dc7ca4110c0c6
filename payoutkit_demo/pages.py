"""The demo's pages: plain HTML rendered on the server. Each account page loads Payoutkit's connect.js
from Payoutkit's own address and leaves the rest to static/demo.js."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from typing import Any

from payoutkit_demo.platform import Platform

CURRENCIES = ("usd", "eur", "gbp", "jpy", "cad")
ZERO_DECIMAL = {"jpy"}
SOURCES = {
    "tok_visa": "Card (Visa)",
    "tok_mastercard_debit": "Debit card (Mastercard)",
    "tok_bypassPending": "Card, available at once",
    "btok_us_verified": "ACH bank debit (USD)",
}
LOCALES = ("en-US", "en-GB", "fr-FR", "de-DE", "ja-JP")


def money(amount: int, currency: str) -> str:
    """Minor units as a reader writes them: 71531 eur → "715.31 EUR", 5000 jpy → "5000 JPY"."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:,.2f} {currency.upper()}"


def when(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%a %d %b %Y, %H:%M UTC")


def _layout(
    title: str, body: str, *, payoutkit: str | None = None, config: dict[str, Any] | None = None
) -> str:
    script = f'<script src="{escape(payoutkit)}/v1.0/connect.js"></script>' if payoutkit else ""
    data = json.dumps(config or {}).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · Payoutkit demo</title>
<link rel="stylesheet" href="/static/demo.css">
{script}
</head>
<body>
<header><a href="/" class="brand">Marketplace <small>a Payoutkit demo platform</small></a>
<span id="clock" class="clock"></span></header>
<main>{body}</main>
<script id="demo-config" type="application/json">{data}</script>
<script src="/static/demo.js"></script>
</body>
</html>"""


def _schedule(account: dict[str, Any]) -> str:
    schedule = account.get("settings", {}).get("payouts", {}).get("schedule", {})
    interval = str(schedule.get("interval", "daily"))
    anchor = schedule.get("weekly_anchor") or schedule.get("monthly_anchor")
    return f"{interval} ({anchor})" if interval in ("weekly", "monthly") and anchor else interval


def _name(account: dict[str, Any]) -> str:
    profile = account.get("business_profile") or {}
    return str(profile.get("name") or account["id"])


def _controller(account: dict[str, Any]) -> str:
    controller = account.get("controller") or {}
    losses = (controller.get("losses") or {}).get("payments", "stripe")
    fees = (controller.get("fees") or {}).get("payer", "account")
    return f"losses: {'platform' if losses == 'application' else 'Payoutkit'}; fees paid by {fees}"


def index(accounts: list[dict[str, Any]], now: int) -> str:
    rows = "\n".join(
        f"""<li><a class="account" href="/accounts/{escape(a["id"])}">
<strong>{escape(_name(a))}</strong>
<span>{escape(a.get("country") or "")} · {escape((a.get("default_currency") or "").upper())} ·
payouts {escape(_schedule(a))}</span><small>{escape(_controller(a))}</small></a></li>"""
        for a in accounts
    )
    empty = "<p>No connected accounts yet: the seed makes them on first start.</p>"
    body = f"""<h1>Connected accounts</h1>
<p class="muted">Pick a seller to see its balances and payouts as it sees them in the platform's site
(Payoutkit's embedded components). Simulated time: {escape(when(now))}.</p>
<ul class="accounts">{rows or empty}</ul>"""
    return _layout("Connected accounts", body, config={"now": now})


def _options(values: dict[str, str] | tuple[str, ...], chosen: str) -> str:
    pairs = values.items() if isinstance(values, dict) else ((v, v.upper()) for v in values)
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(label)}</option>'
        for v, label in pairs
    )


def _console(currency: str) -> str:
    amount = "5000" if currency in ZERO_DECIMAL else "10000"
    return f"""<section class="panel" aria-labelledby="console-title">
<h2 id="console-title">Platform console</h2>
<form id="charge-form" class="console">
<label>Amount (minor units)<input name="amount" type="number" min="1" value="{amount}" required></label>
<label>Currency<select name="currency">{_options(CURRENCIES, currency)}</select></label>
<label>Source<select name="source">{_options(SOURCES, "tok_visa")}</select></label>
<div class="buttons">
<button type="submit" data-action="charge">Charge</button>
<button type="button" data-action="refund">Refund last charge</button>
<button type="button" data-action="dispute">Disputed charge</button>
<button type="button" data-action="transfer">Transfer</button>
</div></form>
<div class="buttons clock-buttons" role="group" aria-label="Simulated clock">
<button type="button" data-advance="hour">+1 hour</button>
<button type="button" data-advance="day">+1 day</button>
<button type="button" data-advance="next_payout">Next scheduled payout</button>
</div>
<p id="console-result" role="status" aria-live="polite"></p>
</section>"""


def _switches() -> str:
    features = "".join(
        f'<label><input type="checkbox" name="{n}" checked> {label}</label>'
        for n, label in (
            ("instant_payouts", "Instant payouts"),
            ("standard_payouts", "Standard payouts"),
            ("edit_payout_schedule", "Edit schedule"),
        )
    )
    return f"""<section class="panel" aria-labelledby="switches-title">
<h2 id="switches-title">What the platform configures</h2>
<fieldset id="features"><legend>Session features (a new account session)</legend>{features}</fieldset>
<fieldset id="looks"><legend>Appearance and locale (<code>instance.update()</code>)</legend>
<label>Theme<select name="theme"><option value="default">Default</option>
<option value="forest">Forest</option><option value="night">Night</option></select></label>
<label>Locale<select name="locale">{_options({v: v for v in LOCALES}, "en-US")}</select></label>
</fieldset></section>"""


def account(platform: Platform, acct: dict[str, Any], now: int) -> str:
    currency = str(acct.get("default_currency") or "usd")
    body = f"""<p><a href="/">← All accounts</a></p>
<h1>{escape(_name(acct))}</h1>
<p class="muted">{escape(acct["id"])} · {escape(acct.get("country") or "")} ·
payouts {escape(_schedule(acct))} ·
{escape(_controller(acct))} · <a href="/accounts/{escape(acct["id"])}/payouts">Payout details</a></p>
<div class="columns">
<div class="components">
<div role="tablist" aria-label="Component" class="tabs">
<button type="button" role="tab" data-tab="payouts" aria-selected="true">Payouts component</button>
<button type="button" role="tab" data-tab="balances" aria-selected="false">Balances component</button>
</div>
<section id="component" aria-label="Embedded component" data-component="payouts"></section>
</div>
<aside>
{_console(currency)}
{_switches()}
<section class="panel" aria-labelledby="log-title">
<h2 id="log-title">Webhook log</h2>
<p class="muted">Events Payoutkit sent to this platform's endpoints (its own and this account's), each
verified with <code>stripe.Webhook.construct_event</code>.</p>
<ol id="webhook-log" aria-label="Webhook events"></ol>
</section>
</aside>
</div>"""
    config = {"publishableKey": platform.publishable_key, "account": acct["id"], "now": now}
    return _layout(_name(acct), body, payoutkit=platform.payoutkit_url, config=config)


def payout(
    platform: Platform, acct: dict[str, Any], payouts: list[dict[str, Any]], chosen: str | None, now: int
) -> str:
    items = "".join(
        f'<li><a href="?payout={escape(p["id"])}"{" aria-current=page" if p["id"] == chosen else ""}>'
        f"{escape(when(int(p['created'])))} · {escape(money(int(p['amount']), p['currency']))} · "
        f"{escape(p['status'])}</a></li>"
        for p in payouts
    )
    details = '<section aria-label="Payout details" data-component="payout-details"></section>'
    body = f"""<p><a href="/accounts/{escape(acct["id"])}">← {escape(_name(acct))}</a></p>
<h1>Payout details</h1>
<div class="columns"><div class="components">{details if chosen else "<p>No payouts yet.</p>"}</div>
<aside class="panel"><h2>Recent payouts</h2><ol class="payouts">{items}</ol></aside></div>"""
    config = {"publishableKey": platform.publishable_key, "account": acct["id"], "payout": chosen, "now": now}
    return _layout("Payout details", body, payoutkit=platform.payoutkit_url, config=config)
