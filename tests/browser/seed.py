"""Connected accounts with money on them, made through the official SDK as a platform makes them:
an account, its external accounts, destination charges, and the simulated clock advanced until the
charges' funds are available."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from tests.browser.conftest import Payoutkit

DAY = 86_400
# Card funds become available two business days after the charge: a week covers any weekend.
SETTLE = 7 * DAY


@dataclass(frozen=True)
class Seeded:
    account: str
    bank: str | None
    card: str | None


def as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    assert isinstance(obj, dict), obj
    return obj


def connected_account(
    pk: Payoutkit,
    *,
    interval: str = "manual",
    bank: bool = True,
    card: bool = False,
    charges: tuple[int, ...] = (10_000,),
    pending: tuple[int, ...] = (),
) -> Seeded:
    """A custom account on the payout schedule `interval`, with a US bank account and/or a debit card,
    paid `charges` by destination charges made available by the clock, then `pending` ones (not yet
    available)."""
    client = pk.client
    account = as_dict(
        client.v1.accounts.create(
            {
                "type": "custom",
                "country": "US",
                "business_profile": {"name": "Rosa's Bakery"},
                "settings": {"payouts": {"schedule": {"interval": interval}}},  # type: ignore[typeddict-item]
            }
        )
    )["id"]
    bank_id = card_id = None
    if bank:
        bank_id = as_dict(
            client.v1.accounts.external_accounts.create(account, {"external_account": "btok_us_verified"})
        )["id"]
    if card:
        card_id = as_dict(
            client.v1.accounts.external_accounts.create(account, {"external_account": "tok_visa_debit"})
        )["id"]
    for amount in charges:
        destination_charge(pk, account, amount)
    if charges:
        pk.advance(SETTLE)
    for amount in pending:
        destination_charge(pk, account, amount)
    return Seeded(account=account, bank=bank_id, card=card_id)


def destination_charge(pk: Payoutkit, account: str, amount: int) -> dict[str, Any]:
    return as_dict(
        pk.client.v1.charges.create(
            {
                "amount": amount,
                "currency": "usd",
                "source": "tok_visa",
                "transfer_data": {"destination": account},
            }
        )
    )


def balance(pk: Payoutkit, account: str) -> dict[str, Any]:
    return as_dict(pk.client.v1.balance.retrieve(options={"stripe_account": account}))


def available(pk: Payoutkit, account: str, currency: str = "usd") -> int:
    [entry] = [e for e in balance(pk, account)["available"] if e["currency"] == currency]
    amount: int = entry["amount"]
    return amount


def payouts(pk: Payoutkit, account: str) -> list[dict[str, Any]]:
    page = as_dict(pk.client.v1.payouts.list({"limit": 100}, {"stripe_account": account}))
    data: list[dict[str, Any]] = page["data"]
    return data


def payout(pk: Payoutkit, account: str, amount: int, **params: Any) -> dict[str, Any]:
    return as_dict(
        pk.client.v1.payouts.create(
            {"amount": amount, "currency": "usd", **params}, {"stripe_account": account}
        )
    )


def schedule(pk: Payoutkit, account: str) -> dict[str, Any]:
    found = as_dict(pk.client.v1.accounts.retrieve(account))
    sched: dict[str, Any] = found["settings"]["payouts"]["schedule"]
    return sched
