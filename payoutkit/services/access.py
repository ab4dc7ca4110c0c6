"""Finding what an actor may reach: a connected account of the acting platform."""

from __future__ import annotations

from payoutkit.errors import ResourceMissing
from payoutkit.records.accounts import Account
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts


def connected_account(tx: Tx, actor: Actor, account_id: str, *, param: str) -> Account:
    """A connected account of the acting platform, in the request's mode."""
    account = store_accounts.get(tx, account_id)
    if (
        account is None
        or account.kind != "connected"
        or account.platform_id != actor.platform_id
        or account.livemode != actor.livemode
    ):
        raise ResourceMissing(f"No such destination: '{account_id}'", param=param)
    return account
