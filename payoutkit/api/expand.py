"""`expand[]`: replace id fields by the objects they name, dot paths up to four levels deep.

What may be expanded is declared per object type in `EXPANDABLE`, copied from the official schemas'
`x-expandableFields` (a test holds the two together). A path is walked against the declaration of
the object it is in: a field not declared there (`id`, `metadata`, `amount`…) is refused with 400,
whatever it holds (where objects of several types share a place, as a balance transaction's
`source`, a field that none of them declares). Stripe also declares its plain hashes
(`balance.available`, `charge.outcome`): naming one is accepted and changes nothing, as on Stripe,
and a path may go on into it only as far as the hash's own schema declares
(`transfer_data.destination`).

The object an id names is loaded only if it is in the request's mode and visible to the acting
account: its owner, the platform for its connected accounts' objects (as with a transfer's
`destination_payment`), or an account whose balance transaction it is the source of. Loaders are
registered per id prefix by the modules that render those objects; everything else is a stored
resource. An id that names nothing the acting account may see is left as it is: one object out of
reach (the platform's side of a fee refund) does not fail a whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from payoutkit.errors import InvalidRequest
from payoutkit.services.actor import Actor
from payoutkit.store import Tx
from payoutkit.store import resources as objects
from payoutkit.store import visibility as where

MAX_DEPTH = 4

# Object type (or, for a hash without an `object`, the name of its schema) → its expandable fields,
# each with the schema name of the hash it holds when a path may go on into one (else None).
EXPANDABLE: Mapping[str, Mapping[str, str | None]] = {
    "account": {"controller": None, "external_accounts": None, "settings": None},
    "account_session": {"components": None},
    "application_fee": {
        "account": None,
        "application": None,
        "balance_transaction": None,
        "charge": None,
        "fee_source": None,
        "originating_transaction": None,
        "refunds": None,
    },
    "balance": {
        "available": None,
        "connect_reserved": None,
        "instant_available": None,
        "issuing": None,
        "pending": None,
        "refund_and_dispute_prefunding": None,
    },
    "balance_transaction": {"fee_details": None, "source": None},
    "bank_account": {"account": None, "customer": None, "future_requirements": None, "requirements": None},
    # The subset prunes `card`; these are its fields that name other objects.
    "card": {"account": None, "customer": None},
    "charge": {
        "application": None,
        "application_fee": None,
        "balance_transaction": None,
        "billing_details": None,
        "customer": None,
        "failure_balance_transaction": None,
        "fraud_details": None,
        "invoice": None,
        "on_behalf_of": None,
        "outcome": None,
        "payment_intent": None,
        "payment_method_details": None,
        "radar_options": None,
        "refunds": None,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "transfer": None,
        "transfer_data": "charge_transfer_data",
    },
    "charge_transfer_data": {"destination": None},
    "dispute": {
        "balance_transactions": None,
        "charge": None,
        "evidence": None,
        "evidence_details": None,
        "payment_intent": None,
        "payment_method_details": None,
    },
    "event": {"data": None, "request": None},
    "fee_refund": {"balance_transaction": None, "fee": None},
    "list": {"data": None},
    "payout": {
        "application_fee": None,
        "balance_transaction": None,
        "destination": None,
        "failure_balance_transaction": None,
        "original_payout": None,
        "reversed_by": None,
        "trace_id": None,
    },
    "refund": {
        "balance_transaction": None,
        "charge": None,
        "destination_details": None,
        "failure_balance_transaction": None,
        "next_action": None,
        "payment_intent": None,
        "source_transfer_reversal": None,
        "transfer_reversal": None,
    },
    "topup": {
        "balance_transaction": None,
        "payment_method": None,
        "payment_method_options": None,
        "source": None,
    },
    "transfer": {
        "balance_transaction": None,
        "destination": None,
        "destination_payment": None,
        "reversals": None,
        "source_transaction": None,
    },
    "transfer_reversal": {
        "balance_transaction": None,
        "destination_payment_refund": None,
        "source_refund": None,
        "transfer": None,
    },
    "webhook_endpoint": {},
}

# What an expandable field names, where it could name an object of another type than Stripe's
# (`x-expansionResources`): `application` is a Connect application, which Payoutkit does not render
# (it holds the platform's account id), and an instant payout's fee names its payout in `charge`.
# An object of another type is not put in place: the field stays an id.
EXPANDS_TO: Mapping[tuple[str, str], frozenset[str]] = {
    ("application_fee", "application"): frozenset(),
    ("application_fee", "charge"): frozenset({"charge"}),
    ("application_fee", "originating_transaction"): frozenset({"charge"}),
    ("charge", "application"): frozenset(),
}

Loader = Callable[[Tx, Actor, str], dict[str, Any] | None]
LOADERS: dict[str, Loader] = {}


def register(prefix: str, loader: Loader) -> None:
    """`loader(tx, actor, object_id)` loads the objects whose ids begin with `prefix_`."""
    LOADERS[prefix] = loader


def visible(conn: Tx, actor: Actor, owner: str) -> bool:
    """Whether an object owned by `owner` is the actor's to see: its own, or (for the platform) its
    connected accounts'."""
    if owner == actor.account_id:
        return True
    if not actor.is_platform:
        return False
    return where.platform_of(conn, owner) == actor.platform_id


