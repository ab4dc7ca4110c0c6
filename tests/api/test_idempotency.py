"""Idempotency records are kept 24 hours by their mode's clock, then deleted (Stripe: "keys are
eligible to be removed from the system automatically after they're at least 24 hours old").

The simulated clock stands in for time: test mode's records age with it, live mode's with the real
clock, and a record past 24 hours is gone both for the request that finds it and from the database,
signing secrets of webhook endpoints included.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert, select

from payoutkit.services import jobs
from payoutkit.store.db import Database
from payoutkit.store.engines import make_engine
from payoutkit.store.schema import idempotency_keys
from tests.conftest import CLOCK_START, LIVE_SECRET_KEY
from tests.contract.helpers import advance
from tests.support.server import RunningServer

HOUR = 3600
CHARGE = {"amount": "2500", "currency": "usd", "source": "tok_visa"}
OTHER = {**CHARGE, "amount": "2600"}


@pytest.fixture
def engine(server: RunningServer) -> Iterator[Engine]:
    engine = make_engine(server.settings.database_url, pool_size=1)
    yield engine
    engine.dispose()


def _records(engine: Engine, **where: Any) -> list[Any]:
    with engine.connect() as conn:
        stmt = select(idempotency_keys)
        for column, value in where.items():
            stmt = stmt.where(idempotency_keys.c[column] == value)
        return list(conn.execute(stmt).all())


def _post(http: httpx.Client, key: str, data: dict[str, str]) -> httpx.Response:
    return http.post("/v1/charges", data=data, headers={"Idempotency-Key": key})


def test_a_key_replays_for_24_hours_then_is_new_again(http: httpx.Client) -> None:
    first = _post(http, "order-1", CHARGE)
    assert first.status_code == 200
    advance(http, seconds=24 * HOUR - 60)
    replay = _post(http, "order-1", CHARGE)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert _post(http, "order-1", OTHER).json()["error"]["type"] == "idempotency_error"
    # 24 hours after the first request the key is forgotten: the same key runs a new request.
    advance(http, seconds=60)
    fresh = _post(http, "order-1", OTHER)
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers.get("idempotent-replayed") is None
    assert fresh.json()["id"] != first.json()["id"]
    assert fresh.json()["amount"] == 2600
    assert _post(http, "order-1", OTHER).json()["id"] == fresh.json()["id"]


def test_expired_records_are_deleted_with_the_secrets_they_hold(
    server: RunningServer, http: httpx.Client, engine: Engine
) -> None:
    created = http.post(
        "/v1/webhook_endpoints",
        data={"url": "https://example.com/hook", "enabled_events[]": "*"},
        headers={"Idempotency-Key": "hook-1"},
    )
    assert created.status_code == 200, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    with httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False) as live:
        live_hook = live.post(
            "/v1/webhook_endpoints",
            data={"url": "https://example.com/live", "enabled_events[]": "*"},
            headers={"Idempotency-Key": "live-1"},
        )
        assert live_hook.status_code == 200, live_hook.text
    assert any(secret in r.body for r in _records(engine, key="hook-1"))
    advance(http, seconds=23 * HOUR)
    assert len(_records(engine)) == 2
    # Nobody asks for the key again: the advance (like the worker) deletes the expired record.
    advance(http, seconds=2 * HOUR)
    assert _records(engine, livemode=False) == []
    with engine.connect() as conn:
        everything = " ".join(str(v) for row in conn.execute(select(idempotency_keys)) for v in row)
    assert secret not in everything
    # The live record ages by the real clock, not the simulated one.
    assert [r.key for r in _records(engine, livemode=True)] == ["live-1"]


def test_the_prune_job_deletes_expired_records_in_bounded_batches(
    server: RunningServer, engine: Engine
) -> None:
    old, young = 1_200, 7
    rows = [
        {"account_id": "acct_x", "livemode": livemode, "key": f"k{livemode}{i}", "request_hash": "0" * 64,
         "status_code": 200, "body": "{}", "created": created}
        for livemode in (False, True)
        for i, created in enumerate([CLOCK_START - 25 * HOUR] * old + [CLOCK_START - HOUR] * young)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(idempotency_keys), rows)
    db = Database(server.settings.database_url, pool_size=1)
    try:
        sizes = []
        while (n := db.transaction(jobs.prune_idempotency, False, CLOCK_START, batch=500)) > 0:
            sizes.append(n)
        assert sizes == [500, 500, 200]
    finally:
        db.dispose()
    with engine.connect() as conn:
        left = dict(
            conn.execute(
                select(idempotency_keys.c.livemode, func.count()).group_by(idempotency_keys.c.livemode)
            ).all()
        )
    assert {bool(k): v for k, v in left.items()} == {False: young, True: old + young}


@pytest.mark.parametrize("server_settings", [{"worker": True, "worker_interval": 0.05}], indirect=True)
def test_the_worker_deletes_expired_records_of_each_mode_by_its_clock(
    server: RunningServer, engine: Engine
) -> None:
    real_now = int(time.time())
    rows = [
        {"account_id": "acct_x", "livemode": livemode, "key": f"{livemode}-{age}", "request_hash": "0" * 64,
         "status_code": 200, "body": "{}", "created": now - age * HOUR}
        for livemode, now in ((False, CLOCK_START), (True, real_now))
        for age in (25, 23)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(idempotency_keys), rows)
    deadline = time.monotonic() + 30
    while len(_records(engine)) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(r.key for r in _records(engine)) == ["False-23", "True-23"]
