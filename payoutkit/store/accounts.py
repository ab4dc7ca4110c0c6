"""The accounts table: the platform's account, its connected accounts, and the system accounts.

An account's document (`data`) is its `Account` record's (records/accounts.py); its platform, mode and
kind are columns. System accounts (the world, the processor) have no document and are no `Account`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from payoutkit.lists import Page, Window
from payoutkit.records.accounts import Account
from payoutkit.store.fast import Query
from payoutkit.store.paging import page as paged
from payoutkit.store.schema import accounts

_GET = select(accounts).where(accounts.c.id == bindparam("account_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
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
    stmt = _GET_FOR_UPDATE if for_update and tx.dialect.name == "postgresql" else _GET
    return _record(tx.execute(stmt, {"account_id": account_id}).first())


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
