"""PostgreSQL: a unit's BEGIN and trailing writes kept, then sent together in one round trip.

A `Write` declared `deferred` (fast.py) is one whose answer nobody waits for: the rows of a charge or a
payout, its event, the bucket moves at the unit's end. On PostgreSQL it is not sent when the unit runs
it but kept on the unit's connection (`DEFERRED_WRITES`); the unit's next statement of any kind, or its
end (units.py `run_before_commit`), first sends all that it kept, in order, merged into as few
statements as they can be (store/merged.py), in one pipeline when there are several: each sent without
waiting for the one before, one sync waiting for all their answers; at the unit's end the pipeline
carries its COMMIT too.

The transaction's BEGIN is kept the same way. The writing engines' driver connections autocommit, and a
transaction begun on them (Core's `begin` event) keeps a BEGIN as its first write, which goes with the
first statement that needs it. A plain read does not (`reads_only`: a SELECT that locks nothing and
calls no function that acts); under READ COMMITTED, every unit's isolation, each statement of a
transaction reads its own snapshot anyway, and a read that comes before the transaction's first write
or lock reads what it would have read inside it. So a charge (two reads, then its writes) sends its reads
as they come, then its four writes as ONE statement, alone, without BEGIN or COMMIT: one statement is a
transaction of its own, all of it or none. It waited for four round trips (BEGIN, two reads, one
pipeline of four writes and the COMMIT); now for three, with no pipeline. A unit that read only sends
neither BEGIN nor COMMIT.

Nothing else changes: the statements run in the same order, in the unit's transaction (or as the one
statement that is its transaction), before anything the unit sends after them (the listener below, on
every statement of the writing engines) and before its commit. A write's failure is raised when its
batch is sent, so a `Write` is declared deferred only where its failure fails the whole unit (a unique
id, a deadlock) and no caller waits for it to catch it. The failure is wrapped as Core wraps a driver's
(`DBAPIError`), so a unit that met a deadlock in its bucket moves is run again as before.

The engine's cursor listeners see every kept write when it is sent, as `driver_sql` calls them, with no
cursor: the writes the unit made, not the statement they were merged into. BEGIN and COMMIT are not
statements to them (Core's transaction events are). All that is sent goes through `_send` (or
`_send_async`), one round trip each (bench/statements.py counts them there). A write of many rows that
goes as a `COPY` is sent at once (a COPY cannot be pipelined), after what was kept. SQLite keeps
nothing: its statements cost no round trip, and `Write` sends them at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncRawCursor, RawCursor
from sqlalchemy import Connection, Engine, event
from sqlalchemy.util import await_

from payoutkit.store.fast import DEFERRED_WRITES, Pending
from payoutkit.store.merged import Statement, merge

# A transaction's BEGIN, kept as its first write until a statement needs it (`_keep_begin`).
_BEGIN: Pending = ("BEGIN", (), False)

# What makes a SELECT more than a read: a row lock, or a function that acts (a sequence, an advisory
# lock, a notification, a setting).
_ACTS = re.compile(
    r"\bFOR\s+(?:UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b"
    r"|\b(?:nextval|setval|pg_advisory\w*|pg_try_advisory\w*|pg_notify|set_config|txid_current\w*"
    r"|pg_current_xact_id\w*)\s*\(",
    re.IGNORECASE,
)
_READS: dict[str, bool] = {}  # per statement's text: `reads_only`
_READS_MAX = 4096  # beyond, a new text is judged without being kept


def reads_only(sql: str) -> bool:
    """Whether `sql` is a plain read: a SELECT that takes no row lock and calls no function that acts."""
    found = _READS.get(sql)
    if found is None:
        found = sql.lstrip()[:6].upper() == "SELECT" and _ACTS.search(sql) is None
        if len(_READS) < _READS_MAX:
            _READS[sql] = found
    return found


def send_deferred(conn: Connection, *, commit: bool = False) -> None:
    """Send what the unit on `conn` has kept (its BEGIN, its writes; nothing kept: nothing).

    `commit`: the unit ends here. If nothing of its transaction was sent and its writes are one
    statement, that statement goes alone, its own transaction; else its COMMIT goes in the pipeline of
    its writes (when it kept none, the driver's commit sends it). The driver's commit that SQLAlchemy
    sends next then finds no transaction open and sends nothing; a COMMIT that fails is raised here, and
    the driver's rollback after it finds nothing to roll back. Without `commit`, a statement that is not a
    plain read follows: the kept BEGIN goes, with the writes."""
    pending: list[Pending] | None = conn.info.pop(DEFERRED_WRITES, None)
    if not pending:
        return
    begin = pending[0] is _BEGIN
    writes = pending[1:] if begin else pending
    if begin and commit and not writes:
        return  # the unit only read: there is no transaction to end
    statements = merge(writes)
    if begin and commit and len(statements) == 1 and not statements[0].many:
        begin = commit = False  # one statement: a transaction of its own
    listeners = conn.engine.dispatch
    _tell(listeners.before_cursor_execute, conn, writes)
    _to_driver(conn, begin, statements, commit)
    _tell(listeners.after_cursor_execute, conn, writes)


def _to_driver(conn: Connection, begin: bool, statements: Sequence[Statement], commit: bool) -> None:
    """Send them; a failure is wrapped as Core wraps a driver's, naming the first statement sent."""
    driver = conn.connection.driver_connection
    try:
        if conn.dialect.is_async:  # a unit on the event loop (store/aio.py)
            await_(_send_async(driver, begin, statements, commit))
        else:
            _send(driver, begin, statements, commit)
    except BaseException as exc:
        first = statements[0] if statements else Statement("COMMIT" if commit else "BEGIN", ())
        conn._handle_dbapi_exception(exc, first.sql, first.params, None, None)


def _tell(listeners: Any, conn: Connection, sent: Sequence[Pending]) -> None:
    """The engine's cursor listeners of one kind, called for each kept write sent (with no cursor)."""
    if listeners:
        for sql, params, many in sent:
            for fn in listeners:
                fn(conn, None, sql, params, None, many)


def _send(driver: Any, begin: bool, statements: Sequence[Statement], commit: bool) -> None:
    """One round trip: BEGIN (`begin`), `statements`, COMMIT (`commit`), in one pipeline when several."""
    if len(statements) + begin + commit == 1:  # one thing: no pipeline
        if statements:
            _execute(driver, statements[0])
        else:
            driver.execute("BEGIN" if begin else "COMMIT")
        return
    with driver.pipeline():
        if begin:
            driver.execute("BEGIN")
        for statement in statements:
            _execute(driver, statement)
        if commit:
            driver.execute("COMMIT")


def _execute(driver: Any, s: Statement) -> None:
    with RawCursor(driver) if s.raw else driver.cursor() as cursor:
        if s.many:
            cursor.executemany(s.sql, s.params)
        else:
            cursor.execute(s.sql, s.params)


async def _send_async(driver: Any, begin: bool, statements: Sequence[Statement], commit: bool) -> None:
    if len(statements) + begin + commit == 1:
        if statements:
            await _execute_async(driver, statements[0])
        else:
            await driver.execute("BEGIN" if begin else "COMMIT")
        return
    async with driver.pipeline():
        if begin:
            await driver.execute("BEGIN")
        for statement in statements:
            await _execute_async(driver, statement)
        if commit:
            await driver.execute("COMMIT")


async def _execute_async(driver: Any, s: Statement) -> None:
    async with AsyncRawCursor(driver) if s.raw else driver.cursor() as cursor:
        if s.many:
            await cursor.executemany(s.sql, s.params)
        else:
            await cursor.execute(s.sql, s.params)


def _keep_begin(conn: Connection) -> None:
    """A transaction begins: its BEGIN is kept, sent with the first statement that needs it (the
    driver autocommits, so it sends none of its own). Not on a connection asked to autocommit (a
    statement that cannot run in a transaction, as VACUUM)."""
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.info[DEFERRED_WRITES] = [_BEGIN]


def _send_first(conn: Connection, _cursor: Any, sql: str, *_rest: Any) -> None:
    pending: list[Pending] | None = conn.info.get(DEFERRED_WRITES)
    if not pending:
        return
    if len(pending) == 1 and pending[0] is _BEGIN and reads_only(sql):
        return  # a plain read needs no transaction yet
    send_deferred(conn)


def _commit(conn: Connection) -> None:
    """A transaction that is not a unit's commits (a unit's kept nothing by now): what it kept goes
    first, and a BEGIN that nothing needed is dropped (the driver's commit then sends nothing)."""
    pending = conn.info.get(DEFERRED_WRITES)
    if pending and len(pending) == 1 and pending[0] is _BEGIN:
        del conn.info[DEFERRED_WRITES]
    elif pending:
        send_deferred(conn)


def _drop(conn: Connection) -> None:
    conn.info.pop(DEFERRED_WRITES, None)


def keep_order(engine: Engine) -> None:
    """On `engine` (PostgreSQL's writing engines, whose driver connections autocommit): a transaction's
    BEGIN is kept as its first write; any statement but a plain read, and any commit of a transaction
    that is not a unit's, first sends what is kept on its connection; a rollback drops it."""
    event.listen(engine, "begin", _keep_begin)
    event.listen(engine, "before_cursor_execute", _send_first)
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _drop)
