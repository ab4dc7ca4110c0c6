"""Finding the objects an actor may see: its own stored objects, and its platform's connected accounts.

Transitional parts (issue 8): `list_owned` is replaced by each kind's store list function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.errors import ResourceMissing
from payoutkit.store import resources as objects
from payoutkit.store.schema import accounts, resources


def owned(
    conn: Connection,
    ctx: Ctx,
    object_id: str,
    object_name: str,
    *,
    param: str = "id",
    for_update: bool = False,
) -> dict[str, Any]:
    """A stored resource of the acting account (in its mode), or 404."""
    found = objects.get(conn, object_id, for_update=for_update)
    if found is None or found[1] != ctx.account_id or found[0].get("livemode") != ctx.livemode:
        raise ResourceMissing.for_id(object_name, object_id, param)
    if found[0].get("object") != object_name:
        raise ResourceMissing.for_id(object_name, object_id, param)
    return found[0]


def connected_account(conn: Connection, ctx: Ctx, account_id: str, *, param: str) -> Any:
    """A connected account of the acting platform, in the request's mode."""
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    if (
        row is None
        or row.kind != "connected"
        or row.platform_id != ctx.platform_id
        or bool(row.livemode) != ctx.livemode
    ):
        raise ResourceMissing(f"No such destination: '{account_id}'", param=param)
    return row


def _as_stored(row: Any) -> dict[str, Any]:
    return dict(row.data)


def list_owned(
    conn: Connection,
    ctx: Ctx,
    object_name: str,
    p: ListParams,
    url: str,
    *where: ColumnElement[bool],
    render: Callable[[Any], dict[str, Any]] = _as_stored,
) -> dict[str, Any]:
    """A page of the acting account's stored resources of one kind, newest first."""
    scope = [
        resources.c.account_id == ctx.account_id,
        resources.c.livemode == ctx.livemode,
        resources.c.object == object_name,
    ]
    return page(conn, resources, [*scope, *where], p, url, render)
