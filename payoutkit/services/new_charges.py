"""What a charge's creation is asked (`ChargeCommand`) and the charges it makes: the charge as its
source has it, a declined one, and the destination's payment (`py_`) of a destination charge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from payoutkit.errors import CardError
from payoutkit.ids import new_id
from payoutkit.ledger import booking
from payoutkit.ledger.frozen import made_whole
from payoutkit.ledger.postings import SourceType
from payoutkit.records.charges import Charge, embedded_list
from payoutkit.services.actor import Actor
from payoutkit.services.test_tokens import TestSource


@dataclass(frozen=True)
class ChargeTransfer:
    """`transfer_data`: the connected account a destination charge pays, and how much (default all)."""

    destination: str
    amount: int | None = None


@dataclass(frozen=True, kw_only=True)
class ChargeCommand:
    amount: int
    currency: str
    source: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    application_fee_amount: int | None = None
    transfer_data: ChargeTransfer | None = None
    transfer_group: str | None = None
    on_behalf_of: str | None = None
    capture: bool | None = None
    receipt_email: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None


_AUTHORIZED = {
    "network_status": "approved_by_network",
    "reason": None,
    "risk_level": "normal",
    "seller_message": "Payment complete.",
    "type": "authorized",
}


def method_details(src: TestSource) -> dict[str, Any]:
    """The payment method's details, under the key that `type` names, with the fields Stripe's schema
    has."""
    if src.source_type is SourceType.BANK_ACCOUNT:
        ach = {
            "account_holder_type": "individual",
            "bank_name": "STRIPE TEST BANK",
            "country": "US",
            "fingerprint": None,
            "last4": src.last4,
            "routing_number": "110000000",
        }
        return {"type": "ach_debit", "ach_debit": ach}
    if src.source_type is SourceType.FPX:
        return {"type": "fpx", "fpx": {"bank": "maybank2u", "transaction_id": None}}
    card = {
        "brand": src.brand.lower(),
        "country": "US",
        "exp_month": 12,
        "exp_year": 2030,
        "funding": src.funding,
        "last4": src.last4,
        "network": src.brand.lower(),
    }
    return {"type": "card", "card": card}


def new_charge(
    actor: Actor, charge_id: str, command: ChargeCommand, src: TestSource, currency: str
) -> Charge:
    """The charge `command` makes, succeeded, before its booking."""
    return made_whole(  # every field at once (payoutkit/ledger/frozen.py): every charge request
        Charge,
        id=charge_id,
        amount=command.amount,
        amount_captured=command.amount,
        amount_refunded=0,
        application=None,
        application_fee=None,
        application_fee_amount=command.application_fee_amount,
        balance_transaction=None,
        billing_details={"address": None, "email": None, "name": None, "phone": None},
        calculated_statement_descriptor=command.statement_descriptor or "PAYOUTKIT",
        captured=True,
        created=actor.now,
        currency=currency,
        customer=None,
        description=command.description,
        disputed=False,
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        fraud_details={},
        livemode=actor.livemode,
        metadata=dict(command.metadata),
        on_behalf_of=command.on_behalf_of,
        outcome=dict(_AUTHORIZED),
        paid=True,
        payment_intent=None,
        payment_method=new_id("card") if src.source_type is SourceType.CARD else new_id("src"),
        payment_method_details=method_details(src),
        receipt_email=command.receipt_email,
        refunded=False,
        refunds=embedded_list(f"/v1/charges/{charge_id}/refunds"),
        source_transfer=None,
        statement_descriptor=command.statement_descriptor,
        statement_descriptor_suffix=command.statement_descriptor_suffix,
        status="succeeded",
        transfer_data=None,
        transfer_group=command.transfer_group,
        transfer=None,
    )


def declined(charge: Charge, decline: tuple[str, str, str]) -> tuple[Charge, CardError]:
    """The charge as its card's issuer declined it, and the decline to answer with."""
    code, decline_code, message = decline
    failed = replace(
        charge,
        status="failed",
        paid=False,
        captured=False,
        amount_captured=0,
        failure_code=code,
        failure_message=message,
        outcome={
            "network_status": "declined_by_network",
            "reason": decline_code,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        },
    )
    error = CardError(message, code=code, extra={"decline_code": decline_code, "charge": charge.id})
    return failed, error


def payment_of(charge: Charge, booked: booking.Charge, txn: str) -> Charge:
    """The destination's payment (`py_`) of a destination charge: what the transfer brings it."""
    assert booked.payment_id is not None
    return replace(
        charge,
        id=booked.payment_id,
        amount=booked.transfer_amount,
        amount_captured=booked.transfer_amount,
        application_fee_amount=None,
        balance_transaction=txn,
        description=None,
        disputed=False,
        metadata={},
        payment_method=None,
        payment_method_details=None,
        refunds=embedded_list(f"/v1/charges/{booked.payment_id}/refunds"),
        source_transfer=booked.transfer_id,
        transfer=None,
        transfer_data=None,
    )
