"""PostgreSQL: a unit's trailing writes sent together, in one round trip (psycopg's pipeline mode).

A `Write` declared `deferred` (fast.py) is one whose answer nobody waits for: the rows of a charge or a
payout, its event, the bucket moves at the unit's end. On PostgreSQL it is not sent when the unit runs
it but kept on the unit's connection (`DEFERRED_WRITES`); the unit's next statement of any kind, or its
end (units.py `run_before_commit`), first sends all that it kept, in order, in one pipeline: each
statement is sent without waiting for the one before, and one sync waits for all their answers; at
the unit's end the pipeline carries its COMMIT too. A charge that sent BEGIN, its read, three INSERTs,
an UPDATE and COMMIT one after the other (seven round trips; the bench's simulated clock adds one) now
waits for three: BEGIN, its read, and one pipeline of the four writes and the COMMIT.

Nothing else changes: the statements are the same and run in the same order, in the unit's transaction,
before anything the unit sends after them (the listener below, on every statement of the writing
engines) and before its commit. A write's failure is raised when its batch is sent, so a `Write` is
declared deferred only where its failure fails the whole unit (a unique id, a deadlock) and no caller
waits for it to catch it. The failure is wrapped as Core wraps a driver's (`DBAPIError`), so a unit that
met a deadlock in its bucket moves is run again as before.

The engine's cursor listeners see every pipelined statement, as `driver_sql` calls them, with no cursor
(bench/statements.py counts round trips by that). A write of many rows that goes as a `COPY` is sent at
once (a COPY cannot be pipelined), after what was kept. SQLite keeps nothing: its statements cost no
round trip, and `Write` sends them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.util import await_

from payoutkit.store.fast import DEFERRED_WRITES, Pending, driver_sql


def send_deferred(conn: Connection, *, commit: bool = False) -> None:
    """Send the writes the unit on `conn` has kept (none: nothing), in one pipeline when several.

    `commit`: the unit ends here, and its COMMIT goes in the same pipeline (when it kept any write). The
    driver's own commit, which SQLAlchemy sends next, then finds no transaction open and sends nothing;
    a COMMIT that fails is raised here, and the driver's rollback after it finds nothing to roll back."""
    pending: list[Pending] | None = conn.info.pop(DEFERRED_WRITES, None)
    if not pending:
        return
    if len(pending) == 1 and not commit:
        [(sql, params, many)] = pending
        driver_sql(conn, sql, params, many=many)
        return
    listeners = conn.engine.dispatch
    if listeners.before_cursor_execute:
        for sql, params, many in pending:
            for fn in listeners.before_cursor_execute:
                fn(conn, None, sql, params, None, many)
    driver = conn.connection.driver_connection
    try:
        if conn.dialect.is_async:  # a unit on the event loop (store/aio.py)
            await_(_pipelined_async(driver, pending, commit))
        else:
            _pipelined(driver, pending, commit)
    except BaseException as exc:
        sql, params, _ = pending[0]
        conn._handle_dbapi_exception(exc, sql, params, None, None)
    if listeners.after_cursor_execute:
        for sql, params, many in pending:
            for fn in listeners.after_cursor_execute:
                fn(conn, None, sql, params, None, many)


def _pipelined(driver: Any, pending: Sequence[Pending], commit: bool) -> None:
    with driver.pipeline(), driver.cursor() as cursor:
        for sql, params, many in pending:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        if commit:
            cursor.execute("COMMIT")


async def _pipelined_async(driver: Any, pending: Sequence[Pending], commit: bool) -> None:
    async with driver.pipeline(), driver.cursor() as cursor:
        for sql, params, many in pending:
            if many:
                await cursor.executemany(sql, params)
            else:
                await cursor.execute(sql, params)
        if commit:
            await cursor.execute("COMMIT")


def _send_first(conn: Connection, *_args: Any) -> None:
    if DEFERRED_WRITES in conn.info:
        send_deferred(conn)


def _drop(conn: Connection) -> None:
    conn.info.pop(DEFERRED_WRITES, None)


def keep_order(engine: Engine) -> None:
    """On `engine` (PostgreSQL's writing engines): any statement, and any commit of a transaction that
    is not a unit's, first sends the writes kept on its connection; a rollback drops them."""
    event.listen(engine, "before_cursor_execute", _send_first)
    event.listen(engine, "commit", _send_first)
    event.listen(engine, "rollback", _drop)