def reachable(conn: Tx, actor: Actor, object_id: str) -> bool:
    """Whether the object exists in the request's mode and the acting account may see it."""
    if object_id.startswith("acct_"):
        account = where.account_mode(conn, object_id)
        # A platform acts in both modes; visibility is the account loader's.
        return account is not None and (account.is_platform or account.livemode == actor.livemode)
    found = where.locate(conn, object_id)
    if found is None or found.livemode != actor.livemode:
        return False
    # What moved an account's money is the account's to see: the source of one of its balance
    # transactions (a fee refund the platform owns, on the connected account's `application_fee_refund`).
    return visible(conn, actor, found.account_id) or where.moved_money_of(
        conn, object_id, actor.account_id, actor.livemode
    )


def load(conn: Tx, actor: Actor, object_id: str) -> dict[str, Any] | None:
    if not reachable(conn, actor, object_id):
        return None
    prefix = object_id.rsplit("_", 1)[0]
    loader = LOADERS.get(prefix)
    if loader is not None:
        loaded = loader(conn, actor, object_id)
        # Test and live data never meet, whatever a loader forgot to check.
        return None if loaded is None or loaded.get("livemode", actor.livemode) != actor.livemode else loaded
    found = objects.get(conn, object_id)
    return None if found is None else found[0]


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


def _refuse(path: str, field: str, *, in_list: bool) -> InvalidRequest:
    hint = f" You may want to try expanding 'data.{path}{field}' instead." if in_list else ""
    return InvalidRequest(f"This property cannot be expanded ({path}{field}).{hint}", param="expand")


def _apply(
    conn: Tx,
    actor: Actor,
    nodes: list[tuple[dict[str, Any], str | None]],
    tree: dict[str, Any],
    path: str,
) -> None:
    """Expand `tree` in every object at one position (a list's items, or what one path reached).

    Objects at one position may be of several types (a balance transaction's `source`): a field is
    refused when none of them declares it, and expanded in those that do.
    """
    for field, sub in tree.items():
        holders = []
        for obj, kind in nodes:
            # `object` names the type, except in a hash that holds one (an event's `data.object`).
            own = obj.get("object")
            own = own if isinstance(own, str) else ""
            declared = EXPANDABLE.get(own or kind or "", {})
            if field in declared:
                holders.append((obj, declared[field], EXPANDS_TO.get((own, field))))
        if nodes and not holders:
            raise _refuse(path, field, in_list=path == "" and nodes[0][0].get("object") == "list")
        children: list[tuple[dict[str, Any], str | None]] = []
        for obj, nested, types in holders:
            value = obj.get(field)
            if isinstance(value, str):  # an id the acting account may not see stays an id
                loaded = load(conn, actor, value)
                if loaded is not None and (types is None or loaded.get("object") in types):
                    value = obj[field] = loaded
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    children.append((item, nested))
                elif sub and not isinstance(item, str | None):  # a number: nothing to go on into
                    raise _refuse(f"{path}{field}.", next(iter(sub)), in_list=False)
        if sub:
            _apply(conn, actor, children, sub, f"{path}{field}.")


def expand(conn: Tx, actor: Actor, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    if paths:
        _apply(conn, actor, [(obj, None)], _tree(paths), "")
    return obj
