"""The charges room's statements: charges, refunds, disputes, application fees and their refunds.

They are documents in `resources` (the Stripe object in `data`, the columns lists filter on beside
it); each function turns rows into the records of `payoutkit/records/charges.py` and back. A lookup
by id names the kind it expects: an object of another kind is as missing as no object at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    select,
    union_all,
    update,
)

from payoutkit.lists import Page, Window
from payoutkit.records.charges import ApplicationFee, Charge, Dispute, FeeRefund, Refund
from payoutkit.store.clock import prime as prime_clock
from payoutkit.store.events import ENDPOINTS_PART, prime_endpoints
from payoutkit.store.fast import Query, Write
from payoutkit.store.paging import page
from payoutkit.store.resources import get_of_kind
from payoutkit.store.schema import accounts, object_is, resources
from payoutkit.store.schema import clock as clock_table

_INSERT = Write(insert(resources), deferred=True)  # a charge request inserts one or two
_SAVE = update(resources).where(resources.c.id == bindparam("object_id")).values(data=bindparam("document"))
_SAVE_WITH_STATUS = _SAVE.values(status=bindparam("new_status"))
_INTERNAL = select(resources.c.internal).where(resources.c.id == bindparam("object_id"))
_SAVE_INTERNAL = (
    update(resources).where(resources.c.id == bindparam("object_id")).values(internal=bindparam("state"))
)


# What a charge reads of its account, in one statement: the payout schedule's delay (`part` 0, read in
# SQL from the document), its platform's enabled webhook endpoints (`part` 1, oldest first), which the
# charge's events are delivered to (store/events.py `prime_endpoints`), and the simulated clock.
_DELAY_ROWS = union_all(
    select(
        literal_column("0").label("part"),
        accounts.c.kind,
        accounts.c.data[("settings", "payouts", "schedule", "delay_days")].as_integer().label("delay"),
        cast(null(), resources.c.data.type).label("data"),
        cast(null(), resources.c.internal.type).label("internal"),
        literal_column("0").label("seq"),
    ).where(accounts.c.id == bindparam("account_id")),
    select(
        literal_column("1"), null(), null(), resources.c.data, resources.c.internal, resources.c.seq
    ).where(*ENDPOINTS_PART),
    # Part 2: the simulated clock's time (in `delay`; no row without a simulated clock), kept for the
    # unit's `clock.read` (`prime`): the charge takes its time after this statement.
    select(literal_column("2"), null(), clock_table.c.now, null(), null(), literal_column("0")).where(
        clock_table.c.id == 1
    ),
).subquery()
_DELAY_AND_ENDPOINTS = Query(
    select(*_DELAY_ROWS.c["part", "kind", "delay", "data", "internal"]).order_by(
        _DELAY_ROWS.c.part, _DELAY_ROWS.c.seq
    )
)


def delay_days(conn: Connection, account_id: str, *, livemode: bool, endpoints_of: str) -> int | None:
    """The account's payout delay in days (None for an unknown or system account), read with the
    enabled webhook endpoints of the platform `endpoints_of` in the mode, which the unit keeps for the
    charge's events, and with the simulated clock (`clock.prime`)."""
    params = {"account_id": account_id, "platform_id": endpoints_of, "livemode": livemode}
    delay: int | None = None
    endpoints = []
    for part, kind, days, data, internal in _DELAY_AND_ENDPOINTS.rows(conn, params):
        if part == 0:
            delay = None if kind == "system" else int(days)
        elif part == 1:
            endpoints.append((data, internal))
        else:
            prime_clock(conn, days)
    prime_endpoints(conn, endpoints_of, livemode, endpoints)
    return delay


def _get(conn: Connection, object_id: str, kind: str, *, for_update: bool) -> Row[Any] | None:
    return get_of_kind(conn, object_id, kind, for_update=for_update)


def charge(conn: Connection, charge_id: str, *, for_update: bool = False) -> tuple[Charge, str] | None:
    """The charge (or payment) and the account it is on; locked (PostgreSQL) when `for_update`."""
    row = _get(conn, charge_id, "charge", for_update=for_update)
    return None if row is None else (Charge.from_doc(row.data), row.account_id)


def refund(conn: Connection, refund_id: str) -> tuple[Refund, str] | None:
    row = _get(conn, refund_id, "refund", for_update=False)
    return None if row is None else (Refund.from_doc(row.data), row.account_id)


