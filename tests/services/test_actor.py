"""The request's actor, reading its time on first use (`Actor.reading_now`): the same record
`Actor(...)` builds."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest

from payoutkit.services.actor import Actor


def _built(now: int, idempotency_key: str | None = None) -> Actor:
    return Actor(
        account_id="acct_1",
        platform_id="acct_0",
        livemode=False,
        now=now,
        request_id="req_1",
        idempotency_key=idempotency_key,
    )


def test_reading_now_reads_the_time_once_and_only_when_asked() -> None:
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return 1_700_000_000

    actor = Actor.reading_now(read, "acct_1", "acct_0", False, "req_1")
    assert (actor.account_id, actor.platform_id, actor.livemode, actor.request_id) == (
        "acct_1",
        "acct_0",
        False,
        "req_1",
    )
    assert actor.idempotency_key is None
    assert reads == []  # not read until asked for
    assert actor.now == 1_700_000_000
    assert actor.now == 1_700_000_000
    assert reads == [1]  # read once
    assert actor == replace(_built(1_700_000_000), account_id="acct_1")
    assert actor.at(5).now == 5
    assert replace(actor, account_id="acct_0").is_platform
    with pytest.raises(FrozenInstanceError):
        actor.now = 1  # type: ignore[misc]


def test_replace_reads_the_time_first() -> None:
    actor = Actor.reading_now(lambda: 42, "acct_1", "acct_0", False, "req_1")
    assert replace(actor, request_id="req_2").now == 42


def test_a_reading_actor_equals_and_hashes_as_the_actor_of_its_fields() -> None:
    actor = Actor.reading_now(lambda: 7, "acct_1", "acct_0", False, "req_1")
    plain = _built(7)
    assert actor == plain
    assert plain == actor
    assert hash(actor) == hash(plain)
    assert actor != _built(8)
    assert {actor: 1}[plain] == 1
