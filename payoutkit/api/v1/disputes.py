"""`/v1/disputes`: handlers, the dispute as Stripe renders it, and its expansion."""

from __future__ import annotations

from typing import Any

from payoutkit.api import expand
from payoutkit.api.context import Call
from payoutkit.api.listing import ListParams, render_page, window_of
from payoutkit.api.params import Params
from payoutkit.services import disputes
from payoutkit.services.actor import Actor
from payoutkit.store import Tx


def retrieve(call: Call, p: Params, dispute: str) -> dict[str, Any]:
    return disputes.shown(call.conn, disputes.retrieve(call.conn, call.actor, dispute)).doc()


def list_disputes(call: Call, p: ListParams) -> dict[str, Any]:
    found = disputes.list_disputes(call.conn, call.actor, window_of(p))
    return render_page(found, "/v1/disputes", lambda d: disputes.shown(call.conn, d).doc())


def _load(conn: Tx, actor: Actor, dispute_id: str) -> dict[str, Any] | None:
    found = disputes.load(conn, dispute_id)
    return None if found is None else disputes.shown(conn, found).doc()


expand.register("dp", _load)
expand.register("du", _load)
