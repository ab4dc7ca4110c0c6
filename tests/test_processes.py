"""Two `payoutkit serve` processes on one database, as a deployment runs them: what one process (or the
`keys` command) writes, every other process follows — API keys and the simulated clock.

Each server is a real process on loopback, stopped by its pid (tests/support/process.py).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

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
