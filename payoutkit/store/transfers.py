"""The stored transfers (`tr_`) and their reversals (`trr_`): documents in `resources`, read and
written as records. A transfer is owned by the platform, its parent the destination account; a
reversal's parent is its transfer. The destination payments (`py_`) and their refunds (`pyr_`) are
charges and refunds (store/charges.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from payoutkit.lists import Page, Window
from payoutkit.records.transfers import Transfer, TransferReversal
from payoutkit.store.paging import page
from payoutkit.store.resources import get_of_kind
from payoutkit.store.schema import object_is, resources

_INSERT = insert(resources)
_SAVE = (
    update(resources)
    .where(resources.c.id == bindparam("object_id"))
    .values(data=bindparam("doc", type_=resources.c.data.type))
)


def _insert(
    tx: Connection, doc: dict[str, Any], *, owner: str, parent: str | None, status: str | None = None
) -> None:
    tx.execute(
        _INSERT,
        {
            "id": doc["id"],
            "object": doc["object"],
            "account_id": owner,
            "livemode": doc["livemode"],
            "created": doc["created"],
            "parent_id": parent,
            "status": status,
            "data": doc,
            "internal": None,
        },
    )


def _get(tx: Connection, object_id: str, obj: str, *, for_update: bool = False) -> Any:
    """The row (`data`, `account_id`) of a stored object of one kind; locked (PostgreSQL) if asked."""
    return get_of_kind(tx, object_id, obj, for_update=for_update)


def _save(tx: Connection, doc: dict[str, Any]) -> None:
    tx.execute(_SAVE, {"object_id": doc["id"], "doc": doc})


# -- transfers -------------------------------------------------------------------------------------


def insert_transfer(tx: Connection, transfer: Transfer, *, owner: str) -> None:
    _insert(tx, transfer.doc(), owner=owner, parent=transfer.destination)


def transfer(tx: Connection, transfer_id: str, *, for_update: bool = False) -> tuple[Transfer, str] | None:
    """The transfer and the account that owns it."""
    row = _get(tx, transfer_id, "transfer", for_update=for_update)
    return None if row is None else (Transfer.from_doc(row.data), row.account_id)


def save_transfer(tx: Connection, transfer: Transfer) -> None:
    _save(tx, transfer.doc())


def list_transfers(
    tx: Connection, owner: str, livemode: bool, window: Window, *, destination: str | None = None
) -> Page[Transfer]:
    where = [
        resources.c.account_id == owner,
        resources.c.livemode == livemode,
        object_is("transfer"),
    ]
    if destination:
        where.append(resources.c.parent_id == destination)
    return page(tx, resources, where, window).map(lambda row: Transfer.from_doc(row.data))


# -- reversals -------------------------------------------------------------------------------------


def insert_reversal(tx: Connection, reversal: TransferReversal, *, owner: str) -> None:
    _insert(tx, reversal.doc(), owner=owner, parent=reversal.transfer)


def reversal(tx: Connection, reversal_id: str) -> tuple[TransferReversal, str] | None:
    """The reversal and the account that owns it."""
    row = _get(tx, reversal_id, "transfer_reversal")
    return None if row is None else (TransferReversal.from_doc(row.data), row.account_id)


def save_reversal(tx: Connection, reversal: TransferReversal) -> None:
    _save(tx, reversal.doc())


def list_reversals(tx: Connection, transfer_id: str, window: Window) -> Page[TransferReversal]:
    where = [resources.c.parent_id == transfer_id, object_is("transfer_reversal")]
    return page(tx, resources, where, window).map(lambda row: TransferReversal.from_doc(row.data))
