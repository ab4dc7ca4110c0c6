"""`make run`'s command on a fresh database: both addresses answer, the marketplace is seeded through
the public API (read back here with the SDK), and a restart keeps the data and the keys."""

from __future__ import annotations

import html
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from payoutkit_demo.platform import Platform
from tests.demo.conftest import start_demo


def _seeded(client: stripe.StripeClient) -> dict[str, dict[str, Any]]:
    accounts = [a.to_dict() for a in client.v1.accounts.list({"limit": 100}).auto_paging_iter()]
    return {a["business_profile"]["name"]: a for a in accounts}


def _payouts(client: stripe.StripeClient, account: str) -> list[dict[str, Any]]:
    found = client.v1.payouts.list({"limit": 100}, {"stripe_account": account})
    return [p.to_dict() for p in found.auto_paging_iter()]


def _available(client: stripe.StripeClient, account: str) -> int:
    balance = client.v1.balance.retrieve(options={"stripe_account": account}).to_dict()
    return sum(int(b["amount"]) for b in balance["available"])


def test_make_run_starts_payoutkit_and_the_seeded_demo_and_a_restart_keeps_them(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'run.db'}"
    log = tmp_path / "run.log"
    with start_demo(database_url, log) as demo:
        page = httpx.get(demo.url + "/", trust_env=False, timeout=30)
        assert page.status_code == 200
        assert httpx.get(demo.payoutkit + "/v1.0/connect.js", trust_env=False).status_code == 200
        printed = log.read_text()
        assert demo.url in printed
        assert demo.payoutkit in printed
        keys = demo.keys()
        secrets = keys["test_secret_keys"]
        assert isinstance(secrets, list)
        [secret] = secrets
        assert secret in printed
        # The live secret key made on this first start is printed this once, never again.
        [live] = re.findall(r"sk_live_[A-Za-z0-9]{32}", printed)
        assert live not in str(keys)

        client = demo.client()
        accounts = _seeded(client)
        assert len(accounts) >= 6
        for name in accounts:
            assert html.escape(name) in page.text
        assert {a["default_currency"] for a in accounts.values()} >= {"usd", "eur", "gbp", "jpy"}
        assert {a["country"] for a in accounts.values()} >= {"US", "FR", "GB", "JP"}
        intervals = {a["settings"]["payouts"]["schedule"]["interval"] for a in accounts.values()}
        assert intervals >= {"daily", "weekly", "monthly", "manual"}
        controllers = {(a["controller"]["losses"]["payments"], a["controller"]["fees"]["payer"])
                       for a in accounts.values()}  # fmt: skip
        # (platform liable, platform pays fees), (platform liable, account pays), (Payoutkit liable)
        assert ("application", "application") in controllers
        assert ("application", "account") in controllers
        assert ("stripe", "account") in controllers

        # One negative balance, held by the liable platform's reserve.
        negative = accounts["Lone Star Repairs"]
        shortfall = -_available(client, negative["id"])
        assert shortfall > 0
        reserved = client.v1.balance.retrieve().to_dict()["connect_reserved"]
        assert {"amount": shortfall, "currency": "usd"} in reserved
        # One bank account that failed a payout; instant payouts to a debit card.
        failed = _payouts(client, accounts["Harbor Kayaks"]["id"])
        assert [p["failure_code"] for p in failed if p["status"] == "failed"] == ["no_account"]
        instant = _payouts(client, accounts["Maple Courier"]["id"])
        assert instant
        assert {(p["method"], p["destination"][:5]) for p in instant} == {("instant", "card_")}
        # 90 days of history: daily payouts from the first days on.
        daily = _payouts(client, accounts["Rosa's Bakery"]["id"])
        assert len(daily) > 40
        assert Counter(p["status"] for p in daily)["paid"] > 40
        # The platform's webhook endpoint takes only events signed with its secrets.
        forged = httpx.post(demo.url + "/webhooks", content=b'{"id": "evt_1"}', trust_env=False,
                            headers={"Stripe-Signature": "t=1,v1=00"})  # fmt: skip
        assert forged.status_code == 400
        first_start = {name: a["id"] for name, a in accounts.items()}
        # Ctrl-C stops both processes.
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(timeout=60) == 0
        with pytest.raises(httpx.TransportError):
            httpx.get(demo.payoutkit + "/v1/balance", trust_env=False, timeout=5)

    with start_demo(database_url, log) as again:
        assert "Seeded" not in log.read_text().split(again.url)[-1]
        client = again.client()
        assert {name: a["id"] for name, a in _seeded(client).items()} == first_start
        assert again.keys()["test_secret_keys"] == keys["test_secret_keys"]


def test_an_interrupted_first_seed_is_set_aside_and_the_next_start_seeds_anew(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'run.db'}"
    log = tmp_path / "run.log"
    # What a seed stopped by Ctrl-C leaves (the seed marks the platform before it makes anything, and
    # marks it complete only at the end): the mark "started" and some accounts. Made here through the
    # API on a demo started without seeding, so that no race with a real seed decides the test.
    with start_demo(database_url, log, "--no-seed") as first:
        keys = first.keys()
        secrets = keys["test_secret_keys"]
        assert isinstance(secrets, list)
        platform = Platform(first.payoutkit, str(secrets[-1]), str(keys["test_publishable_key"]))
        platform.mark_seed("started")
        half_made = {"type": "custom", "country": "US", "business_profile": {"name": "Half made"}}
        platform.create_account(half_made)
        first.proc.send_signal(signal.SIGINT)
        assert first.proc.wait(timeout=60) == 0
    assert not list(tmp_path.glob("run.db.interrupted-*"))

    with start_demo(database_url, log) as again:
        assert "The last seed was interrupted" in log.read_text()
        [aside] = tmp_path.glob("run.db.interrupted-*")
        assert aside.stat().st_size > 0
        client = again.client()
        accounts = _seeded(client)
        # The whole marketplace, made once: nothing left over from the first try.
        assert len(accounts) == 7
        assert "Half made" not in accounts
        mark = client.v1.accounts.retrieve_current().to_dict()["metadata"]
        assert mark == {"payoutkit_demo_seed": "complete"}
