"""The checks of a charge's command, before anything is stored: its amounts (the minimum, the
application fee), its destination (a destination charge is the platform's, to one of its connected
accounts), `on_behalf_of`, and what a destination charge transfers."""

from __future__ import annotations

from dataclasses import dataclass

from payoutkit.errors import InvalidRequest
from payoutkit.ids import check_id
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.services import accounts as accounts_service
from payoutkit.services.access import connected_account
from payoutkit.services.actor import Actor
from payoutkit.services.new_charges import ChargeCommand
from payoutkit.store import Tx

MINIMUM_CHARGE = 50


@dataclass(frozen=True)
class Checked:
    """The command's amounts once checked: what the booking takes."""

    currency: str
    amount: int
    application_fee: int
    destination: str | None
    transfer_amount: int


def _check_amounts(command: ChargeCommand) -> tuple[str, int, int]:
    currency = check_currency(command.currency)
    amount = check_amount(command.amount, currency)
    if amount < MINIMUM_CHARGE:
        raise InvalidRequest(
            f"Amount must be at least {MINIMUM_CHARGE} in the currency's minor unit.",
            param="amount",
            code="amount_too_small",
        )
    if command.capture is False:
        raise InvalidRequest("Uncaptured charges are not supported; omit capture.", param="capture")
    app_fee = command.application_fee_amount or 0
    if app_fee < 0 or app_fee > amount:
        raise InvalidRequest(
            "The application fee must be between 0 and the charge amount.",
            param="application_fee_amount",
            code="parameter_invalid_integer",
        )
    return currency, amount, app_fee


def _check_destination(tx: Tx, actor: Actor, command: ChargeCommand, app_fee: int) -> str | None:
    """The connected account a destination charge pays (None for a direct charge)."""
    td = command.transfer_data
    if td is None:
        if app_fee and actor.is_platform:
            raise InvalidRequest(
                "An application fee needs a connected account: make a destination charge or use "
                "Stripe-Account.",
                param="application_fee_amount",
            )
        return None
    if not actor.is_platform:
        raise InvalidRequest(
            "A destination charge is made by the platform, without Stripe-Account.",
            param="transfer_data[destination]",
        )
    check_id(td.destination, ("acct",), "transfer_data[destination]", "account")
    destination = connected_account(tx, actor, td.destination, param="transfer_data[destination]").id
    if td.amount is not None and command.application_fee_amount is not None:
        raise InvalidRequest(
            "Use either application_fee_amount or transfer_data[amount], not both.",
            param="transfer_data[amount]",
        )
    return destination


def check(tx: Tx, actor: Actor, command: ChargeCommand) -> Checked:
    currency, amount, app_fee = _check_amounts(command)
    destination = _check_destination(tx, actor, command, app_fee)
    if command.on_behalf_of is not None:  # an account this key can see, in its mode
        check_id(command.on_behalf_of, ("acct",), "on_behalf_of", "account")
        accounts_service.visible(tx, actor, command.on_behalf_of, param="on_behalf_of")
    transfer_amount = amount
    td = command.transfer_data
    if td is not None and td.amount is not None:
        transfer_amount = check_amount(td.amount, currency, param="transfer_data[amount]")
        if transfer_amount > amount:
            raise InvalidRequest(
                "transfer_data[amount] cannot exceed the charge amount.", param="transfer_data[amount]"
            )
    return Checked(currency, amount, app_fee, destination, transfer_amount if destination else 0)
