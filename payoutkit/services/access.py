"""Finding the objects an actor may see: its own stored objects, and its platform's connected accounts."""

from __future__ import annotations

from typing import Any

from payoutkit.errors import ResourceMissing
from payoutkit.records.accounts import Account
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts
from payoutkit.store import resources as objects


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
