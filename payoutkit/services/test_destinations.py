"""The test destinations: bank account numbers, routing numbers, tokens and debit card numbers that select
what payouts to them do, as Stripe's public test tables do (docs/testing.md). In live mode they are
refused.
"""

from __future__ import annotations

US_ROUTING = "110000000"
# Account number → payout failure code ("" = succeeds). Same numbers work with CA/GB test routing.
BANK_OUTCOMES = {
    "000123456789": "",
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
    "000888888883": "",  # succeeds for standard payouts; not instant-eligible
    "000999999991": "",
    "000999999992": "",
    "00012345": "",  # GB test account with sort code 108800
}
NOT_INSTANT = {"000888888883"}
BANK_TOKENS = {
    "btok_us_verified": "000123456789",
    "btok_us_verified_noAccount": "000111111116",
    "btok_us_verified_accountClosed": "000111111113",
    "btok_us_verified_insufficientFunds": "000222222227",
    "btok_us_verified_debitNotAuthorized": "000333333335",
    "btok_us_verified_invalidCurrency": "000444444440",
    "btok_us": "000123456789",
}
# Debit card tokens: (brand, last4, payout failure code, instant eligible)
CARD_TOKENS = {
    "tok_visa_debit": ("Visa", "5556", "", True),
    "tok_visa_debit_us_transferSuccess": ("Visa", "5556", "", True),
    "tok_visa_debit_us_transferFail": ("Visa", "5572", "could_not_process", True),
    "tok_visa_debit_us_instantPayoutUnsupported": ("Visa", "5555", "", False),
    "tok_mastercard_debit": ("MasterCard", "8210", "", True),
    "tok_mastercard_debit_transferSuccess": ("MasterCard", "8210", "", True),
    "tok_discover_debit": ("Discover", "1113", "", True),
}
# Test routing numbers / sort codes (US, CA, GB): no live bank account is behind them.
TEST_ROUTING = {"110000000", "11000-000", "108800"}
CARD_NUMBERS = {
    "4000056655665556": "tok_visa_debit_us_transferSuccess",
    "4000056655665572": "tok_visa_debit_us_transferFail",
    "4000056755665555": "tok_visa_debit_us_instantPayoutUnsupported",
    "5200828282828210": "tok_mastercard_debit",
    "6011981111111113": "tok_discover_debit",
}
# Stripe's published test card numbers besides the debit cards above: declined in live mode.
STRIPE_TEST_CARDS = {
    "4242424242424242",
    "5555555555554444",
    "2223003122003222",
    "5105105105105100",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3056930009020004",
    "36227206271667",
    "3566002020360505",
    "6200000000000005",
}

# The fields of a card that Payoutkit does not model (no address or checks are taken): always null.
CARD_BLANKS = (
    "address_city",
    "address_country",
    "address_line1",
    "address_line1_check",
    "address_line2",
    "address_state",
    "address_zip",
    "address_zip_check",
    "cvc_check",
    "dynamic_last4",
    "tokenization_method",
)