def dispute(conn: Connection, dispute_id: str) -> tuple[Dispute, str] | None:
    row = _get(conn, dispute_id, "dispute", for_update=False)
    return None if row is None else (Dispute.from_doc(row.data), row.account_id)


def application_fee(conn: Connection, fee_id: str, *, for_update: bool = False) -> ApplicationFee | None:
    row = _get(conn, fee_id, "application_fee", for_update=for_update)
    return None if row is None else ApplicationFee.from_doc(row.data)


def _insert(conn: Connection, doc: Mapping[str, Any], **columns: Any) -> None:
    values = {"id": doc["id"], "object": doc["object"], "created": doc["created"], "data": doc}
    _INSERT.run(conn, [{"parent_id": None, "status": None, "internal": None, **values, **columns}])


def add_charge(
    conn: Connection,
    c: Charge,
    *,
    account_id: str,
    parent_id: str | None = None,
    doc: Mapping[str, Any] | None = None,
) -> None:
    """Store a new charge; `doc`: its `c.doc()`, when the caller has made it already."""
    d = c.doc() if doc is None else doc
    _insert(conn, d, account_id=account_id, livemode=c.livemode, parent_id=parent_id, status=c.status)


def save_charge(conn: Connection, c: Charge) -> None:
    conn.execute(_SAVE, {"object_id": c.id, "document": c.doc()})


def add_refund(conn: Connection, r: Refund, *, account_id: str) -> None:
    _insert(conn, r.doc(), account_id=account_id, livemode=r.livemode, parent_id=r.charge, status=r.status)


def save_refund(conn: Connection, r: Refund) -> None:
    conn.execute(_SAVE, {"object_id": r.id, "document": r.doc()})


def add_dispute(conn: Connection, d: Dispute, *, account_id: str) -> None:
    _insert(conn, d.doc(), account_id=account_id, livemode=d.livemode, parent_id=d.charge, status=d.status)


def add_application_fee(conn: Connection, fee: ApplicationFee, *, account_id: str) -> None:
    _insert(conn, fee.doc(), account_id=account_id, livemode=fee.livemode)


def save_application_fee(conn: Connection, fee: ApplicationFee) -> None:
    conn.execute(_SAVE, {"object_id": fee.id, "document": fee.doc()})


def add_fee_refund(conn: Connection, fr: FeeRefund, *, account_id: str, livemode: bool) -> None:
    """A fee refund's document has no `livemode`: its mode is the column's."""
    _insert(conn, fr.doc(), account_id=account_id, livemode=livemode, parent_id=fr.fee)


def internal(conn: Connection, object_id: str) -> dict[str, Any]:
    """What the object knows but never shows (the `internal` column), {} when none."""
    row = conn.execute(_INTERNAL, {"object_id": object_id}).first()
    return dict(row.internal or {}) if row else {}


def save_internal(conn: Connection, object_id: str, state: Mapping[str, Any]) -> None:
    conn.execute(_SAVE_INTERNAL, {"object_id": object_id, "state": dict(state)})


def _owned_page(
    conn: Connection, kind: str, account_id: str, livemode: bool, window: Window, parent: str | None = None
) -> Page[Row[Any]]:
    where = [
        resources.c.account_id == account_id,
        resources.c.livemode == livemode,
        object_is(kind),
    ]
    if parent is not None:
        where.append(resources.c.parent_id == parent)
    return page(conn, resources, where, window)


def charges(conn: Connection, account_id: str, livemode: bool, window: Window) -> Page[Charge]:
    """The account's charges (and payments), newest first."""
    return _owned_page(conn, "charge", account_id, livemode, window).map(lambda r: Charge.from_doc(r.data))


def refunds(
    conn: Connection, account_id: str, livemode: bool, window: Window, *, charge: str | None = None
) -> Page[Refund]:
    """The account's refunds (of one charge, when given), newest first."""
    found = _owned_page(conn, "refund", account_id, livemode, window, charge)
    return found.map(lambda r: Refund.from_doc(r.data))


def disputes(conn: Connection, account_id: str, livemode: bool, window: Window) -> Page[Dispute]:
    return _owned_page(conn, "dispute", account_id, livemode, window).map(lambda r: Dispute.from_doc(r.data))
