"""Stripe's fixed test values (tokens, card and bank numbers), and how live mode refuses them.

Test mode takes them to pick a charge's source type and outcome, or a destination's payout outcome;
live mode refuses every one of them (`tests/contract/test_modes.py`).
"""

from __future__ import annotations

from payoutkit.errors import CardError, InvalidRequest


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
