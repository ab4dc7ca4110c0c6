"""Reads take no write lock: on SQLite, `GET /v1/balance`, the balance transactions and the test clock
begin with a deferred `BEGIN`, never `BEGIN IMMEDIATE`, and write nothing — even with funds due,
which they show as available (the worker or the next money-moving unit settles them)."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from sqlalchemy import event

from payoutkit.api.app import create_app
from payoutkit.config import Settings
from tests.contract.helpers import CARD_AVAILABLE_ON
from tests.support.server import loopback_socket, serve_in_thread

READS = ["/v1/balance", "/v1/balance_transactions", "/v1/balance/history", "/v1/test_helpers/clock"]


# The write lock is SQLite's `BEGIN IMMEDIATE`; on PostgreSQL a read unit is READ ONLY, and a write in it
# fails (the contract tests of the reads run there).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reads_begin_without_the_write_lock_and_write_nothing(base_settings: Settings) -> None:
    app = create_app(base_settings)
    with loopback_socket(base_settings.host) as sock:
        settings = replace(base_settings, port=sock.getsockname()[1])
        with (
            serve_in_thread(app, sock) as url,
            httpx.Client(
                base_url=url, auth=(settings.secret_key or "", ""), trust_env=False, timeout=60
            ) as http,
        ):
            charge = http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"})
            txn = charge.json()["balance_transaction"]
            rt = app.state.payoutkit
            assert rt.simulated is not None
            rt.db.transaction(rt.simulated.advance_to, CARD_AVAILABLE_ON)  # due, not settled
            seen: list[str] = []
            event.listen(rt.db.engine, "before_cursor_execute", lambda c, cur, s, p, x, m: seen.append(s))
            for path in [*READS, f"/v1/balance_transactions/{txn}"]:
                assert http.get(path).status_code == 200, path
            balance = http.get("/v1/balance").json()
            assert http.get(f"/v1/balance_transactions/{txn}").json()["status"] == "available"
    first_words = {s.split()[0].upper() for s in seen}
    assert "BEGIN" in first_words
    assert not [s for s in seen if "IMMEDIATE" in s.upper()]
    assert first_words <= {"BEGIN", "SELECT"}
    assert balance["available"][0]["amount"] > 0
    assert balance["pending"][0]["amount"] == 0
