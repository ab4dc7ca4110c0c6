"""The simulated clock's row (table `clock`): one row, shared by every process of a deployment."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select, update

from payoutkit.store.fast import Query
from payoutkit.store.schema import clock as clock_table
from payoutkit.store.units import CLOCK_READ

_READ = select(clock_table.c.now).where(clock_table.c.id == 1)
_READ_FAST = Query(_READ)  # every unit of a request reads it
_CREATE = insert(clock_table).values(id=1, now=bindparam("now"))
_LOCK = select(clock_table.c.now, clock_table.c.target).where(clock_table.c.id == 1)
_LOCK_FOR_UPDATE = _LOCK.with_for_update()
_SET_TARGET = update(clock_table).where(clock_table.c.id == 1).values(target=bindparam("c_target"))
_ADVANCE = (
    update(clock_table)
    .where(clock_table.c.id == 1, clock_table.c.now < bindparam("to"))
    .values(now=bindparam("to"))
)


def load(conn: Connection, start: int) -> int:
    """The stored time, creating the row at `start` on first use."""
    stored = conn.execute(_READ).scalar()
    if stored is None:
        conn.execute(_CREATE, {"now": start})
        return start
    return int(stored)


def read(conn: Connection) -> int:
    """The stored time (one primary-key read, none when a statement of the unit has read it: `prime`)."""
    primed = conn.info.pop(CLOCK_READ, None)
    if primed is not None:
        return int(primed)
    [(now,)] = _READ_FAST.rows(conn)
    return int(now)


# The row as a statement of its own reads it: for a statement that reads it along with something else.
READ = _READ


def prime(conn: Connection, now: int) -> None:
    """Keep the stored time that a statement of this unit read along with something else, for the
    unit's next `read` (which takes it, once). Dropped when the unit ends (store/db.py UNIT_STATE)."""
    conn.info[CLOCK_READ] = now


def lock(conn: Connection) -> tuple[int, int | None]:
    """Lock the row for this unit (on PostgreSQL; SQLite units are serialized): (now, target)."""
    stmt = _LOCK_FOR_UPDATE if conn.dialect.name == "postgresql" else _LOCK
    row = conn.execute(stmt).one()
    return int(row.now), (None if row.target is None else int(row.target))


def set_target(conn: Connection, target: int) -> None:
    conn.execute(_SET_TARGET, {"c_target": target})


def advance_to(conn: Connection, to: int) -> None:
    """Move the stored time forward to `to`, never back."""
    conn.info.pop(CLOCK_READ, None)
    conn.execute(_ADVANCE, {"to": to})
