"""Finding the objects an actor may see: its own stored objects, and its platform's connected accounts.

Transitional parts (issue 8): `list_owned` is replaced by each kind's store list function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.errors import ResourceMissing
from payoutkit.records.accounts import Account
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts
from payoutkit.store import resources as objects
from payoutkit.store.schema import resources


def owned(
    conn: Tx,
    ctx: Actor,
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


def connected_account(conn: Tx, ctx: Actor, account_id: str, *, param: str) -> Account:
    """A connected account of the acting platform, in the request's mode."""
    account = store_accounts.get(conn, account_id)
    if (
        account is None
        or account.kind != "connected"
        or account.platform_id != ctx.platform_id
        or account.livemode != ctx.livemode
    ):
        raise ResourceMissing(f"No such destination: '{account_id}'", param=param)
    return account


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
