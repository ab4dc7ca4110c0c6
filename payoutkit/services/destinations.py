"""What an external account is made from: a test token, bank account details or a debit card number.

Each is checked (in the order of Stripe's errors) and made into an `ExternalAccount` record with the
`PayoutOutcome` its test number selects (services/test_destinations.py). In live mode the test values are
refused; in test mode only they are taken.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from payoutkit.errors import InvalidRequest
from payoutkit.ids import new_id
from payoutkit.ledger.money import check_currency
from payoutkit.records.accounts import Account
from payoutkit.records.external_accounts import BankDetails, CardDetails, ExternalAccount, PayoutOutcome
from payoutkit.services.test_destinations import (
    BANK_OUTCOMES,
    BANK_TOKENS,
    CARD_BLANKS,
    CARD_NUMBERS,
    CARD_TOKENS,
    NOT_INSTANT,
    STRIPE_TEST_CARDS,
    TEST_ROUTING,
    US_ROUTING,
)
from payoutkit.services.test_tokens import live_mode_test_card, test_id_in_livemode

INSTANT_COUNTRIES = {"US", "GB", "CA", "AU", "SG"}


@dataclass(frozen=True)
class BankAccountGiven:
    """`external_account[object]=bank_account` and its fields."""

    account_number: str
    country: str
    currency: str | None = None
    routing_number: str | None = None
    account_holder_name: str | None = None
    account_holder_type: str | None = None
    account_type: str | None = None


@dataclass(frozen=True)
class CardGiven:
    """`external_account[object]=card` and its fields."""

    number: str
    exp_month: int
    exp_year: int
    currency: str | None = None


@dataclass(frozen=True)
class Drafted:
    """An external account being created: whose, in which mode, when."""

    account: Account
    livemode: bool
    now: int


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _methods(instant: bool) -> tuple[str, ...]:
    return ("standard", "instant") if instant else ("standard",)


def _check_number(number: str) -> None:
    if not number.isdigit() or not 4 <= len(number) <= 17:
        raise InvalidRequest(
            "Invalid account number.", param="external_account[account_number]", code="account_number_invalid"
        )


def _check_bank(number: str, country: str, routing: str | None, livemode: bool) -> None:
    if country == "US" and (routing is None or len(routing) != 9 or not routing.isdigit()):
        raise InvalidRequest(
            "Routing number must have 9 digits.",
            param="external_account[routing_number]",
            code="routing_number_invalid",
        )
    if livemode and (number in BANK_OUTCOMES or routing in TEST_ROUTING):
        name = "account_number" if number in BANK_OUTCOMES else "routing_number"
        raise InvalidRequest(
            "You cannot use a test bank account in livemode. If you are testing your integration, please "
            "use your testmode API keys instead.",
            param=f"external_account[{name}]",
            code=f"{name}_invalid",
        )
    if not livemode and number not in BANK_OUTCOMES:
        raise InvalidRequest(
            "In test mode use a test account number, such as 000123456789 (see docs/testing.md).",
            param="external_account[account_number]",
            code="account_number_invalid",
        )


def _bank(d: Drafted, given: BankAccountGiven) -> tuple[ExternalAccount, PayoutOutcome]:
    number = given.account_number.replace(" ", "")
    country = given.country.upper()
    _check_number(number)
    currency = check_currency(
        given.currency or d.account.default_currency, param="external_account[currency]"
    )
    _check_bank(number, country, given.routing_number, d.livemode)
    bank = BankDetails(
        account_holder_name=given.account_holder_name,
        account_holder_type=given.account_holder_type,
        account_type=given.account_type,
        bank_name="PAYOUTKIT TEST BANK" if not d.livemode else None,
        routing_number=given.routing_number,
    )
    ea = ExternalAccount(
        id=new_id("ba"),
        object="bank_account",
        account=d.account.id,
        country=country,
        currency=currency,
        default_for_currency=False,
        status="new",
        available_payout_methods=_methods(number not in NOT_INSTANT and country in INSTANT_COUNTRIES),
        fingerprint=_fingerprint(country, given.routing_number or "", number),
        last4=number[-4:],
        livemode=d.livemode,
        created=d.now,
        bank=bank,
    )
    return ea, PayoutOutcome(BANK_OUTCOMES.get(number, ""))


def _card(
    d: Drafted, token: str, currency: str, exp: tuple[int, int] = (12, 2030)
) -> tuple[ExternalAccount, PayoutOutcome]:
    brand, last4, failure, instant = CARD_TOKENS[token]
    ea = ExternalAccount(
        id=new_id("card"),
        object="card",
        account=d.account.id,
        country="US",
        currency=currency,
        default_for_currency=False,
        status="new",
        available_payout_methods=_methods(instant),
        fingerprint=_fingerprint("card", token),
        last4=last4,
        livemode=d.livemode,
        created=d.now,
        card=CardDetails(brand=brand, exp_month=exp[0], exp_year=exp[1]),
        extra=dict.fromkeys(CARD_BLANKS),
    )
    return ea, PayoutOutcome(failure)


def _from_token(d: Drafted, token: str) -> tuple[ExternalAccount, PayoutOutcome]:
    if d.livemode and (token in BANK_TOKENS or token in CARD_TOKENS):
        raise test_id_in_livemode(token, "external_account")
    if token in BANK_TOKENS:
        given = BankAccountGiven(BANK_TOKENS[token], "US", currency="usd", routing_number=US_ROUTING)
        return _bank(d, given)
    if token in CARD_TOKENS:
        return _card(d, token, d.account.default_currency)
    raise InvalidRequest(f"No such token: '{token}'", param="external_account", code="resource_missing")


def _from_card(d: Drafted, given: CardGiven) -> tuple[ExternalAccount, PayoutOutcome]:
    number = given.number.replace(" ", "")
    if d.livemode and (number in CARD_NUMBERS or number in STRIPE_TEST_CARDS):
        raise live_mode_test_card("external_account[number]")
    token = CARD_NUMBERS.get(number)
    if token is None:
        raise InvalidRequest(
            "Use a test debit card number (see docs/testing.md).",
            param="external_account[number]",
            code="invalid_number",
        )
    currency = check_currency(given.currency or d.account.default_currency)
    return _card(d, token, currency, (given.exp_month, given.exp_year))


def drafted(d: Drafted, source: str | BankAccountGiven | CardGiven) -> tuple[ExternalAccount, PayoutOutcome]:
    if isinstance(source, str):
        return _from_token(d, source)
    if isinstance(source, BankAccountGiven):
        return _bank(d, source)
    return _from_card(d, source)
