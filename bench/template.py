"""Objects made through the API, in this process, to be copied in bulk by `payoutkit.store.seeding`.

`through_api(url, clock, make)` opens the app on the database at `url` (`create_app`: it migrates a
fresh database and creates the platform and its keys, as a first start does) on a simulated clock
starting at `clock`, with the worker off, and calls `make(client)` with an HTTP client for it (the
bench's secret key). So a seeded account, its bank account and its payout run are exactly what the
services write for `POST /v1/accounts` and `POST /v1/accounts/{id}/external_accounts`: the seeding
copies them, it does not describe them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

with warnings.catch_warnings():  # starlette's TestClient on httpx: deprecated, still the in-process client
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bench.servers import SECRET_KEY, auth_headers
from payoutkit.api.app import create_app
from payoutkit.config import Settings

T = TypeVar("T")

# How the accounts are made: `type=custom` (the platform is liable for negative balances), or with the
# controller of an account the platform is not liable for (`losses.payments=stripe`).
LIABLE = {"type": "custom"}
NOT_LIABLE = {
    "controller[losses][payments]": "stripe",
    "controller[fees][payer]": "account",
    "controller[stripe_dashboard][type]": "none",
    "controller[requirement_collection]": "application",
}


def post(client: TestClient, path: str, params: dict[str, Any], account: str | None = None) -> dict[str, Any]:
    headers = {**auth_headers(), **({"Stripe-Account": account} if account else {})}
    resp = client.post(path, data=params, headers=headers)
    if resp.status_code != 200:
        raise RuntimeError(f"POST {path} answered {resp.status_code}: {resp.text[:400]}")
    out: dict[str, Any] = resp.json()
    return out


def through_api(url: str, clock: int, make: Callable[[TestClient], T]) -> T:
    settings = Settings(database_url=url, secret_key=SECRET_KEY, simulated_clock=True,
                        simulated_clock_start=clock, worker=False)  # fmt: skip
    app = create_app(settings)
    try:
        return make(TestClient(app))
    finally:
        app.state.payoutkit.db.dispose()


def account(client: TestClient, *, liable: bool, bank: bool, **settings: str) -> str:
    """A connected account (US, `settings` as form fields), with a `btok_us_verified` bank account."""
    params = {**(LIABLE if liable else NOT_LIABLE), "country": "US", **settings}
    acct: str = post(client, "/v1/accounts", params)["id"]
    if bank:
        post(client, f"/v1/accounts/{acct}/external_accounts", {"external_account": "btok_us_verified"})
    return acct
