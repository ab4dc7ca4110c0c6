"""The platform's backend, as a Stripe Connect platform writes it: only the official `stripe` SDK,
pointed at Payoutkit by its address. Copy from here.

The one thing that makes embedded components work is `create_session`: the backend (with its secret
key) creates an account session for the connected account the visitor looks at, enabling the
components and features it wants, and hands only the session's `client_secret` to the browser, where
connect.js claims it.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

import stripe

HOUR = 3600
DAY = 86_400


@dataclass(frozen=True)
class Features:
    """What the session lets the account do in the `balances` and `payouts` components."""

    instant_payouts: bool = True
    standard_payouts: bool = True
    edit_payout_schedule: bool = True


def as_dict(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain JSON-ready dicts (for the pages and the seed's arithmetic)."""
    found: dict[str, Any] = obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj
    return found


# The platform account's metadata key where the seed marks that it started and that it completed.
SEED_MARK = "payoutkit_demo_seed"


class Platform:
    """The platform's calls to Payoutkit, each one SDK call (or a raw request for the test clock)."""

    def __init__(self, payoutkit_url: str, secret_key: str, publishable_key: str) -> None:
        self.payoutkit_url = payoutkit_url
        self.publishable_key = publishable_key
        self.client = stripe.StripeClient(secret_key, base_addresses={"api": payoutkit_url})

    # -- connected accounts ------------------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        found = self.client.v1.accounts.list({"limit": 100})
        return [as_dict(a) for a in found.auto_paging_iter()]

    def account(self, account: str) -> dict[str, Any]:
        return as_dict(self.client.v1.accounts.retrieve(account))

    def create_account(self, params: dict[str, Any]) -> str:
        return str(self.client.v1.accounts.create(params).id)  # type: ignore[arg-type]

    def add_external_account(self, account: str, external_account: str | dict[str, Any]) -> str:
        created = self.client.v1.accounts.external_accounts.create(
            account,
            {"external_account": external_account},  # type: ignore[typeddict-item]
        )
        return str(created.id)

    # -- the seed's own mark, on the platform account --------------------------------------------

    def seed_state(self) -> str | None:
        """How far the demo's seed got on this database: "started", "complete", or None (never seeded by
        a demo that marks its seed)."""
        metadata: dict[str, str] = as_dict(self.client.v1.accounts.retrieve_current()).get("metadata") or {}
        return metadata.get(SEED_MARK)

    def mark_seed(self, state: str) -> None:
        me = self.client.v1.accounts.retrieve_current().id
        self.client.v1.accounts.update(me, {"metadata": {SEED_MARK: state}})

    # -- account sessions: what the browser's connect.js claims ----------------------------------

    def create_session(self, account: str, features: Features) -> str:
        """A new account session for `account`; only its client secret goes to the browser. (A real
        platform first checks that the signed-in user may see this account.)"""
        wanted = {
            "instant_payouts": features.instant_payouts,
            "standard_payouts": features.standard_payouts,
            "edit_payout_schedule": features.edit_payout_schedule,
        }
        params: dict[str, Any] = {
            "account": account,
            "components": {
                "balances": {"enabled": True, "features": wanted},
                "payouts": {"enabled": True, "features": wanted},
                "payout_details": {"enabled": True},
            },
        }
        session = self.client.v1.account_sessions.create(params)  # type: ignore[arg-type]
        return str(session.client_secret)

    # -- money: charges, refunds, disputes, transfers, payouts ------------------------------------

    def charge(self, account: str, amount: int, currency: str, source: str = "tok_visa") -> dict[str, Any]:
        """A destination charge: the customer pays the platform, the funds go to `account` less the
        platform's 10% application fee. `tok_createDispute` makes one that is disputed at once."""
        return as_dict(
            self.client.v1.charges.create(
                {
                    "amount": amount,
                    "currency": currency,
                    "source": source,
                    "application_fee_amount": amount // 10,
                    "transfer_data": {"destination": account},
                }
            )
        )

    def refund(self, charge: str, amount: int | None = None) -> dict[str, Any]:
        """Refund a destination charge, taking the funds back from the account and the fee back from the
        platform, as Stripe's `reverse_transfer` and `refund_application_fee` do."""
        params: dict[str, Any] = {"charge": charge, "reverse_transfer": True, "refund_application_fee": True}
        if amount is not None:
            params["amount"] = amount
        return as_dict(self.client.v1.refunds.create(params))  # type: ignore[arg-type]

    def transfer(self, account: str, amount: int, currency: str) -> dict[str, Any]:
        """Move the platform's own available funds to the account (a bonus, a correction)."""
        return as_dict(
            self.client.v1.transfers.create({"amount": amount, "currency": currency, "destination": account})
        )

    def top_up(self, amount: int, currency: str) -> dict[str, Any]:
        """Add funds to the platform's balance from its bank (test bank: available at once)."""
        return as_dict(self.client.v1.topups.create({"amount": amount, "currency": currency}))

    def payout(self, account: str, amount: int, currency: str, **params: Any) -> dict[str, Any]:
        """A payout made by the platform on the account's behalf (`Stripe-Account`)."""
        fields: dict[str, Any] = {"amount": amount, "currency": currency, **params}
        created = self.client.v1.payouts.create(fields, {"stripe_account": account})  # type: ignore[arg-type]
        return as_dict(created)

    def balance(self, account: str) -> dict[str, Any]:
        return as_dict(self.client.v1.balance.retrieve(options={"stripe_account": account}))

    def payouts(self, account: str, limit: int = 20) -> list[dict[str, Any]]:
        found = self.client.v1.payouts.list({"limit": limit}, {"stripe_account": account})
        return [as_dict(p) for p in found.data]

    def set_instant_pricing(self, currency: str, percent: str, minimum: int) -> None:
        """The platform's instant payout fee (a Payoutkit extension, so a raw request)."""
        fields = {"percent": percent, "minimum": minimum}
        self.client.raw_request(
            "post", "/v1/payoutkit/instant_payout_pricing",
            **{f"currencies[{currency}][{k}]": v for k, v in fields.items()},
        )  # fmt: skip

    # -- the test clock (a Payoutkit extension: raw requests) ------------------------------------

    def now(self) -> int:
        found = self.client.raw_request("get", "/v1/test_helpers/clock")
        return int(self.client.deserialize(found, api_mode="V1")["now"])

    def advance(self, seconds: int | None = None, *, to: int | None = None) -> int:
        """Move test mode's clock: funds settle, payouts run and move, webhooks are sent, as they would
        have meanwhile. Answers the new time."""
        params = {"seconds": seconds} if seconds is not None else {"to": to}
        found = self.client.raw_request("post", "/v1/test_helpers/clock/advance", **params)
        return int(self.client.deserialize(found, api_mode="V1")["now"])

    # -- webhooks -----------------------------------------------------------------------------------

    def register_webhooks(self, url: str) -> list[str]:
        """(Re)register the platform's endpoints at `url`: one for its own events (charges, transfers,
        top-ups), one (`connect`) for its accounts' (payouts, balance). Answers their signing secrets,
        which are shown only when an endpoint is created: a restart makes new endpoints."""
        for endpoint in self.client.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter():
            if as_dict(endpoint).get("metadata", {}).get("demo") == "payoutkit":
                self.client.v1.webhook_endpoints.delete(endpoint.id)
        secrets = []
        for connect in (False, True):
            created = self.client.v1.webhook_endpoints.create(
                {"url": url, "enabled_events": ["*"], "connect": connect, "metadata": {"demo": "payoutkit"}}
            )
            secrets.append(str(created.secret))
        return secrets

    @staticmethod
    def verify_event(payload: bytes, signature: str | None, secrets: list[str]) -> stripe.Event:
        """A webhook's event, if its `Stripe-Signature` is one of our endpoints'; else raises
        SignatureVerificationError."""
        for secret in secrets[:-1]:
            with contextlib.suppress(stripe.SignatureVerificationError):
                return cast(stripe.Event, stripe.Webhook.construct_event(payload, signature or "", secret))
        return cast(stripe.Event, stripe.Webhook.construct_event(payload, signature or "", secrets[-1]))


def next_payout_run(schedule: dict[str, Any], now: int) -> int | None:
    """When the schedule's next automatic payout runs (00:00 UTC on its days), None for `manual`."""
    interval = schedule.get("interval")
    day = dt.datetime.fromtimestamp(now, dt.UTC).date() + dt.timedelta(days=1)
    for _ in range(62):
        if _runs_on(interval, schedule, day):
            return calendar.timegm(day.timetuple())
        day += dt.timedelta(days=1)
    return None


def _runs_on(interval: object, schedule: dict[str, Any], day: dt.date) -> bool:
    if interval == "daily":
        return True
    if interval == "weekly":
        return day.strftime("%A").lower() == str(schedule.get("weekly_anchor") or "monday")
    if interval == "monthly":
        anchor = int(schedule.get("monthly_anchor") or 1)
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(anchor, last)
    return False
