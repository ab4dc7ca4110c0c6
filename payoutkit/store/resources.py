"""Resources stored as documents: the rendered Stripe object plus the columns queries filter on."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, insert, select, update

from payoutkit.store.fast import Query, Write
from payoutkit.store.schema import object_is, resources

_CREATE = Write(insert(resources), deferred=True)  # every payout; many rows at once for a batch of them
_GET = select(resources.c.data, resources.c.account_id).where(resources.c.id == bindparam("object_id"))
_GET_FAST = Query(_GET)  # every payout retrieved
_GET_LOCKED = _GET.with_for_update()


def create(
    conn: Connection,
    obj: dict[str, Any],
    *,
    account_id: str,
    parent_id: str | None = None,
    status: str | None = None,
    internal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    _CREATE.run(
        conn,
        [
            {
                "id": obj["id"],
                "object": obj["object"],
                "account_id": account_id,
                "livemode": obj["livemode"],
                "created": obj["created"],
                "parent_id": parent_id,
                "status": status,
                "data": obj,
                "internal": internal,
            }
        ],
    )
    return obj


def create_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """`create` of many documents in one statement; each row: `obj`, `account_id`, `parent_id`,
    `status`, `internal`."""
    if rows:
        _CREATE.run(
            conn,
            [
                {"id": r["obj"]["id"], "object": r["obj"]["object"], "account_id": r["account_id"],
                 "livemode": r["obj"]["livemode"], "created": r["obj"]["created"],
                 "parent_id": r["parent_id"], "status": r["status"], "data": r["obj"],
                 "internal": r["internal"]}
                for r in rows
            ],
        )  # fmt: skip


def save(conn: Connection, obj: dict[str, Any], *, status: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"data": obj}
    if status is not None:
        values["status"] = status
    conn.execute(update(resources).where(resources.c.id == obj["id"]).values(**values))
    return obj


def get(conn: Connection, object_id: str, *, for_update: bool = False) -> tuple[dict[str, Any], str] | None:
    """The object and the account that owns it."""
    if for_update and conn.dialect.name == "postgresql":
        row = conn.execute(_GET_LOCKED, {"object_id": object_id}).first()
        return None if row is None else (dict(row.data), row.account_id)
    rows = _GET_FAST.rows(conn, {"object_id": object_id})
    return (dict(rows[0][0]), rows[0][1]) if rows else None


@functools.cache
def _get_of_kind(kind: str, *, locked: bool) -> Select[Any]:
    stmt = select(resources.c.data, resources.c.account_id).where(
        resources.c.id == bindparam("object_id"), object_is(kind)
    )
    return stmt.with_for_update() if locked else stmt


def get_of_kind(conn: Connection, object_id: str, kind: str, *, for_update: bool = False) -> Row[Any] | None:
    """The row (`data`, `account_id`) of a stored object of one kind (a statement per kind: schema.
    object_is); locked (PostgreSQL) when `for_update`."""
    locked = for_update and conn.dialect.name == "postgresql"
    return conn.execute(_get_of_kind(kind, locked=locked), {"object_id": object_id}).first()


def internal(conn: Connection, object_id: str) -> dict[str, Any]:
    """What the object knows but never shows (the `internal` column), {} when none."""
    row = conn.execute(select(resources.c.internal).where(resources.c.id == object_id)).first()
    return dict(row.internal or {}) if row else {}


def save_internal(conn: Connection, object_id: str, value: dict[str, Any]) -> None:
    conn.execute(update(resources).where(resources.c.id == object_id).values(internal=value))
