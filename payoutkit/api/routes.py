"""Every route of the v1 API that Payoutkit serves, bound to its service and parameter model."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from payoutkit.api.listing import ListParams
from payoutkit.api.v1 import (
    account_sessions,
    accounts,
    balance,
    charges,
    clock,
    disputes,
    external_accounts,
    instant,
    payouts,
    refunds,
    topups,
    transfers,
)
from payoutkit.api.v1 import events as v1_events
from payoutkit.api.v1 import webhook_endpoints as v1_endpoints
from payoutkit.api.v1.account_params import AccountCreate, AccountList, AccountUpdate
from payoutkit.api.wire import route


def _h(path: str, method: str, handler: object, *args: object, **kwargs: object) -> Route:
    """A route to a handler `(call, params, **path)` of `payoutkit/api/v1/`. Every GET only reads: its
    unit takes no write lock (on PostgreSQL it is a READ ONLY transaction, which refuses a write)."""
    kwargs.setdefault("read_only", method == "GET")
    return route(path, method, handler, *args, **kwargs)  # type: ignore[arg-type]


TXNS = balance.BalanceTransactionList

EA = "/v1/accounts/{account}/external_accounts"

# Operations Stripe serves under a collection, at the place where an id goes (`/v1/charges/search`):
# Payoutkit does not serve them, and they are not ids, so they answer "Unrecognized request URL" like
# any other URL that is not served, rather than "Invalid charge id: 'search'".
UNSERVED_OPERATIONS = ("search",)


async def unserved(request: Request) -> None:
    raise HTTPException(404)


routes = [
    *(
        Route(f"/v1/{{collection:path}}/{name}", unserved, methods=["GET", "POST", "DELETE"])
        for name in UNSERVED_OPERATIONS
    ),
    _h("/v1/balance", "GET", balance.retrieve, shared=balance.read_together),
    _h("/v1/balance_transactions", "GET", balance.list_transactions, TXNS),
    _h("/v1/balance/history", "GET", balance.list_transactions, TXNS),
    _h("/v1/balance_transactions/{id}", "GET", balance.retrieve_transaction),
    _h("/v1/balance/history/{id}", "GET", balance.retrieve_transaction),
    _h("/v1/account", "GET", accounts.retrieve_own),
    _h("/v1/accounts", "POST", accounts.create, AccountCreate),
    _h("/v1/accounts", "GET", accounts.list_accounts, AccountList),
    _h("/v1/accounts/{account}", "GET", accounts.retrieve),
    _h("/v1/accounts/{account}", "POST", accounts.update, AccountUpdate),
    # Not idempotent: a replay would keep the client secret in the stored response, and only digests
    # of secrets are kept (a retried creation makes another session, which expires unclaimed).
    _h(
        "/v1/account_sessions",
        "POST",
        account_sessions.create,
        account_sessions.AccountSessionCreate,
        idempotent=False,
    ),
    _h(EA, "POST", external_accounts.create, external_accounts.ExternalAccountCreate),
    _h(EA, "GET", external_accounts.list_external_accounts, external_accounts.ExternalAccountList),
    _h(EA + "/{ea}", "GET", external_accounts.retrieve),
    _h(EA + "/{ea}", "POST", external_accounts.update, external_accounts.ExternalAccountUpdate),
    _h(EA + "/{ea}", "DELETE", external_accounts.delete),
    _h("/v1/charges", "POST", charges.create, charges.ChargeCreate),
    _h("/v1/charges", "GET", charges.list_charges, ListParams),
    _h("/v1/charges/{charge}", "GET", charges.retrieve),
    _h("/v1/charges/{charge}", "POST", charges.modify, charges.ChargeUpdate),
    _h("/v1/refunds", "POST", refunds.create, refunds.RefundCreate),
    _h("/v1/refunds", "GET", refunds.list_refunds, refunds.RefundList),
    _h("/v1/refunds/{refund}", "GET", refunds.retrieve),
    _h("/v1/refunds/{refund}", "POST", refunds.modify, refunds.RefundUpdate),
    _h("/v1/disputes", "GET", disputes.list_disputes, ListParams),
    _h("/v1/disputes/{dispute}", "GET", disputes.retrieve),
    _h("/v1/transfers", "POST", transfers.create, transfers.TransferCreate),
    _h("/v1/transfers", "GET", transfers.list_transfers, transfers.TransferList),
    _h("/v1/transfers/{id}", "GET", transfers.retrieve),
    _h("/v1/transfers/{id}", "POST", transfers.modify, transfers.TransferUpdate),
    _h("/v1/transfers/{id}/reversals", "POST", transfers.create_reversal, transfers.ReversalCreate),
    _h("/v1/transfers/{id}/reversals", "GET", transfers.list_reversals, ListParams),
    _h("/v1/transfers/{id}/reversals/{reversal}", "GET", transfers.retrieve_reversal),
    _h(
        "/v1/transfers/{id}/reversals/{reversal}", "POST", transfers.modify_reversal, transfers.ReversalUpdate
    ),
    _h("/v1/topups", "POST", topups.create, topups.TopupCreate),
    _h("/v1/topups", "GET", topups.list_topups, topups.TopupList),
    _h("/v1/topups/{topup}", "GET", topups.retrieve),
    _h("/v1/topups/{topup}", "POST", topups.modify, topups.TopupUpdate),
    _h("/v1/payouts", "POST", payouts.create, payouts.PayoutCreate),
    _h("/v1/payouts", "GET", payouts.list_payouts, payouts.PayoutList),
    _h("/v1/payouts/{payout}", "GET", payouts.retrieve),
    _h("/v1/payouts/{payout}", "POST", payouts.modify, payouts.PayoutUpdate),
    _h("/v1/payouts/{payout}/cancel", "POST", payouts.cancel),
    _h("/v1/payouts/{payout}/reverse", "POST", payouts.reverse, payouts.PayoutReverse),
    _h("/v1/payoutkit/instant_payout_pricing", "GET", instant.retrieve_pricing),
    _h("/v1/payoutkit/instant_payout_pricing", "POST", instant.update_pricing, instant.PricingUpdate),
    _h("/v1/events", "GET", v1_events.list_events, v1_events.EventList),
    _h("/v1/events/{id}", "GET", v1_events.retrieve),
    _h("/v1/webhook_endpoints", "POST", v1_endpoints.create, v1_endpoints.EndpointCreate),
    _h("/v1/webhook_endpoints", "GET", v1_endpoints.list_endpoints, ListParams),
    _h("/v1/webhook_endpoints/{id}", "GET", v1_endpoints.retrieve),
    _h("/v1/webhook_endpoints/{id}", "POST", v1_endpoints.modify, v1_endpoints.EndpointUpdate),
    _h("/v1/webhook_endpoints/{id}", "DELETE", v1_endpoints.delete),
    _h("/v1/test_helpers/clock", "GET", clock.retrieve),
    _h(
        "/v1/test_helpers/clock/advance",
        "POST",
        clock.advance,
        clock.AdvanceParams,
        then=clock.finish_advance,
    ),
]
