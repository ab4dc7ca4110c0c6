"""The money room's reads of `accounts`: who holds a balance (kind, platform, default currency) and
whether the platform is liable for its negative balances.

The accounts room owns the table (store/accounts.py); these are the few facts that moving and
settling money needs, read in one statement for many accounts. An account's kind, platform and
liability never change once it exists, so callers may cache them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from payoutkit.store.among import among
from payoutkit.store.schema import accounts

# Accounts per statement (a bound on the size of each IN list).
CHUNK = 1000


@dataclass(frozen=True)
class Holder:
    id: str
    kind: str  # platform | connected | system
    platform_id: str | None
    default_currency: str | None
    # The platform is liable for this connected account's negative balances
    # (`controller.losses.payments = application`).
    liable: bool

    @property
    def liability(self) -> tuple[bool, str | None]:
        """(liable, platform) as the write path asks: (False, None) for anything but a connected account."""
        return (self.liable, self.platform_id) if self.kind == "connected" else (False, None)


# The document's field that makes the platform liable, for a select of `accounts` to name.
LOSSES = accounts.c.data[("controller", "losses", "payments")].as_string()

# The two fields of the document it needs, not the document (an account's is a few KB of JSON, parsed
# for each of thousands of accounts by a batch of automatic payouts or a settlement).
_HOLDERS = select(
    accounts.c.id,
    accounts.c.kind,
    accounts.c.platform_id,
    accounts.c.data["default_currency"].as_string().label("default_currency"),
    LOSSES.label("losses"),
).where(among(accounts.c.id, "ids"))


def liability_of(kind: str, platform_id: str | None, losses: str | None) -> tuple[bool, str | None]:
    """`Holder.liability` from an account's kind, platform and `LOSSES`."""
    return (losses == "application", platform_id) if kind == "connected" else (False, None)


def _holder(row: Any) -> Holder:
    liable = row.kind == "connected" and row.losses == "application"
    return Holder(row.id, row.kind, row.platform_id, row.default_currency, liable)


def holders(conn: Connection, ids: Iterable[str]) -> dict[str, Holder]:
    """The accounts among `ids` that exist, by id."""
    wanted = sorted(set(ids))
    found: dict[str, Holder] = {}
    for start in range(0, len(wanted), CHUNK):
        for row in conn.execute(_HOLDERS, {"ids": wanted[start : start + CHUNK]}):
            found[row.id] = _holder(row)
    return found


def holder(conn: Connection, account_id: str) -> Holder | None:
    return holders(conn, [account_id]).get(account_id)
