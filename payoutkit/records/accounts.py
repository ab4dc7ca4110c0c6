"""Accounts as records: the platform's and its connected accounts, their controller and payout settings.

`Account.from_doc(d)` reads the stored document (`accounts.data`), `doc()` gives it back in exactly its
stored shape: a key the document does not have (the platform's account has no `controller`,
`business_profile`, `capabilities` or `tos_acceptance`) stays absent. The row's columns (kind, platform,
mode) are not part of the document; the store passes them to `from_doc`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from payoutkit.ledger.frozen import made_whole
from payoutkit.ledger.schedule import Interval, Schedule, Weekday
from payoutkit.records.external_accounts import ExternalAccount

# The document's keys that the record types; any other key is kept as it is, in `extra`.
_KNOWN = frozenset(
    {
        "id",
        "object",
        "business_profile",
        "business_type",
        "capabilities",
        "controller",
        "country",
        "created",
        "default_currency",
        "email",
        "metadata",
        "settings",
        "tos_acceptance",
        "type",
    }
)


_INTERVALS = {i.value: i for i in Interval}


def schedule_from_doc(s: Mapping[str, Any]) -> Schedule:
    interval = s["interval"]
    return Schedule(
        interval=_INTERVALS[interval] if interval in _INTERVALS else Interval(interval),
        delay_days=s["delay_days"],
        weekly_anchor=Weekday(s["weekly_anchor"]) if s.get("weekly_anchor") else None,
        monthly_anchor=s.get("monthly_anchor"),
    )


def schedule_doc(s: Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {"delay_days": s.delay_days, "interval": s.interval.value}
    if s.weekly_anchor is not None:
        out["weekly_anchor"] = s.weekly_anchor.value
    if s.monthly_anchor is not None:
        out["monthly_anchor"] = s.monthly_anchor
    return out


@dataclass(frozen=True)
class PayoutSettings:
    """`settings.payouts`: when automatic payouts run, and how a negative balance is recovered."""

    schedule: Schedule
    debit_negative_balances: bool
    statement_descriptor: str | None = None

    @property
    def automatic(self) -> bool:
        """Whether its balances are paid out by its schedule (any interval but manual)."""
        return self.schedule.interval is not Interval.MANUAL

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> PayoutSettings:
        return cls(
            schedule=schedule_from_doc(d["schedule"]),
            debit_negative_balances=bool(d.get("debit_negative_balances")),
            statement_descriptor=d.get("statement_descriptor"),
        )

    def doc(self) -> dict[str, Any]:
        return {
            "debit_negative_balances": self.debit_negative_balances,
            "schedule": schedule_doc(self.schedule),
            "statement_descriptor": self.statement_descriptor,
        }


@dataclass(frozen=True)
class Controller:
    """Who controls a connected account: who pays its fees, who is liable for its losses."""

    type: str  # account | application
    fees_payer: str  # account | application | application_express | application_custom
    losses_payments: str  # application | stripe
    requirement_collection: str  # application | stripe
    dashboard: str  # express | full | none
    is_controller: bool = True

    @property
    def liable(self) -> bool:
        """Whether the platform is liable for the account's negative balances."""
        return self.losses_payments == "application"

    @property
    def platform_pays_fees(self) -> bool:
        return self.fees_payer.startswith("application")

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Controller:
        return cls(
            type=d["type"],
            fees_payer=d["fees"]["payer"],
            losses_payments=d["losses"]["payments"],
            requirement_collection=d["requirement_collection"],
            dashboard=d["stripe_dashboard"]["type"],
            is_controller=d.get("is_controller", True),
        )

    def doc(self) -> dict[str, Any]:
        return {
            "fees": {"payer": self.fees_payer},
            "is_controller": self.is_controller,
            "losses": {"payments": self.losses_payments},
            "requirement_collection": self.requirement_collection,
            "stripe_dashboard": {"type": self.dashboard},
            "type": self.type,
        }


