"""What payouts read of accounts and external accounts, as small typed values, in ONE place.

The accounts room owns accounts' payout settings and external accounts; payouts only read them. Every
read goes through the functions here, which turn the accounts room's documents into the values below,
so that switching to that room's records is a change of this module alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from payoutkit.ledger.schedule import Schedule
from payoutkit.services.accounts import account_data, external_accounts_list, schedule_of
from payoutkit.services.external_accounts import internal_of
from payoutkit.store import Tx
from payoutkit.store import resources as objects


@dataclass(frozen=True)
class PayoutSettings:
    """An account's `settings.payouts`."""

    schedule: Schedule
    debit_negative_balances: bool
    statement_descriptor: str | None

    @property
    def automatic(self) -> bool:
        return self.schedule.interval.value != "manual"


@dataclass(frozen=True)
class PayoutAccount:
    """An account as its payouts see it."""

    id: str
    country: str
    payouts: PayoutSettings
    # `controller.fees.payer` is the application: the platform pays the account's fees.
    platform_pays_fees: bool
    # `controller.losses.payments` is the application: the platform covers its negative balances.
    platform_liable: bool


@dataclass(frozen=True)
class Destination:
    """An external account (bank account or debit card) as a payout's destination."""

    id: str
    object: str
    livemode: bool
    currency: str
    country: str | None
    status: str | None
    default_for_currency: bool
    # None when the document does not say (a standard payout is then allowed).
    available_payout_methods: tuple[str, ...] | None

    @property
    def errored(self) -> bool:
        return self.status == "errored"

    def takes_listed(self, method: str) -> bool:
        """Whether the destination's document lists `method` (nothing listed: no method)."""
        return method in (self.available_payout_methods or ())

    def takes(self, method: str) -> bool:
        methods = self.available_payout_methods
        return method in (methods if methods is not None else ("standard",))


def payout_settings_of(settings: Mapping[str, Any]) -> PayoutSettings:
    """An account's payout settings from its `settings.payouts` section."""
    return PayoutSettings(
        schedule=schedule_of({"settings": {"payouts": settings}}),
        debit_negative_balances=bool(settings.get("debit_negative_balances")),
        statement_descriptor=settings.get("statement_descriptor"),
    )


def account_of(data: Mapping[str, Any]) -> PayoutAccount:
    controller = data.get("controller", {})
    return PayoutAccount(
        id=data["id"],
        country=data["country"],
        payouts=payout_settings_of(data["settings"]["payouts"]),
        platform_pays_fees=str(controller.get("fees", {}).get("payer", "account")).startswith("application"),
        platform_liable=controller.get("losses", {}).get("payments") == "application",
    )


def payout_account(tx: Tx, account_id: str) -> PayoutAccount:
    return account_of(account_data(tx, account_id))


def destination_of(doc: Mapping[str, Any]) -> Destination:
    methods = doc.get("available_payout_methods")
    return Destination(
        id=doc["id"],
        object=doc["object"],
        livemode=bool(doc.get("livemode")),
        currency=doc["currency"],
        country=doc.get("country"),
        status=doc.get("status"),
        default_for_currency=bool(doc.get("default_for_currency")),
        available_payout_methods=None if methods is None else tuple(methods),
    )


def destinations(tx: Tx, account_id: str, livemode: bool) -> list[Destination]:
    """The account's external accounts in this mode."""
    return [destination_of(d) for d in external_accounts_list(tx, account_id, livemode)]


def find_destination(tx: Tx, external_account_id: str) -> tuple[Destination, str] | None:
    """An external account and the account that owns it (None if there is none of that id)."""
    found = objects.get(tx, external_account_id)
    if found is None or found[0].get("object") not in ("bank_account", "card"):
        return None
    return destination_of(found[0]), found[1]


def destination_outcome(tx: Tx, external_account_id: str) -> str | None:
    """The failure code the destination's test number selects (None: its payouts succeed)."""
    return internal_of(tx, external_account_id).get("failure_code") or None
