"""Where an object lives and who may see it: the lookups `expand[]` makes before it loads an object.

An object is found by id in the stored resources or the balance transactions (its owner and mode); an
account's platform is looked up to decide whether a platform sees a connected account's object; and
an object that moved an account's money (the source of one of its balance transactions) is that
account's to see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from payoutkit.store.schema import accounts, balance_transactions, resources

_PLATFORM = select(accounts.c.platform_id).where(accounts.c.id == bindparam("account_id"))
_ACCOUNT = select(accounts.c.kind, accounts.c.livemode).where(accounts.c.id == bindparam("object_id"))
_LOCATE_RESOURCE = select(resources.c.account_id, resources.c.livemode).where(
    resources.c.id == bindparam("object_id")
)
_LOCATE_TXN = select(balance_transactions.c.account_id, balance_transactions.c.livemode).where(
    balance_transactions.c.id == bindparam("object_id")
)
_MOVED_OWN_MONEY = (
    select(balance_transactions.c.id)
    .where(
        balance_transactions.c.source == bindparam("object_id"),
        balance_transactions.c.account_id == bindparam("account_id"),
        balance_transactions.c.livemode == bindparam("livemode"),
    )
    .limit(1)
)


def platform_of(conn: Connection, account_id: str) -> str | None:
    """The platform of an account (a platform's is its own id), None when there is no such account."""
    value = conn.execute(_PLATFORM, {"account_id": account_id}).scalar()
    return None if value is None else str(value)


@dataclass(frozen=True)
class AccountMode:
    is_platform: bool
    livemode: bool


def account_mode(conn: Connection, account_id: str) -> AccountMode | None:
    """Whether the account is a platform, and its mode; None when there is no such account."""
    row = conn.execute(_ACCOUNT, {"object_id": account_id}).first()
    return None if row is None else AccountMode(row.kind == "platform", bool(row.livemode))


@dataclass(frozen=True)
class Located:
    account_id: str  # the owner
    livemode: bool


def locate(conn: Connection, object_id: str) -> Located | None:
    """The owner and mode of a stored object or (`txn_…`) a balance transaction."""
    stmt = _LOCATE_TXN if object_id.startswith("txn_") else _LOCATE_RESOURCE
    row = conn.execute(stmt, {"object_id": object_id}).first()
    return None if row is None else Located(row.account_id, bool(row.livemode))


def moved_money_of(conn: Connection, object_id: str, account_id: str, livemode: bool) -> bool:
    """Whether the object is the source of one of the account's balance transactions in this mode."""
    params = {"object_id": object_id, "account_id": account_id, "livemode": livemode}
    return conn.execute(_MOVED_OWN_MONEY, params).first() is not None
