"""The `payoutkit` command as a newcomer runs it: a real process on loopback, stopped by its pid."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PAYOUTKIT = [sys.executable, "-m", "payoutkit"]

# Run in a fresh process (no cached key digests): is argv[2] accepted against database argv[1]?
CHECK_KEY = """
import sys
from payoutkit.api.app import build_state
from payoutkit.api.auth import lookup_key
from payoutkit.api.errors import AuthenticationError
from payoutkit.config import Settings

state, _ = build_state(Settings(database_url=sys.argv[1]))
with state.db.engine.connect() as conn:
    try:
        lookup_key(conn, state, sys.argv[2])
        print("accepted")
    except AuthenticationError:
        print("refused")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYOUTKIT_") and k != "DATABASE_URL"}
    env.update(COLUMNS="200", **extra)
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`payoutkit serve` on a fresh SQLite file; yields its URL, everything it printed, and the file."""
    db = tmp_path / "payoutkit.db"
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*PAYOUTKIT, "serve", "--port", str(port), "--database-url", f"sqlite:///{db}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(url + "/v1/balance", trust_env=False, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url, log.read_text(), db
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_serve_creates_the_platform_and_prints_a_working_test_key_once(served: tuple[str, str, Path]) -> None:
    url, printed, db = served
    assert f"API {url}" in re.sub(r"[│ ]+", " ", printed)
    keys = re.findall(r"sk_test_[A-Za-z0-9]{32}", printed)
    assert len(keys) == 1
    publishable = re.findall(r"pk_test_[A-Za-z0-9]{32}", printed)
    assert len(publishable) == 1
    response = httpx.get(url + "/v1/balance", auth=(keys[0], ""), trust_env=False)
    assert response.status_code == 200
    assert response.json()["livemode"] is False
    # Secret keys are stored hashed: the database file never contains one.
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in db.parent.glob("payoutkit.db-*"))
    assert keys[0].encode() not in raw
    assert publishable[0].encode() in raw


def test_keys_rotate_replaces_the_secret_key(served: tuple[str, str, Path]) -> None:
    url, printed, db = served
    old = re.findall(r"sk_test_[A-Za-z0-9]{32}", printed)[0]
    result = subprocess.run(
        [*PAYOUTKIT, "keys", "--rotate", "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=True,
    )
    new = re.findall(r"sk_test_[A-Za-z0-9]{32}", result.stdout)
    assert len(new) == 1
    assert new[0] != old
    assert "pk_test_" in result.stdout
    assert httpx.get(url + "/v1/balance", auth=(new[0], ""), trust_env=False).status_code == 200
    # The running server cached the old key's digest; a fresh process refuses it.
    state = subprocess.run(
        [sys.executable, "-c", CHECK_KEY, f"sqlite:///{db}", old],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=True,
    )
    assert state.stdout.strip().endswith("refused")


def test_keys_from_the_environment_are_used_and_not_printed(tmp_path: Path) -> None:
    key = "sk_test_" + "fromEnvironment000000000001"
    result = subprocess.run(
        [*PAYOUTKIT, "keys", "--database-url", f"sqlite:///{tmp_path / 'k.db'}"],
        capture_output=True,
        text=True,
        env=_env(PAYOUTKIT_SECRET_KEY=key),
        timeout=60,
        check=True,
    )
    assert key not in result.stdout
    assert "sk_test_" not in result.stdout  # the test secret key came from the environment
    assert "pk_test_" in result.stdout


def test_migrate_brings_an_empty_database_to_head(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    subprocess.run(
        [*PAYOUTKIT, "migrate", "--database-url", f"sqlite:///{db}"],
        check=True,
        env=_env(),
        capture_output=True,
        timeout=60,
    )
    import sqlite3

    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    conn.close()
    assert {"accounts", "balances", "balance_transactions", "idempotency_keys", "alembic_version"} <= tables
