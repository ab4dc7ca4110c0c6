"""The `payoutkit` command as a newcomer runs it: a real process on loopback, stopped by its pid."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import PAYOUTKIT, clean_env, serve_process

# Run in a fresh process (no cached key digests): is argv[2] accepted against database argv[1]?
CHECK_KEY = """
import sys
from payoutkit.runtime import open_runtime
from payoutkit.api.auth import lookup_key
from payoutkit.errors import AuthenticationError
from payoutkit.config import Settings

state, _ = open_runtime(Settings(database_url=sys.argv[1]))
with state.db.engine.connect() as conn:
    try:
        lookup_key(conn, state, sys.argv[2])
        print("accepted")
    except AuthenticationError:
        print("refused")
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`payoutkit serve` on a fresh SQLite file; yields its URL, everything it printed, and the file."""
    db = tmp_path / "payoutkit.db"
    log = tmp_path / "serve.log"
    with serve_process(f"sqlite:///{db}", log, cwd=tmp_path) as (url, _):
        yield url, log.read_text(), db


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
    # The live secret key is stored hashed: the database file never contains it. The test secret key is
    # kept in clear, so that `payoutkit keys` shows it again.
    [live] = re.findall(r"sk_live_[A-Za-z0-9]{32}", printed)
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in db.parent.glob("payoutkit.db-*"))
    assert live.encode() not in raw
    assert keys[0].encode() in raw
    assert publishable[0].encode() in raw
    shown = subprocess.run(
        [*PAYOUTKIT, "keys", "--json", "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=True,
    )
    again = json.loads(shown.stdout)
    assert again["test_secret_keys"] == keys
    assert again["test_publishable_key"] == publishable[0]
    assert live not in shown.stdout


def test_keys_rotate_replaces_the_secret_key(served: tuple[str, str, Path]) -> None:
    url, printed, db = served
    old = re.findall(r"sk_test_[A-Za-z0-9]{32}", printed)[0]
    result = subprocess.run(
        [*PAYOUTKIT, "keys", "--rotate", "--database-url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=True,
    )
    new = re.findall(r"sk_test_[A-Za-z0-9]{32}", result.stdout)
    assert len(new) == 1
    assert new[0] != old
    assert "pk_test_" in result.stdout
    assert httpx.get(url + "/v1/balance", auth=(new[0], ""), trust_env=False).status_code == 200
    # A fresh process refuses the old key (running ones too: tests/test_processes.py).
    state = subprocess.run(
        [sys.executable, "-c", CHECK_KEY, f"sqlite:///{db}", old],
        capture_output=True,
        text=True,
        env=clean_env(),
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
        env=clean_env(PAYOUTKIT_SECRET_KEY=key),
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
        env=clean_env(),
        capture_output=True,
        timeout=60,
    )
    import sqlite3

    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    conn.close()
    assert {"accounts", "balances", "balance_transactions", "idempotency_keys", "alembic_version"} <= tables
