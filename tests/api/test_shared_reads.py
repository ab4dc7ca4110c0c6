"""`GET /v1/balance` is a shared read (`endpoint(..., shared=)`, store/aio.py `read_shared`): on
PostgreSQL the requests by one key that come while one of them is being read wait, then are all
answered by ONE read (one statement for all their accounts' balances). No answer misses what was
committed before its request came: under a load of concurrent balance reads, every read made after a
charge shows it, on both stores."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import event

from payoutkit.api.app import create_app
from payoutkit.config import Settings
from tests.contract.helpers import CARD_AVAILABLE_ON
from tests.support.server import loopback_socket, serve_in_thread

WAITING = 9  # requests that come while the first one's read is held up
CAME = 0.5  # seconds after which requests sent on loopback have surely come
READERS = 4  # threads reading the balance while charges are made
CHARGES = 12
MOST_READS = 3_000  # per reader: the load is bounded even if the charges never end


def _client(url: str, settings: Settings) -> httpx.Client:
    return httpx.Client(base_url=url, auth=(settings.secret_key or "", ""), trust_env=False, timeout=60)


def _total(balance: dict[str, Any], currency: str = "usd") -> int:
    """What the balance holds in `currency`, available and pending."""
    return sum(
        a["amount"] for kind in ("available", "pending") for a in balance[kind] if a["currency"] == currency
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_balance_reads_that_wait_are_answered_by_one_read(base_settings: Settings) -> None:
    """The first request's read is held up by a lock on the balances; nine more come meanwhile. Once
    the lock goes, the first is answered by its read and the nine by one more: two reads in all."""
    app = create_app(base_settings)
    with loopback_socket(base_settings.host) as sock:
        settings = replace(base_settings, port=sock.getsockname()[1])
        with serve_in_thread(app, sock) as url, _client(url, settings) as http:
            http.post("/v1/charges", data={"amount": 1000, "currency": "usd", "source": "tok_visa"})
            expected = http.get("/v1/balance").json()
            answers, reads = _held_up(app, http, settings, {}, [{}] * WAITING)
    assert [a.status_code for a in answers] == [200] * (WAITING + 1)
    assert all(a.json() == expected for a in answers)
    assert len({a.headers["request-id"] for a in answers}) == WAITING + 1  # each its own request
    assert reads == 2


def _held_up(
    app: Any, http: httpx.Client, settings: Settings, first: dict[str, str], then: list[dict[str, str]]
) -> tuple[list[httpx.Response], int]:
    """`GET /v1/balance` with the `first` headers, held up by a lock on the balances while one with each
    of `then` comes: the answers, in that order, and the statements that read the balances meanwhile."""
    reads: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "balances" in statement:
            reads.append(statement)

    engines = list(app.state.payoutkit.db.engines)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    dsn = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn) as locker, ThreadPoolExecutor(len(then) + 1) as pool:
            locker.execute("LOCK TABLE balances IN ACCESS EXCLUSIVE MODE")  # in a transaction
            held = pool.submit(http.get, "/v1/balance", headers=first)
            time.sleep(CAME)
            waited = [pool.submit(http.get, "/v1/balance", headers=h) for h in then]
            time.sleep(CAME)
            assert not held.done()  # held up by the lock
            locker.rollback()
            answers = [held.result(), *(w.result() for w in waited)]
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    return answers, len(reads)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_many_accounts_balances_that_wait_are_read_in_one_statement(base_settings: Settings) -> None:
    """The platform's key reads its own balance and its connected accounts' (`Stripe-Account`): those
    that wait beside each other are read by one statement, each answer the one its account gets alone,
    and an account the key may not act for is refused alone."""
    app = create_app(base_settings)
    with loopback_socket(base_settings.host) as sock:
        settings = replace(base_settings, port=sock.getsockname()[1])
        with serve_in_thread(app, sock) as url, _client(url, settings) as http:
            http.post(
                "/v1/charges", data={"amount": 50_000, "currency": "usd", "source": "tok_bypassPending"}
            )
            accounts = []
            for i, (token, amount) in enumerate(
                [("btok_us_verified", 1_000), ("tok_visa_debit", 2_000), (None, 0)]
            ):
                acct = http.post("/v1/accounts", data={"type": "custom", "country": "US"}).json()["id"]
                if token:
                    http.post(f"/v1/accounts/{acct}/external_accounts", data={"external_account": token})
                if amount:
                    http.post(
                        "/v1/transfers", data={"amount": amount + i, "currency": "usd", "destination": acct}
                    )
                accounts.append(acct)
            # Card funds of the platform's, due but not settled (the worker is off): shown as available.
            http.post("/v1/charges", data={"amount": 1_234, "currency": "usd", "source": "tok_visa"})
            rt = app.state.payoutkit
            rt.db.transaction(rt.simulated.advance_to, CARD_AVAILABLE_ON)
            heads = [
                {},
                *({"Stripe-Account": a} for a in accounts),
                {"Stripe-Account": "acct_1NotOneOfTheseXx"},
            ]
            alone = [http.get("/v1/balance", headers=h) for h in heads]
            together, reads = _held_up(app, http, settings, {"Stripe-Account": accounts[0]}, heads)
    assert [a.status_code for a in alone] == [200] * 4 + [403]
    assert alone[2].json()["instant_available"]  # the debit card's account may pay out instantly
    assert [a.status_code for a in together] == [200] * 5 + [403]
    assert [a.json() for a in together] == [alone[1].json()] + [a.json() for a in alone]
    assert alone[0].json()["pending"][0]["amount"] == 0  # the due funds show as available
    # The held-up read, one for all the accounts that waited, and the platform's due funds.
    assert reads == 3


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_balance_read_under_load_shows_the_charges_made_before_it(base_settings: Settings) -> None:
    app = create_app(base_settings)
    with loopback_socket(base_settings.host) as sock:
        settings = replace(base_settings, port=sock.getsockname()[1])
        with serve_in_thread(app, sock) as url, _client(url, settings) as http:
            start = _total(http.get("/v1/balance").json())
            done = threading.Event()

            def reader() -> list[int]:
                totals: list[int] = []
                with _client(url, settings) as own:
                    while not done.is_set() and len(totals) < MOST_READS:
                        answer = own.get("/v1/balance")
                        assert answer.status_code == 200, answer.text
                        totals.append(_total(answer.json()))
                return totals

            made, after_each = 0, []
            with ThreadPoolExecutor(READERS) as pool:
                readers = [pool.submit(reader) for _ in range(READERS)]
                try:
                    for i in range(CHARGES):
                        charge = http.post(
                            "/v1/charges",
                            data={"amount": 1000 + i, "currency": "usd", "source": "tok_visa"},
                            params={"expand[]": "balance_transaction"},
                        )
                        assert charge.status_code == 200, charge.text
                        made += charge.json()["balance_transaction"]["net"]
                        after_each.append((made, _total(http.get("/v1/balance").json())))
                finally:
                    done.set()
                seen = [r.result() for r in readers]
    assert after_each == [(m, start + m) for m, _ in after_each]  # each read shows every charge before it
    for totals in seen:  # and no reader ever saw the balance go back (charges only add to it)
        assert totals == sorted(totals)
        assert totals  # every reader read meanwhile
        assert start <= totals[0]
        assert totals[-1] <= start + made
