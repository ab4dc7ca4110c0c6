"""Two `payoutkit serve` processes on one database, as a deployment runs them: what one process (or the
`keys` command) writes, every other process follows — API keys and the simulated clock.

Each server is a real process on loopback, stopped by its pid (tests/support/process.py).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from payoutkit.store import clock as clock_row
from payoutkit.store.db import Database
from tests.conftest import LIVE_SECRET_KEY, SECRET_KEY
from tests.support.process import PAYOUTKIT, clean_env, serve_process

DAY = 86_400
# Generous: a rotated key must stop working "within seconds" (api/auth.py: KEY_CACHE_SECONDS).
REVOCATION_DEADLINE = 20.0


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = clean_env(
        PAYOUTKIT_SECRET_KEY=SECRET_KEY,
        PAYOUTKIT_LIVE_SECRET_KEY=LIVE_SECRET_KEY,
        PAYOUTKIT_SIMULATED_CLOCK="1",
    )
    with ExitStack() as stack:
        a, _ = stack.enter_context(serve_process(database_url, tmp_path / "a.log", env=env))
        b, _ = stack.enter_context(serve_process(database_url, tmp_path / "b.log", env=env))
        yield a, b


def _status(url: str, key: str) -> int:
    return httpx.get(url + "/v1/balance", auth=(key, ""), trust_env=False, timeout=30).status_code


def _rotate(database_url: str, *live: str) -> str:
    result = subprocess.run(
        [*PAYOUTKIT, "keys", "--rotate", *live, "--database-url", database_url],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=True,
    )
    prefix = "sk_live_" if live else "sk_test_"
    return next(w for w in result.stdout.split() if w.startswith(prefix))


@pytest.mark.parametrize(
    ("old", "live"), [(SECRET_KEY, ()), (LIVE_SECRET_KEY, ("--live",))], ids=["test", "live"]
)
def test_a_rotated_key_stops_working_in_every_running_process(
    two_servers: tuple[str, str], database_url: str, old: str, live: tuple[str, ...]
) -> None:
    servers = two_servers
    # Both processes have read (and cached) the key.
    for url in servers:
        for _ in range(3):
            assert _status(url, old) == 200
    new = _rotate(database_url, *live)
    for url in servers:
        assert _status(url, new) == 200
    # Every process refuses the old key within seconds, without a restart.
    refused: set[str] = set()
    deadline = time.monotonic() + REVOCATION_DEADLINE
    while refused != set(servers) and time.monotonic() < deadline:
        refused |= {url for url in servers if _status(url, old) == 401}
        time.sleep(0.2)
    assert refused == set(servers), "a running server still accepts the rotated key"
    # And keeps refusing it (a refusal is not cached as an acceptance later, nor the other way).
    for url in servers:
        assert _status(url, old) == 401
        assert _status(url, new) == 200


# -- one simulated clock ---------------------------------------------------------------------------


def _clock(url: str) -> int:
    response = httpx.get(url + "/v1/test_helpers/clock", auth=(SECRET_KEY, ""), trust_env=False, timeout=60)
    assert response.status_code == 200, response.text
    now: int = response.json()["now"]
    return now


def _advance(url: str, **data: int) -> httpx.Response:
    return httpx.post(
        url + "/v1/test_helpers/clock/advance", data=data, auth=(SECRET_KEY, ""), trust_env=False, timeout=120
    )


def test_every_process_follows_the_one_stored_clock(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    start = _clock(a)
    assert _clock(b) == start  # B has read the clock too, before A moves it
    assert _advance(a, seconds=3 * DAY).json()["now"] == start + 3 * DAY
    assert _clock(b) == start + 3 * DAY
    # B advances from the stored clock, not from what it saw before.
    assert _advance(b, seconds=DAY).json()["now"] == start + 4 * DAY
    assert _clock(a) == _clock(b) == start + 4 * DAY
    # A time before the stored one is refused by every process, and moves nothing.
    refused = _advance(a, to=start + 2 * DAY)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "to"
    assert _clock(a) == _clock(b) == start + 4 * DAY


def test_concurrent_advances_in_two_processes_are_serialized(two_servers: tuple[str, str]) -> None:
    a, b = two_servers
    start = _clock(a)
    hours = 8
    answers: list[int] = []
    seen: dict[str, list[int]] = {a: [], b: []}
    stop = threading.Event()

    def advance_hour(url: str) -> None:
        response = _advance(url, seconds=3600)
        assert response.status_code == 200, response.text
        answers.append(response.json()["now"])

    def watch(url: str) -> None:
        while not stop.is_set():
            seen[url].append(_clock(url))

    watchers = [threading.Thread(target=watch, args=(url,)) for url in (a, b)]
    advancers = [threading.Thread(target=advance_hour, args=((a, b)[i % 2],)) for i in range(hours)]
    for t in watchers + advancers:
        t.start()
    for t in advancers:
        t.join()
    stop.set()
    for t in watchers:
        t.join()
    # Each advance took its own hour: none was lost to another that started from the same time.
    assert sorted(answers) == [start + 3600 * (i + 1) for i in range(hours)]
    assert _clock(a) == _clock(b) == start + 3600 * hours
    # And no process ever saw the clock move back.
    for url, times in seen.items():
        assert times == sorted(times), url


# -- reads follow what another process wrote ---------------------------------------------------------


def _get(url: str, path: str, account: str | None = None) -> dict[str, Any]:
    headers = {"Stripe-Account": account} if account else {}
    response = httpx.get(url + path, auth=(SECRET_KEY, ""), headers=headers, trust_env=False, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _post(url: str, path: str, account: str | None = None, **data: Any) -> dict[str, Any]:
    headers = {"Stripe-Account": account} if account else {}
    response = httpx.post(
        url + path, data=data, auth=(SECRET_KEY, ""), headers=headers, trust_env=False, timeout=120
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _usd(entries: list[dict[str, Any]]) -> int:
    return sum(e["amount"] for e in entries if e["currency"] == "usd")


def test_a_balance_read_shows_what_another_process_just_wrote(
    two_servers: tuple[str, str], database_url: str
) -> None:
    """`GET /v1/balance` reads its buckets, the destinations of `instant_available` and the simulated
    clock in one statement (store/bucket_reads.py `read_for_balance`), and a read's actor reads the clock
    only when asked (`Actor.reading_now`): nothing of it is kept between requests. Each write below is
    made in process A, and the very next read in process B shows it."""
    a, b = two_servers
    before = _get(b, "/v1/balance")  # B has read everything once
    charge = _post(a, "/v1/charges", amount=1000, currency="usd", source="tok_visa")
    net = _get(a, f"/v1/balance_transactions/{charge['balance_transaction']}")["net"]
    after = _get(b, "/v1/balance")
    assert _usd(after["pending"]) == _usd(before["pending"]) + net
    assert _usd(after["available"]) == _usd(before["available"])
    # Another process moves the stored clock past the charge's availability without settling it (an
    # advance through the API settles; this one only moves the row): B shows the funds due as available
    # at once, which only a fresh read of the clock can tell it.
    available_on = _get(a, f"/v1/balance_transactions/{charge['balance_transaction']}")["available_on"]
    db = Database(database_url)
    try:
        db.transaction(clock_row.advance_to, available_on)
    finally:
        db.dispose()
    due = _get(b, "/v1/balance")
    assert _usd(due["available"]) == _usd(before["available"]) + net
    assert _usd(due["pending"]) == _usd(before["pending"])
    # A connected account's instant-capable card, added in A: B's next read shows it.
    account = _post(a, "/v1/accounts", type="custom")["id"]
    assert "instant_available" not in _get(b, "/v1/balance", account)
    card = _post(a, f"/v1/accounts/{account}/external_accounts", external_account="tok_visa_debit")
    [instant] = _get(b, "/v1/balance", account)["instant_available"]
    assert instant["currency"] == "usd"
    assert [n["destination"] for n in instant["net_available"]] == [card["id"]]
    # Funds, then the platform's instant pricing, set in A (without pricing the platform, which pays
    # this account's fees, offers no instant payout): B's next read shows the amount and the net.
    _post(a, "/v1/charges", amount=20_000, currency="usd", source="tok_bypassPending")
    _post(a, "/v1/transfers", amount=5000, currency="usd", destination=account)
    assert _get(b, "/v1/balance", account)["instant_available"][0]["amount"] == 0
    pricing = {"currencies[usd][percent]": "1.5", "currencies[usd][minimum]": 50}
    _post(a, "/v1/payoutkit/instant_payout_pricing", **pricing)
    [instant] = _get(b, "/v1/balance", account)["instant_available"]
    assert instant["amount"] == 5000
    assert instant["net_available"][0]["amount"] == 4926  # 4,926 + its 1.5 % (74) fits in 5,000
    # And deleted in A: gone from B's next read.
    deleted = httpx.delete(
        a + f"/v1/accounts/{account}/external_accounts/{card['id']}", auth=(SECRET_KEY, ""), trust_env=False
    )
    assert deleted.status_code == 200, deleted.text
    assert "instant_available" not in _get(b, "/v1/balance", account)
