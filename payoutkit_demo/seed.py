"""A marketplace with 90 days of history, made through the public API on the simulated clock, so that
every figure the components show is the ledger's own.

Seven sellers in four countries, every controller and schedule a platform meets (when Payoutkit
bears the losses, the account pays its own fees):

    Rosa's Bakery      US usd  daily    platform liable, platform pays fees
    Atelier Lumière    FR eur  weekly   Payoutkit liable, account pays fees
    Camden Records     GB gbp  monthly  platform liable, account pays fees
    Kyoto Tea House    JP jpy  manual   Payoutkit liable, account pays fees
    Maple Courier      US usd  manual   instant payouts to its debit card (and a bank account)
    Lone Star Repairs  US usd  daily    platform liable; a dispute leaves it negative: the platform's
                                        reserve covers it (negative balances are not debited)
    Harbor Kayaks      US usd  weekly   its bank account rejects payouts (no_account)

Each day some sellers sell (destination charges, a few refunded); the clock moves a day at a time so
funds settle and the schedules pay out as they would have.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from payoutkit_demo.platform import DAY, Platform

HISTORY_DAYS = 90
US_BANK = {"object": "bank_account", "country": "US", "currency": "usd", "routing_number": "110000000"}


@dataclass(frozen=True)
class Seller:
    name: str
    country: str
    currency: str
    schedule: dict[str, Any]
    liable: bool  # the platform bears losses (controller.losses.payments = application)
    platform_pays_fees: bool
    bank: dict[str, Any]
    typical: int  # a typical sale in minor units
    card: str | None = None
    debit_negative_balances: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


SELLERS = (
    Seller("Rosa's Bakery", "US", "usd", {"interval": "daily"}, True, True,
           {**US_BANK, "account_number": "000123456789"}, 4_500),
    Seller("Atelier Lumière", "FR", "eur", {"interval": "weekly", "weekly_anchor": "friday"}, False, False,
           {"object": "bank_account", "country": "FR", "currency": "eur", "account_number": "000123456789"},
           12_000),
    Seller("Camden Records", "GB", "gbp", {"interval": "monthly", "monthly_anchor": 1}, True, False,
           {"object": "bank_account", "country": "GB", "currency": "gbp", "account_number": "00012345",
            "routing_number": "108800"}, 2_800),
    Seller("Kyoto Tea House", "JP", "jpy", {"interval": "manual"}, False, False,
           {"object": "bank_account", "country": "JP", "currency": "jpy", "account_number": "000123456789"},
           3_200),
    Seller("Maple Courier", "US", "usd", {"interval": "manual"}, True, True,
           {**US_BANK, "account_number": "000123456789"}, 6_000, card="tok_visa_debit"),
    Seller("Lone Star Repairs", "US", "usd", {"interval": "daily"}, True, True,
           {**US_BANK, "account_number": "000123456789"}, 9_000, debit_negative_balances=False),
    Seller("Harbor Kayaks", "US", "usd", {"interval": "weekly", "weekly_anchor": "monday"}, False, False,
           {**US_BANK, "account_number": "000111111116"}, 7_500),
)  # fmt: skip


def _create(platform: Platform, seller: Seller) -> str:
    account = platform.create_account(
        {
            "country": seller.country,
            "default_currency": seller.currency,
            "business_profile": {"name": seller.name},
            "controller": {
                "losses": {"payments": "application" if seller.liable else "stripe"},
                "fees": {"payer": "application" if seller.platform_pays_fees else "account"},
                # A platform that bears the losses hosts the account's whole experience (no dashboard).
                "stripe_dashboard": {"type": "none" if seller.liable else "full"},
            },
            "settings": {
                "payouts": {
                    "schedule": seller.schedule,
                    "debit_negative_balances": seller.debit_negative_balances,
                }
            },
        }
    )
    if seller.card:  # first, so that it is the currency's default destination: payouts go to the card
        platform.add_external_account(account, seller.card)
    platform.add_external_account(account, seller.bank)
    return account


@dataclass
class History:
    """The day-by-day story; `step` is called once per unit of work for the progress bar."""

    platform: Platform
    rng: random.Random
    accounts: dict[str, str] = field(default_factory=dict)  # name → account id
    big_job: str = ""

    def day(self, index: int) -> None:
        for seller in SELLERS:
            account = self.accounts[seller.name]
            if seller.name == "Lone Star Repairs" and index >= HISTORY_DAYS - 10:
                continue  # it stopped selling after the dispute (below)
            for _ in range(self.rng.choice((0, 1, 1, 2))):
                amount = max(100, int(seller.typical * self.rng.uniform(0.4, 1.8)))
                charge = self.platform.charge(account, amount, seller.currency)
                if self.rng.random() < 0.06:
                    self.platform.refund(charge["id"], amount // 2)
        self._events(index)

    def _events(self, index: int) -> None:
        """The days something out of the ordinary happens."""
        lone_star = self.accounts["Lone Star Repairs"]
        if index == HISTORY_DAYS - 10:
            self.big_job = self.platform.charge(lone_star, 90_000, "usd")["id"]
            self.platform.charge(lone_star, 20_000, "usd", "tok_createDispute")  # disputed at once
        if index == HISTORY_DAYS - 3:
            # The big job is refunded after its funds were paid out: the balance goes negative and the
            # liable platform's reserve holds the shortfall (this account's bank is not debited).
            self.platform.refund(self.big_job)
        if index % 9 == 4:
            maple = self.accounts["Maple Courier"]
            available = _available(self.platform.balance(maple), "usd")
            if available > 2_000:
                self.platform.payout(maple, available // 2, "usd", method="instant")
        if index % 20 == 10:
            kyoto = self.accounts["Kyoto Tea House"]
            available = _available(self.platform.balance(kyoto), "jpy")
            if available > 0:
                self.platform.payout(kyoto, available, "jpy")
        if index % 30 == 15:
            self.platform.transfer(self.accounts["Rosa's Bakery"], 2_500, "usd")  # a loyalty bonus


def _available(balance: dict[str, Any], currency: str) -> int:
    return sum(int(b["amount"]) for b in balance["available"] if b["currency"] == currency)


def steps() -> int:
    """How many times `seed` calls its `advance` callback."""
    return 2 + len(SELLERS) + HISTORY_DAYS


def seed(platform: Platform, advance: Callable[[str], None], *, seed_value: int = 2026) -> dict[str, str]:
    """Make the marketplace; `advance(description)` is called after each step. Answers name → account.

    The platform account is marked "started" before anything is made and "complete" at the end, so a
    seed that was interrupted (Ctrl-C, a killed process) is known for one on the next start."""
    platform.mark_seed("started")
    for currency, percent in (("usd", "1.5"), ("eur", "1"), ("gbp", "1")):
        platform.set_instant_pricing(currency, percent, 50)
    for currency, amount in (("usd", 500_000), ("eur", 200_000), ("gbp", 200_000), ("jpy", 2_000_000)):
        platform.top_up(amount, currency)
    advance("the platform's funds and instant pricing")
    history = History(platform, random.Random(seed_value))
    for seller in SELLERS:
        history.accounts[seller.name] = _create(platform, seller)
        advance(f"account {seller.name}")
    for index in range(HISTORY_DAYS):
        history.day(index)
        platform.advance(DAY)
        advance(f"day {index + 1} of {HISTORY_DAYS}")
    platform.mark_seed("complete")
    advance("done")
    return history.accounts
