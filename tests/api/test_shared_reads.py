"""`GET /v1/balance` is a shared read (`endpoint(..., shared=True)`, store/aio.py `read_shared`): on
PostgreSQL the requests for one balance that come while one of them is being read wait, then are all
answered by ONE read. No answer misses what was committed before its request came: under a load of
concurrent balance reads, every read made after a charge shows it, on both stores."""

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
            reads: list[str] = []

            def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
                if "balances" in statement:
                    reads.append(statement)

            engines = list(app.state.payoutkit.db.engines)
            for engine in engines:
                event.listen(engine, "before_cursor_execute", seen)
            dsn = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as locker, ThreadPoolExecutor(WAITING + 1) as pool:
                locker.execute("LOCK TABLE balances IN ACCESS EXCLUSIVE MODE")  # in a transaction
                first = pool.submit(http.get, "/v1/balance")
                time.sleep(CAME)
                waited = [pool.submit(http.get, "/v1/balance") for _ in range(WAITING)]
                time.sleep(CAME)
                assert not first.done()  # held up by the lock
                locker.rollback()
                answers = [first.result(), *(w.result() for w in waited)]
            for engine in engines:
                event.remove(engine, "before_cursor_execute", seen)
    assert [a.status_code for a in answers] == [200] * (WAITING + 1)
    assert all(a.json() == expected for a in answers)
    assert len({a.headers["request-id"] for a in answers}) == WAITING + 1  # each its own request
    assert len(reads) == 2


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
