"""Stripe's fixed test values (tokens, card and bank numbers), and how live mode refuses them.

Test mode takes them to pick a charge's source type and outcome, or a destination's payout outcome;
live mode refuses every one of them (`tests/contract/test_modes.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from payoutkit.errors import CardError, InvalidRequest, ResourceMissing
from payoutkit.ledger.postings import SourceType


def test_id_in_livemode(value: str, param: str) -> InvalidRequest:
    """Stripe's answer to one of its fixed test ids (`tok_visa`, `btok_us_verified`) sent with a live key."""
    return InvalidRequest(
        f"You cannot use the test ID '{value}' in livemode. If you are testing your integration, please "
        "use your testmode API keys instead.",
        param=param,
        code="resource_missing",
    )


def live_mode_test_card(param: str) -> CardError:
    """Stripe's decline of a known test card number sent with a live key."""
    return CardError(
        "Your card was declined. Your request was in live mode, but used a known test card.",
        param=param,
        code="card_declined",
        extra={"decline_code": "live_mode_test_card"},
    )


# -- the charges' sources --------------------------------------------------------------------------


@dataclass(frozen=True)
class TestSource:
    """What a charge's test token stands for: the source type, the card's look, and the outcome."""

    source_type: SourceType
    brand: str
    last4: str
    funding: str = "credit"
    bypass_pending: bool = False
    dispute: bool = False
    decline: tuple[str, str, str] | None = None  # (code, decline_code, message)
    currency: str | None = None  # a source that only takes one currency


_DECLINED = "Your card was declined."
TEST_SOURCES = {
    "tok_visa": TestSource(SourceType.CARD, "Visa", "4242"),
    "tok_us": TestSource(SourceType.CARD, "Visa", "4242"),
    "tok_visa_debit": TestSource(SourceType.CARD, "Visa", "5556", funding="debit"),
    "tok_mastercard": TestSource(SourceType.CARD, "MasterCard", "4444"),
    "tok_mastercard_debit": TestSource(SourceType.CARD, "MasterCard", "8210", funding="debit"),
    "tok_amex": TestSource(SourceType.CARD, "American Express", "8431"),
    "tok_discover": TestSource(SourceType.CARD, "Discover", "1117"),
    "tok_bypassPending": TestSource(SourceType.CARD, "Visa", "0077", bypass_pending=True),
    "tok_createDispute": TestSource(SourceType.CARD, "Visa", "0259", dispute=True),
    "tok_chargeDeclined": TestSource(
        SourceType.CARD, "Visa", "0002", decline=("card_declined", "generic_decline", _DECLINED)
    ),
    "tok_chargeDeclinedInsufficientFunds": TestSource(
        SourceType.CARD,
        "Visa",
        "9995",
        decline=("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "tok_chargeDeclinedFraudulent": TestSource(
        SourceType.CARD, "Visa", "0019", decline=("card_declined", "fraudulent", _DECLINED)
    ),
    "tok_chargeDeclinedExpiredCard": TestSource(
        SourceType.CARD, "Visa", "0069", decline=("expired_card", "expired_card", "Your card has expired.")
    ),
    "tok_chargeDeclinedProcessingError": TestSource(
        SourceType.CARD,
        "Visa",
        "0119",
        decline=("processing_error", "processing_error", "An error occurred while processing your card."),
    ),
    # Legacy ACH through the Charges API: the `bank_account` source type.
    "btok_us_verified": TestSource(
        SourceType.BANK_ACCOUNT, "ach", "6789", funding="bank_account", currency="usd"
    ),
    # Payoutkit's test token for FPX (Malaysia, MYR only): the `fpx` source type.
    "tok_fpx": TestSource(SourceType.FPX, "fpx", "0000", funding="fpx", currency="myr"),
}


def charge_source(token: str | None, currency: str, livemode: bool) -> TestSource:
    """The source a charge's `source` token names, refused as Stripe refuses it (missing, unknown, a
    test token in live mode, or a currency the source does not take)."""
    if token is None:
        raise InvalidRequest(
            "You must supply a source (a test token such as tok_visa).",
            param="source",
            code="parameter_missing",
        )
    found = TEST_SOURCES.get(token)
    if found is not None and livemode:
        raise test_id_in_livemode(token, "source")
    if found is None:
        raise ResourceMissing(f"No such token: '{token}'", param="source")
    if found.currency and found.currency != currency:
        raise InvalidRequest(
            f"The source {token} only accepts {found.currency}.", param="currency", code="invalid_currency"
        )
    return found
