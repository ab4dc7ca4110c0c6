"""Idempotency keys: the stored response of a POST made with an `Idempotency-Key`.

A record is unique per (account, mode, key). It is written in the same transaction as the operation,
so the key and the effect commit together; of two concurrent requests with one key only one can
insert it, and the other's unit fails with `KeyTaken` (the unique key, violated at the insert or, on
PostgreSQL, possibly at commit: `run` maps both). A record is kept `TTL` seconds of the mode's clock:
an older one is gone for the request that finds it (`find` deletes it), and the worker deletes
expired records in bounded batches (`prune`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from payoutkit.store.among import among
from payoutkit.store.db import Database
from payoutkit.store.fast import Query, Write
from payoutkit.store.schema import idempotency_keys as keys

T = TypeVar("T")

# How long a stored idempotent response is replayed, in seconds of the mode's clock.
TTL = 24 * 3600


class KeyTaken(Exception):
    """Another request stored a response under this idempotency key first (the unique key held)."""


@dataclass(frozen=True)
class Stored:
    key: str
    request_hash: str
    status_code: int
    body: str  # the JSON of the response
    created: int


# Every POST the SDK makes carries a key: the lookup and the insert run on the driver (store/fast.py).
_FIND = Query(
    select(*keys.c["seq", "key", "request_hash", "status_code", "body", "created"]).where(
        keys.c.account_id == bindparam("account_id"),
        keys.c.livemode == bindparam("livemode"),
        keys.c.key == bindparam("idem_key"),
    )
)
_FORGET = delete(keys).where(keys.c.seq == bindparam("row_seq"))
_REMEMBER = Write(insert(keys))
_OLDEST = (
    select(keys.c.seq)
    .where(keys.c.livemode == bindparam("livemode"), keys.c.created <= bindparam("before"))
    .order_by(keys.c.created)
    .limit(bindparam("batch"))
)
_PRUNE = delete(keys).where(among(keys.c.seq, "seqs"))


def find(
    conn: Connection, account_id: str, livemode: bool, key: str, now: Callable[[], int]
) -> Stored | None:
    """The live record of this key, if any; an expired one is deleted and the key is new again. `now()`
    is asked only when there is one (a new key's request reads the time later, along with its first
    read)."""
    rows = _FIND.rows(conn, {"account_id": account_id, "livemode": livemode, "idem_key": key})
    if not rows:
        return None
    seq, found_key, request_hash, status_code, body, created = rows[0]
    if created <= now() - TTL:
        conn.execute(_FORGET, {"row_seq": seq})
        return None
    return Stored(found_key, request_hash, status_code, body, created)


@dataclass(frozen=True)
class Response:
    request_hash: str
    status_code: int
    body: str


def remember(
    conn: Connection, account_id: str, livemode: bool, key: str, now: int, response: Response
) -> None:
    """Store the response under the key; `KeyTaken` if another request has stored one."""
    values = {
        "account_id": account_id,
        "livemode": livemode,
        "key": key,
        "request_hash": response.request_hash,
        "status_code": response.status_code,
        "body": response.body,
        "created": now,
    }
    try:
        _REMEMBER.run(conn, [values])
    except IntegrityError as exc:
        if _taken(exc):
            raise KeyTaken(str(exc.orig)) from exc
        raise


def prune(conn: Connection, livemode: bool, now: int, batch: int) -> int:
    """Delete up to `batch` records of a mode older than `TTL` by its clock (`now`); returns how many."""
    seqs = list(conn.execute(_OLDEST, {"livemode": livemode, "before": now - TTL, "batch": batch}).scalars())
    if seqs:
        conn.execute(_PRUNE, {"seqs": seqs})
    return len(seqs)


def _taken(exc: IntegrityError) -> bool:
    """Whether the violated constraint is the idempotency key's (its name, or its table, on SQLite)."""
    return "idempotency" in str(exc.orig)


async def run(db: Database, fn: Callable[..., T], *args: Any) -> T:
    """`db.run(fn, *args)`, with the idempotency key's unique violation — wherever it surfaces, at the
    insert or at commit — raised as `KeyTaken`."""
    try:
        return await db.run(fn, *args)
    except IntegrityError as exc:
        if _taken(exc):
            raise KeyTaken(str(exc.orig)) from exc
        raise
