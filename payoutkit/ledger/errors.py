"""Domain errors raised by the pure ledger.

Every error the ledger refuses a command with is a ``LedgerError``, a branch of the one refusal tree
(``payoutkit/errors.py``, which imports nothing, so the ledger stays pure); it carries what Stripe's
error envelope needs (``message``, and where they apply ``param`` and ``code``) and nothing about HTTP.
The wire layer maps classes to statuses and error types once, by looking the class up through its
MRO: a ledger refusal is a 400 ``invalid_request_error`` like any ``InvalidRequest``.

    LedgerError                 message, param, code
     ├── InvalidAmount          code amount_too_small | amount_too_large | invalid_amount
     ├── UnsupportedCurrency    param "currency", code invalid_currency
     ├── InsufficientFunds      code balance_insufficient
     ├── InvalidSchedule        param settings[payouts][schedule][<field>]
     └── IllegalTransition      a payout (or other object) asked to move to a state it cannot reach

Programming errors (adding amounts of different currencies, a negative fee base, a float where an
int belongs inside the package) are ``TypeError``/``ValueError``: they are bugs, rendered as 500,
never as a client's mistake.
"""

from __future__ import annotations

from payoutkit.errors import InvalidRequest

__all__ = [
    "IllegalTransition",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidSchedule",
    "LedgerError",
    "UnsupportedCurrency",
]


class LedgerError(InvalidRequest):
    """A command the ledger refuses; ``param`` names the offending request parameter, if any."""


class InvalidAmount(LedgerError):
    """An amount that is not an int, is out of range, or has the wrong precision."""

    default_param = "amount"
    default_code = "invalid_amount"


class UnsupportedCurrency(LedgerError):
    """A currency code that is not in the currency table."""

    default_param = "currency"
    default_code = "invalid_currency"


class InsufficientFunds(LedgerError):
    """A debit larger than what the balance it draws on holds."""

    default_code = "balance_insufficient"


class InvalidSchedule(LedgerError):
    """A payout schedule update Stripe would reject; ``param`` is the exact form field."""

    default_param = "settings[payouts][schedule]"


class IllegalTransition(LedgerError):
    """A state change the lifecycle's transition table does not allow."""
