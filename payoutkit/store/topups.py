"""The stored top-ups (`tu_`): documents in `resources`, owned by their account, read and written as
records; `status` is kept in its column for the list filter."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select, update

from payoutkit.lists import Page, Window
from payoutkit.records.topups import Topup
from payoutkit.store.paging import page
from payoutkit.store.schema import object_is, resources

_INSERT = insert(resources)
_GET = select(resources.c.data, resources.c.account_id).where(
    resources.c.id == bindparam("object_id"), object_is("topup")
)
_SAVE = (
    update(resources)
    .where(resources.c.id == bindparam("object_id"))
    .values(data=bindparam("doc", type_=resources.c.data.type))
)


def insert_topup(tx: Connection, topup: Topup, *, owner: str) -> None:
    doc = topup.doc()
    tx.execute(
        _INSERT,
        {
            "id": topup.id,
            "object": "topup",
            "account_id": owner,
            "livemode": topup.livemode,
            "created": topup.created,
            "parent_id": None,
            "status": topup.status,
            "data": doc,
            "internal": None,
        },
    )


def topup(tx: Connection, topup_id: str) -> tuple[Topup, str] | None:
    """The top-up and the account that owns it."""
    row = tx.execute(_GET, {"object_id": topup_id}).first()
    return None if row is None else (Topup.from_doc(row.data), row.account_id)


def save_topup(tx: Connection, topup: Topup) -> None:
    tx.execute(_SAVE, {"object_id": topup.id, "doc": topup.doc()})


def list_topups(
    tx: Connection, owner: str, livemode: bool, window: Window, *, status: str | None = None
) -> Page[Topup]:
    where = [resources.c.account_id == owner, resources.c.livemode == livemode, object_is("topup")]
    if status:
        where.append(resources.c.status == status)
    return page(tx, resources, where, window).map(lambda row: Topup.from_doc(row.data))
