"""`expand[]`: replace id fields by the objects they name, dot paths up to four levels deep.

Loaders are registered per id prefix by the services that render those objects; everything else is
a stored resource. An object is visible to the acting account that owns it, and to the platform for
its connected accounts' objects (as with a transfer's `destination_payment`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from payoutkit.api.context import Ctx
from payoutkit.api.errors import InvalidRequest
from payoutkit.store import objects
from payoutkit.store.schema import accounts

MAX_DEPTH = 4

Loader = Callable[[Connection, Ctx, str], dict[str, Any] | None]
LOADERS: dict[str, Loader] = {}


def register(prefix: str, loader: Loader) -> None:
    LOADERS[prefix] = loader


def visible(conn: Connection, ctx: Ctx, owner: str) -> bool:
    if owner == ctx.account_id:
        return True
    if not ctx.is_platform:
        return False
    platform = conn.execute(select(accounts.c.platform_id).where(accounts.c.id == owner)).scalar()
    return bool(platform == ctx.platform_id)


def load(conn: Connection, ctx: Ctx, object_id: str) -> dict[str, Any] | None:
    prefix = object_id.rsplit("_", 1)[0]
    loader = LOADERS.get(prefix)
    if loader is not None:
        loaded = loader(conn, ctx, object_id)
        # Test and live data never meet, whatever a loader forgot to check.
        return None if loaded is None or loaded.get("livemode", ctx.livemode) != ctx.livemode else loaded
    found = objects.get(conn, object_id)
    if found is None or found[0].get("livemode") != ctx.livemode or not visible(conn, ctx, found[1]):
        return None
    return found[0]


def _tree(paths: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        depth = len(parts) - (1 if parts[0] == "data" else 0)
        if depth > MAX_DEPTH or not all(parts):
            raise InvalidRequest(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        node = tree
        for part in parts:
            node = node.setdefault(part, {})
    return tree


def _apply(conn: Connection, ctx: Ctx, obj: dict[str, Any], tree: dict[str, Any], path: str) -> None:
    if obj.get("object") == "list" and set(tree) == {"data"}:
        for item in obj["data"]:
            _apply(conn, ctx, item, tree["data"], path + "data.")
        return
    for field, sub in tree.items():
        if field not in obj:
            raise InvalidRequest(f"This property cannot be expanded ({path}{field}).", param="expand")
        value = obj[field]
        if isinstance(value, str):
            loaded = load(conn, ctx, value)
            if loaded is None:
                raise InvalidRequest(f"This property cannot be expanded ({path}{field}).", param="expand")
            obj[field] = value = loaded
        if isinstance(value, dict) and sub:
            _apply(conn, ctx, value, sub, f"{path}{field}.")
        elif value is not None and not isinstance(value, dict | list):
            raise InvalidRequest(f"This property cannot be expanded ({path}{field}).", param="expand")


def expand(conn: Connection, ctx: Ctx, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    if paths:
        _apply(conn, ctx, obj, _tree(paths), "")
    return obj
