"""A charge and a payout read the simulated clock along with their first read (store/charges.py
`delay_days`, store/payers.py `payer`), not by a statement of its own: the request's actor reads its
time only when first asked (`Actor.reading_now`), and takes what that statement read. The time they
take is still the stored clock's at that moment, whoever moved it."""

from __future__ import annotations

import httpx
from sqlalchemy import event

from payoutkit.runtime import Runtime
from payoutkit.store import clock as clock_row
from tests.support.server import RunningServer

DAY = 86_400


def _ok(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _move_clock(rt: Runtime, seconds: int) -> int:
    """Move the stored clock as another process would: this process's copy does not follow."""
    now = rt.db.transaction(clock_row.read) + seconds
    rt.db.transaction(clock_row.advance_to, now)
    return now


def test_a_charge_and_a_payout_read_the_clock_with_their_first_read(
    server: RunningServer, http: httpx.Client
) -> None:
    rt = server.runtime
    assert rt is not None
    assert rt.simulated is not None
    manual = {"settings[payouts][schedule][interval]": "manual"}
    account = str(_ok(http.post("/v1/accounts", data={"type": "custom", "country": "US", **manual}))["id"])
    mine = {"Stripe-Account": account}
    _ok(http.post(f"/v1/accounts/{account}/external_accounts", data={"external_account": "btok_us_verified"}))
    funds = {"amount": 5000, "currency": "usd", "source": "tok_bypassPending"}
    _ok(http.post("/v1/charges", data=funds))
    _ok(http.post("/v1/transfers", data={"amount": 4000, "currency": "usd", "destination": account}))
    _ok(http.post("/v1/payouts", data={"amount": 100, "currency": "usd"}, headers=mine))  # warm

    seen: list[str] = []

    def listener(conn: object, cursor: object, sql: str, *rest: object) -> None:
        seen.append(sql)

    for engine in rt.db.engines:  # on PostgreSQL, the loop's engine as well
        event.listen(engine, "before_cursor_execute", listener)
    try:
        now = _move_clock(rt, 2 * DAY)
        seen.clear()
        charge = _ok(http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"}))
        assert charge["created"] == now
        seen_charge = list(seen)
        now = _move_clock(rt, DAY)
        seen.clear()
        keyed = {**mine, "Idempotency-Key": "clock-reads-1"}  # as the SDK sends: a new key reads no time
        payout = _ok(http.post("/v1/payouts", data={"amount": 200, "currency": "usd"}, headers=keyed))
        assert payout["created"] == now
        seen_payout = list(seen)
        replayed = http.post("/v1/payouts", data={"amount": 200, "currency": "usd"}, headers=keyed)
        assert _ok(replayed)["id"] == payout["id"]
    finally:
        for engine in rt.db.engines:
            event.remove(engine, "before_cursor_execute", listener)
    for statements in (seen_charge, seen_payout):
        reads_clock = [s for s in statements if "FROM clock" in s]
        assert len(reads_clock) == 1, reads_clock
        assert "UNION ALL" in reads_clock[0]  # read along with the account, not by itself
