"""/v1/payoutkit/instant_payout_pricing (a Payoutkit extension): the platform's instant payout
pricing, its parameter models, handlers and rendering."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from payoutkit.api.context import Call
from payoutkit.api.params import DecimalString, Int, Nested, Params
from payoutkit.records.payouts import PricedCurrency
from payoutkit.services import instant


class CurrencyPricing(Nested):
    percent: DecimalString
    minimum: Int | None = None
    maximum: Int | None = None


class PricingUpdate(Params):
    # `currencies[usd][percent]=1.5&currencies[usd][minimum]=50`; `currencies[usd]=` removes the
    # currency's pricing (no instant payout fee for it, even if configuration sets one).
    currencies: dict[str, CurrencyPricing | None]


def render(priced: list[PricedCurrency], livemode: bool) -> dict[str, Any]:
    currencies = {
        p.currency: {
            "percent": str(Decimal(p.percent_bps) / 100),
            "minimum": p.minimum,
            "maximum": p.maximum,
            "source": p.source,
        }
        for p in priced
    }
    return {"object": "payoutkit.instant_payout_pricing", "livemode": livemode, "currencies": currencies}


def retrieve_pricing(call: Call, p: Params) -> dict[str, Any]:
    priced = instant.retrieve_pricing(call.conn, call.actor, call.runtime.settings)
    return render(priced, call.actor.livemode)


def update_pricing(call: Call, p: PricingUpdate) -> dict[str, Any]:
    command = instant.SetPricing(
        {
            currency: None
            if entry is None
            else instant.PriceChange(entry.percent, entry.minimum, entry.maximum)
            for currency, entry in p.currencies.items()
        }
    )
    priced = instant.update_pricing(call.conn, call.actor, command, call.runtime.settings)
    return render(priced, call.actor.livemode)
