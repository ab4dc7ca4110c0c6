"""`connect_reserves`: what a platform holds in `connect_reserved` for one liable connected account and
currency (the negative available balance it covers). `Movement.sync_reserves` keeps it; settlement
re-syncs the accounts it has something reserved for."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, insert, select, update

from payoutkit.store.among import among
from payoutkit.store.fast import Query
from payoutkit.store.schema import connect_reserves as r
from payoutkit.store.shards import Shard, in_shard

_ONE = (
    r.c.account_id == bindparam("r_account"),
    r.c.livemode == bindparam("r_livemode"),
    r.c.currency == bindparam("r_currency"),
)
_READ = Query(select(r.c.amount).where(*_ONE))  # every unit that moves a liable account's funds asks
_CREATE = insert(r)
_SET = update(r).where(*_ONE).values(amount=bindparam("r_amount"))
_HELD = select(r.c.account_id, r.c.currency).where(r.c.livemode == bindparam("livemode"), r.c.amount > 0)
_HELD_FOR = _HELD.where(r.c.account_id == bindparam("account_id"))
_HELD_IN_SHARD = _HELD.where(in_shard(r.c.account_id))


def reserved(conn: Connection, account_id: str, livemode: bool, currency: str) -> int | None:
    """What is reserved for this account and currency; None when it has no row yet."""
    where = {"r_account": account_id, "r_livemode": livemode, "r_currency": currency}
    rows = _READ.rows(conn, where)
    return int(rows[0][0]) if rows else None


def set_reserved(
    conn: Connection, platform_id: str, key: tuple[str, bool, str], amount: int, *, exists: bool
) -> None:
    """Set the reserve of (account, livemode, currency) to `amount`, creating its row unless it `exists`."""
    account_id, livemode, currency = key
    if exists:
        conn.execute(
            _SET,
            {"r_account": account_id, "r_livemode": livemode, "r_currency": currency, "r_amount": amount},
        )
    else:
        conn.execute(
            _CREATE,
            {"platform_id": platform_id, "account_id": account_id, "livemode": livemode,
             "currency": currency, "amount": amount},
        )  # fmt: skip


def held(
    conn: Connection, livemode: bool, account_id: str | None = None, shard: Shard | None = None
) -> list[tuple[str, str]]:
    """(account, currency) of every positive reserve of a mode (of one account, or of a shard's
    accounts, if given)."""
    if account_id is not None:
        rows = conn.execute(_HELD_FOR, {"livemode": livemode, "account_id": account_id})
    elif shard is not None:
        rows = conn.execute(_HELD_IN_SHARD, {"livemode": livemode} | shard.values())
    else:
        rows = conn.execute(_HELD, {"livemode": livemode})
    return [(row.account_id, row.currency) for row in rows]


_READ_MANY = select(r.c.account_id, r.c.currency, r.c.amount).where(
    among(r.c.account_id, "r_accounts"), r.c.livemode == bindparam("r_livemode")
)


def reserved_many(
    conn: Connection, rows: Iterable[tuple[str, bool, str]]
) -> dict[tuple[str, bool, str], int | None]:
    """`reserved` of many (account, livemode, currency) rows, one statement per mode (one row: `reserved`'s
    own statement, built once)."""
    wanted = set(rows)
    if len(wanted) == 1:
        [row] = wanted
        return {row: reserved(conn, *row)}
    out: dict[tuple[str, bool, str], int | None] = dict.fromkeys(wanted)
    for livemode in sorted({k[1] for k in wanted}):
        accounts = sorted({k[0] for k in wanted if k[1] == livemode})
        for row in conn.execute(_READ_MANY, {"r_accounts": accounts, "r_livemode": livemode}):
            key = (row.account_id, livemode, row.currency)
            if key in out:
                out[key] = int(row.amount)
    return out
