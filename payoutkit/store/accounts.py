"""The accounts table: the platform's account, its connected accounts, and the system accounts.

An account's document (`data`) is its `Account` record's (records/accounts.py); its platform, mode and
kind are columns. System accounts (the world, the processor) have no document and are no `Account`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from payoutkit.lists import Page, Window
from payoutkit.records.accounts import Account, Standing
from payoutkit.store.engines import engine_cache
from payoutkit.store.fast import Query
from payoutkit.store.paging import page as paged
from payoutkit.store.schema import accounts

_GET = select(accounts).where(accounts.c.id == bindparam("account_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
# Every payout and every connected account's balance read asks (the account, and its platform).
_GET_FAST = Query(
    select(accounts.c.kind, accounts.c.data, accounts.c.platform_id, accounts.c.livemode).where(
        accounts.c.id == bindparam("account_id")
    )
)
# An account and its platform in one read (a connected account's balance: its instant payout terms).
_GET_TWO_FAST = Query(
    select(
        accounts.c.id, accounts.c.kind, accounts.c.data, accounts.c.platform_id, accounts.c.livemode
    ).where(accounts.c.id.in_([bindparam("first_id"), bindparam("second_id")]))
)
_DATA = select(accounts.c.data).where(accounts.c.id == bindparam("account_id"))
_OWNER = select(accounts.c.platform_id, accounts.c.livemode).where(accounts.c.id == bindparam("account_id"))
# What a charge needs of its account: the payout schedule's delay, read in SQL from the document.
_DELAY_DAYS = Query(
    select(
        accounts.c.kind, accounts.c.data[("settings", "payouts", "schedule", "delay_days")].as_integer()
    ).where(accounts.c.id == bindparam("account_id"))
)
_PLATFORM = select(accounts.c.id).where(accounts.c.kind == "platform")
_INSERT = insert(accounts)
_SAVE = update(accounts).where(accounts.c.id == bindparam("account_id")).values(data=bindparam("data"))


def _record(row: Row[Any] | None) -> Account | None:
    if row is None or row.kind == "system":
        return None
    return _account(row)


def _account(row: Row[Any]) -> Account:
    return Account.from_doc(row.data, kind=row.kind, platform_id=row.platform_id, livemode=bool(row.livemode))


def get(tx: Connection, account_id: str, *, for_update: bool = False) -> Account | None:
    """The account (None for an unknown id or a system account). `for_update` locks its row (PostgreSQL)."""
    if for_update and tx.dialect.name == "postgresql":
        return _record(tx.execute(_GET_FOR_UPDATE, {"account_id": account_id}).first())
    rows = _GET_FAST.rows(tx, {"account_id": account_id})
    if not rows or rows[0][0] == "system":
        return None
    kind, data, platform, livemode = rows[0]
    return Account.from_doc(data, kind=kind, platform_id=platform, livemode=bool(livemode))


def get_two(tx: Connection, first_id: str, second_id: str) -> tuple[Account | None, Account | None]:
    """`get` of two accounts (an account and its platform) in one statement."""
    found: dict[str, Account] = {}
    for account_id, kind, data, platform, livemode in _GET_TWO_FAST.rows(
        tx, {"first_id": first_id, "second_id": second_id}
    ):
        if kind != "system":
            found[account_id] = Account.from_doc(
                data, kind=kind, platform_id=platform, livemode=bool(livemode)
            )
    return found.get(first_id), found.get(second_id)


def standings(tx: Connection, account_id: str, platform_id: str) -> tuple[Standing | None, Standing | None]:
    """The `Standing` of an account and of its platform (None for an unknown or system account): read
    with `get_two` the first time, then kept for as long as this database's engine lives (it never
    changes)."""
    known: dict[str, Standing] = engine_cache(tx, "account_standing")
    first, second = known.get(account_id), known.get(platform_id)
    if first is None or second is None:
        for found in get_two(tx, account_id, platform_id):
            if found is not None:
                known[found.id] = Standing.of(found)
        first, second = known.get(account_id), known.get(platform_id)
    return first, second


def delay_days(tx: Connection, account_id: str) -> int | None:
    """`get(...).schedule.delay_days` without reading the whole account (None where `get` is None)."""
    rows = _DELAY_DAYS.rows(tx, {"account_id": account_id})
    return None if not rows or rows[0][0] == "system" else int(rows[0][1])


def document(tx: Connection, account_id: str) -> dict[str, Any] | None:
    """The stored document as it is (a system account's is {})."""
    row = tx.execute(_DATA, {"account_id": account_id}).first()
    return None if row is None else dict(row.data)


def owner(tx: Connection, account_id: str) -> tuple[str | None, bool] | None:
    """An account's platform and mode (None for an unknown id): what never changes about it."""
    row = tx.execute(_OWNER, {"account_id": account_id}).first()
    return None if row is None else (row.platform_id, bool(row.livemode))


def platform_id(tx: Connection) -> str | None:
    """The platform's account id (None before the first start)."""
    row = tx.execute(_PLATFORM).first()
    return None if row is None else str(row.id)


def insert_account(tx: Connection, account: Account) -> None:
    tx.execute(
        _INSERT,
        {
            "id": account.id,
            "platform_id": account.platform_id,
            "livemode": account.livemode,
            "kind": account.kind,
            "created": account.created,
            "data": account.doc(),
        },
    )


def insert_system(tx: Connection, account_id: str, now: int) -> None:
    """A system account of the ledger (no document): the world, the processor."""
    tx.execute(
        _INSERT,
        {
            "id": account_id,
            "platform_id": None,
            "livemode": False,
            "kind": "system",
            "created": now,
            "data": {},
        },
    )


def save(tx: Connection, account: Account) -> None:
    tx.execute(_SAVE, {"account_id": account.id, "data": account.doc()})


def page(tx: Connection, platform_id: str, livemode: bool, window: Window) -> Page[Account]:
    """A page of a platform's connected accounts of one mode, newest first."""
    where = [accounts.c.platform_id == platform_id, accounts.c.livemode == livemode]
    return paged(tx, accounts, where, window).map(_account)