@dataclass(frozen=True)
class Account:
    id: str
    country: str
    default_currency: str
    created: int | None
    type: str
    payouts: PayoutSettings
    email: str | None = None
    business_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    controller: Controller | None = None
    # Decorative sections, None when the document has no such key.
    business_profile: Mapping[str, Any] | None = None
    capabilities: Mapping[str, str] | None = None
    tos_acceptance: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # The row's columns, not the document's.
    kind: str = "connected"  # platform | connected | system
    platform_id: str | None = None
    livemode: bool = False

    @property
    def schedule(self) -> Schedule:
        return self.payouts.schedule

    @property
    def liable(self) -> bool:
        """Whether its platform is liable for its negative balances (a connected account's controller)."""
        return self.kind == "connected" and self.controller is not None and self.controller.liable

    @property
    def platform_pays_fees(self) -> bool:
        """Whether its platform pays its fees (`controller.fees.payer` is the application)."""
        return self.controller is not None and self.controller.platform_pays_fees

    @classmethod
    def from_doc(
        cls,
        d: Mapping[str, Any],
        *,
        kind: str = "connected",
        platform_id: str | None = None,
        livemode: bool = False,
    ) -> Account:
        ctrl = d.get("controller")
        # Every field at once (`made_whole`): each request that acts reads its account.
        return made_whole(
            cls,
            id=d["id"],
            country=d["country"],
            default_currency=d["default_currency"],
            created=d.get("created"),
            type=d["type"],
            payouts=PayoutSettings.from_doc(d["settings"]["payouts"]),
            email=d.get("email"),
            business_type=d.get("business_type"),
            metadata=dict(d.get("metadata") or {}),
            controller=Controller.from_doc(ctrl) if ctrl is not None else None,
            business_profile=d.get("business_profile"),
            capabilities=d.get("capabilities"),
            tos_acceptance=d.get("tos_acceptance"),
            extra={k: v for k, v in d.items() if k not in _KNOWN},
            kind=kind,
            platform_id=platform_id,
            livemode=livemode,
        )

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": "account"}
        if self.business_profile is not None:
            out["business_profile"] = dict(self.business_profile)
        out["business_type"] = self.business_type
        if self.capabilities is not None:
            out["capabilities"] = dict(self.capabilities)
        if self.controller is not None:
            out["controller"] = self.controller.doc()
        out["country"] = self.country
        out["created"] = self.created
        out["default_currency"] = self.default_currency
        out["email"] = self.email
        out["metadata"] = dict(self.metadata)
        out["settings"] = {"payouts": self.payouts.doc()}
        if self.tos_acceptance is not None:
            out["tos_acceptance"] = dict(self.tos_acceptance)
        out["type"] = self.type
        out.update(self.extra)
        return out


def stripe_object(account: Account, external_accounts: Sequence[ExternalAccount]) -> dict[str, Any]:
    """The account as Stripe shows it (the wire renders it, events carry it): the document and what is
    computed from it and its external accounts (newest first, of the mode that reads it)."""
    obj = account.doc()
    ext = list(external_accounts)
    obj["external_accounts"] = {
        "object": "list",
        "data": [e.rendered() for e in ext[:10]],
        "has_more": len(ext) > 10,
        "url": f"/v1/accounts/{account.id}/external_accounts",
    }
    obj["charges_enabled"] = True
    obj["details_submitted"] = True
    obj["payouts_enabled"] = bool(ext)
    obj.setdefault("created", None)
    due = [] if ext else ["external_account"]
    obj["requirements"] = {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": due,
        "disabled_reason": None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": [],
        "pending_verification": [],
    }
    obj["settings"] = {
        "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
        "card_payments": {"statement_descriptor_prefix": None},
        "dashboard": {"display_name": None, "timezone": "Etc/UTC"},
        "payments": {"statement_descriptor": None},
        **obj["settings"],
    }
    return obj


@dataclass(frozen=True)
class Standing:
    """What never changes about an account once created: its country, kind and controller (who pays
    its fees, who is liable for its losses). No update path changes them (services/account_rules.py
    `apply_changes`), so a process may keep them as long as it lives."""

    id: str
    country: str
    platform_pays_fees: bool
    liable: bool

    @classmethod
    def of(cls, account: Account) -> Standing:
        return cls(account.id, account.country, account.platform_pays_fees, account.liable)
