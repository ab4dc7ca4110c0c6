"""Shards of the accounts: the worker's settlement runs as one unit of work per shard, concurrently.

On PostgreSQL a settlement of many due buckets is CPU-bound in the one backend that runs it; split
over disjoint sets of accounts (`Shard(part, of)`), `of` units on `of` connections use as many
backends. An account belongs to the shard `hashtext(account_id) mod of`, so every bucket of an
account, its reserve rows and its `balance.available` event are one shard's: two shards never lock the
same account's rows. What they can share: a platform's two buckets that a liable account's reserve
re-sync moves (by relative updates in row-id order, so one shard waits for the other's commit; see
services/settlement.py), and, once per platform and currency, giving such a bucket its row (the
second unit to insert it waits for the first's commit).
PostgreSQL only: SQLite has one writer, and its settlement stays one unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, bindparam, func


@dataclass(frozen=True)
class Shard:
    """The accounts whose id hashes to `part` modulo `of` (0 <= part < of)."""

    part: int
    of: int

    def __post_init__(self) -> None:
        if not 0 <= self.part < self.of:
            raise ValueError(f"shard {self.part} of {self.of}")

    def values(self) -> dict[str, int]:
        """The bound values of `in_shard`."""
        return {"shard_part": self.part, "shard_of": self.of}


def in_shard(account_id: ColumnElement[str]) -> ColumnElement[bool]:
    """The condition that a row's account is in the shard bound as `shard_part`/`shard_of`."""
    hashed = func.hashtext(account_id).op("&")(0x7FFF_FFFF)  # non-negative
    return func.mod(hashed, bindparam("shard_of", type_=Integer)) == bindparam("shard_part", type_=Integer)


def whole(shard: Shard | None) -> Shard | None:
    """None for no shard or the only one (no filter needed)."""
    return None if shard is None or shard.of == 1 else shard
