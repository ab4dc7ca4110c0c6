"""What every service needs: finding objects the acting account may see, and guarding platform-only work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, page
from payoutkit.errors import CardError, InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ids import ID_PATTERN
from payoutkit.store import objects
from payoutkit.store.schema import accounts, resources


def check_id(value: str, prefixes: tuple[str, ...], param: str, object_name: str) -> str:
    """A malformed id is a 400 naming the param; a well-formed unknown one is a 404 later."""
    if not ID_PATTERN.match(value) or not value.startswith(tuple(p + "_" for p in prefixes)):
        raise InvalidRequest(f"Invalid {object_name} id: '{value}'", param=param, code="resource_missing")
    return value


def test_id_in_livemode(value: str, param: str) -> InvalidRequest:
    """Stripe's answer to one of its fixed test ids (`tok_visa`, `btok_us_verified`) sent with a live key."""
    return InvalidRequest(
        f"You cannot use the test ID '{value}' in livemode. If you are testing your integration, please "
        "use your testmode API keys instead.",
        param=param,
        code="resource_missing",
    )


def live_mode_test_card(param: str) -> CardError:
    """Stripe's decline of a known test card number sent with a live key."""
    return CardError(
        "Your card was declined. Your request was in live mode, but used a known test card.",
        param=param,
        code="card_declined",
        extra={"decline_code": "live_mode_test_card"},
    )


def require_platform(ctx: Ctx, what: str) -> None:
    if not ctx.is_platform:
        raise PermissionDenied(f"Only the platform can {what}; remove the Stripe-Account header.")


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
