"""`Query`: a hot read statement, built once and compiled once per dialect, run on the driver's cursor.

SQLAlchemy Core spends far more per execution than the database does on a primary-key read (measured
on this machine: about 150 µs for `conn.execute(select)` against 10 µs on the sqlite3 cursor; a
`GET /v1/balance` ran three such reads). A `Query` keeps SQLAlchemy for what it is good at — building
the statement and compiling it for the dialect, with its bind and result type processing — and does the
per-call part itself, on the unit's own connection and so in its transaction:

- parameters are converted by the compiled statement's own bind processors, rows by the selected
  columns' own result processors (the engine's JSON deserializer, SQLite's integers to booleans);
- the engine's `before_cursor_execute` / `after_cursor_execute` listeners are called as Core calls
  them, so whatever counts statements (bench/statements.py, tests) still sees every one;
- an error is handled by Core's own handler (`Connection._handle_dbapi_exception`): wrapped as a
  `DBAPIError` (so the retry of a PostgreSQL unit on a deadlock or serialization failure, store/db.py,
  still applies), and the connection invalidated if the database went away.

Only for plain SELECTs (or a UNION of them) whose parameters are all named bind parameters (no expanding IN).
"""

from __future__ import annotations

import operator
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Connection,
    Insert,
    Select,
    Table,
    Update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import util as sql_util
from sqlalchemy.util import await_

from payoutkit.store import many_rows

# Connection.info key (PostgreSQL): the writes declared `deferred` that the unit has run but not sent yet,
# each (sql, parameters, many); store/pipeline.py sends them.
DEFERRED_WRITES = "payoutkit_deferred_writes"
Pending = tuple[str, Any, bool]


@dataclass(frozen=True)
class Shape:
    """What a deferred write's statement does, for merging it with the unit's other kept writes into one
    statement (store/merged.py): the table it writes, and every table it names (its target among them)."""

    target: str
    tables: frozenset[str]


# The statement of every deferred write (its SQL, as sent) that store/merged.py may merge, and what it does.
SHAPES: dict[str, Shape] = {}


def _shape_of(stmt: Insert | Update) -> Shape:
    named = frozenset(t.name for t in sql_util.find_tables(stmt, include_crud=True) if isinstance(t, Table))
    target = cast(Table, stmt.table).name
    return Shape(target, named | {target})


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order for a positional paramstyle, else None
    defaults: dict[str, Any]  # values of the statement's own literals (`id = 1`)
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    any_result: bool
    # The columns that have a result processor, by position: only their values are converted.
    processed: tuple[tuple[int, Callable[[Any], Any]], ...]
    # The parameters in `positional` order, as a tuple, from a mapping holding them.
    ordered: Callable[[Mapping[str, Any]], tuple[Any, ...]]


def _compile(
    stmt: Select[Any] | CompoundSelect[Any] | Insert | Update,
    dialect: Dialect,
    keys: Sequence[str] | None = None,
) -> _Compiled:
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a Query takes no expanding or literal-execute parameters")
    defaults = {k: v for k, v in compiled.construct_params(_check=False).items() if v is not None}
    binds = tuple(
        (name, cast(Callable[[Any], Any], fn)) for name, fn in compiled._bind_processors.items() if fn
    )
    columns = stmt.selected_columns if isinstance(stmt, Select | CompoundSelect) else ()
    results = tuple(col.type._cached_result_processor(dialect, None) for col in columns)
    positional = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    if compiled.positional and positional is None:
        positional = ()
    return _Compiled(
        compiled.string,
        positional,
        defaults,
        binds,
        results,
        any(results),
        tuple((i, p) for i, p in enumerate(results) if p is not None),
        _ordered(positional or ()),
    )


def _ordered(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(names) > 1:
        return cast(Callable[[Mapping[str, Any]], tuple[Any, ...]], operator.itemgetter(*names))
    if names:
        [name] = names
        return lambda values: (values[name],)
    return lambda values: ()


def _bound(c: _Compiled, params: Mapping[str, Any] | None) -> Sequence[Any] | Mapping[str, Any]:
    if c.defaults or c.binds or not params:
        values = {**c.defaults, **params} if params else dict(c.defaults)
        for name, process in c.binds:
            values[name] = process(values[name])
    else:  # nothing to add or convert: the caller's own mapping, read only
        values = params  # type: ignore[assignment]
    return values if c.positional is None else c.ordered(values)


def driver_sql(
    conn: Connection, sql: str, params: Any = (), *, fetch: bool = False, many: bool = False
) -> list[Any]:
    """Run `sql` on the driver's cursor of `conn` (as `conn.exec_driver_sql` does, without its
    per-call machinery): the engine's cursor listeners are called, a driver error is wrapped.
    `many`: `params` is a list of parameter sets, run as one `executemany`."""
    # The engine's listeners (Core joins them to each connection's; we never listen on one connection):
    # asking the engine's own collection is a third of the cost, on every statement.
    listeners = conn.engine.dispatch
    # A synchronous driver's own connection (what `driver_connection` gives, through one more call).
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if listeners.before_cursor_execute:
            for fn in listeners.before_cursor_execute:
                fn(conn, cursor, sql, params, None, many)
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            fetched: list[Any] = cursor.fetchall() if fetch else []  # type: ignore[assignment]
        except BaseException as exc:
            # Core's own handling: wrapped as DBAPIError, the connection invalidated on a disconnect.
            conn._handle_dbapi_exception(exc, sql, params, cursor, None)
        if listeners.after_cursor_execute:
            for fn in listeners.after_cursor_execute:
                fn(conn, cursor, sql, params, None, many)
    finally:
        cursor.close()
    return fetched


class Query:
    """A SELECT run on the driver's cursor (see the module's docstring): `rows(conn, params)`."""

    def __init__(self, stmt: Select[Any] | CompoundSelect[Any]) -> None:
        self.stmt = stmt
        # Per engine's dialect, for as long as it lives (tests make many engines).
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()
        self._last: tuple[weakref.ref[Dialect], _Compiled] | None = None

    def _compiled(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0]() is dialect:  # the usual case: one database per process
            return last[1]
        found = self._by_dialect.get(dialect)
        if found is None:
            found = self._by_dialect[dialect] = _compile(self.stmt, dialect)
        self._last = (weakref.ref(dialect), found)
        return found

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        c = self._compiled(conn.dialect)
        bound = _bound(c, params)
        if not conn.in_transaction():
            conn.begin()  # as Core's autobegin would
        fetched = driver_sql(conn, c.sql, bound, fetch=True)
        if not c.any_result:
            return [tuple(r) for r in fetched]
        processed = c.processed
        if len(processed) == 1 and len(c.results) == 1:  # one column, converted (a document)
            [(_, process)] = processed
            return [(process(r[0]),) for r in fetched]
        out: list[tuple[Any, ...]] = []
        for r in fetched:
            values = list(r)
            for i, process in processed:
                if values[i] is not None:  # a NULL is None to every processor
                    values[i] = process(values[i])
            out.append(tuple(values))
        return out


# On PostgreSQL an INSERT of a few rows is one statement: psycopg's `executemany` runs a pipeline, which
# for a few rows costs about three times the client CPU of one statement and three times its wall time
# (3 rows, psycopg 3.3 on this machine: 133 µs CPU / 305 µs wall against 42 / 101 µs). The statement
# inserts from arrays, one per column (`INSERT … SELECT … FROM unnest(…) WITH ORDINALITY`): its text and
# its parameters are the same for any number of rows. With a VALUES row each, a charge's three balance
# transactions took 57 parameters, and psycopg converts again, at every execution, a statement of more
# than 50 (`_queries.MAX_CACHED_STATEMENT_PARAMS`): ~15% of the API process's samples under PostgreSQL
# charge load. A kept (deferred) write of a few rows is instead one statement of VALUES rows, whose
# parameters are numbered when it is sent (store/merged.py), so psycopg neither parses nor caches its text
# and dumps scalars, in C. From `COPY_MIN` rows an INSERT is a `COPY … FROM STDIN` of them instead
# (psycopg writes the rows in one stream of text: 400 rows of 9 columns cost ~1 ms of client CPU against
# ~8 ms as an `executemany`, ~17 ms as VALUES rows). Each inserts the rows in the order given.
COPY_MIN = 5
FEW_ROWS_MAX = COPY_MIN - 1
# An UPDATE of several rows is an `executemany`, its rows locked in the order given. One declared with
# `by` (the parameters that name one row each, and the column each is compared with) is instead, on
# PostgreSQL from `SET_MIN` rows whose `by` values differ, one `UPDATE … FROM unnest(arrays)`: psycopg's
# pipeline costs ~20 µs of client CPU per row and the server runs a statement per row (an automatic
# payout run of 200 accounts sent three such batches of ~200 rows each). Each `by` column is also
# compared with `= ANY(its array)`, so the plan finds the rows by their index: joined to the arrays
# alone, the planner scanned and hashed a whole table of 20,000 rows for 200 of them. The statement
# locks its rows in whatever order its plan visits them, so a caller uses `by` only for rows its unit
# has locked already, or that no other unit locks.
SET_MIN = 5


class Write:
    """An INSERT or UPDATE run on the driver's cursor: `run(conn, rows)`, one parameter set per row
    (several: one `executemany`, as Core does, or on PostgreSQL a few rows of an INSERT as one
    statement over arrays, `FEW_ROWS_MAX`, many a `COPY`; an UPDATE declared with `by`, one statement over
    arrays, `SET_MIN`). An INSERT takes the columns the rows name (all rows the same ones); the tables'
    defaults are the server's, none is computed in Python.

    `deferred`: on PostgreSQL, sent with the unit's next statement or at its end, in one round trip with
    the other deferred writes before it, merged with them into one statement where it can be
    (store/pipeline.py, store/merged.py); only for a write whose failure fails its whole unit.

    `ordered` (with one column in `by`): on PostgreSQL, from two distinct rows, one statement over arrays
    that first locks the rows in ascending order of that column (`FOR UPDATE` in a CTE of its own), so it
    takes the locks it does not hold yet in the order every unit takes them, whatever its plan; a
    deferred write of several rows is then one statement, which store/merged.py can merge."""

    def __init__(
        self,
        stmt: Insert | Update,
        *,
        by: Mapping[str, ColumnElement[Any]] | None = None,
        deferred: bool = False,
        ordered: bool = False,
    ) -> None:
        if by and not isinstance(stmt, Update):
            raise ValueError("`by` names the rows of an UPDATE")
        if ordered and len(by or {}) != 1:
            raise ValueError("`ordered` locks the rows by the one column of `by`")
        self.stmt = stmt
        self.deferred = deferred
        self.ordered = ordered
        self.by = dict(by or {})
        self._by_keys = tuple(self.by)
        if by:
            assert isinstance(stmt, Update)
            many_rows.over_arrays(stmt, self.by, ordered=ordered)  # refuses now what it could not send
        self._sets: weakref.WeakKeyDictionary[Dialect, _Compiled] = weakref.WeakKeyDictionary()
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Compiled]] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[weakref.ref[Dialect], dict[tuple[str, ...], _Compiled]] | None = None
        self._copies: weakref.WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Copy]] = (
            weakref.WeakKeyDictionary()
        )

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        keys = tuple(rows[0])
        if any(tuple(r) != keys for r in rows[1:]):
            raise ValueError("every row of one write names the same columns")
        dialect = conn.dialect
        last = self._last
        if last is not None and last[0]() is dialect:  # the usual case: one database per process
            per_keys = last[1]
        else:
            found = self._by_dialect.get(dialect)
            per_keys = found if found is not None else self._by_dialect.setdefault(dialect, {})
            self._last = (weakref.ref(dialect), per_keys)
        n = len(rows)
        if n > 1 and dialect.name == "postgresql" and self._one_statement(conn, keys, rows, per_keys):
            return
        c = per_keys.get(keys)
        if c is None:
            _no_python_defaults(self.stmt, keys)
            column_keys = list(keys) if isinstance(self.stmt, Insert) else None
            c = per_keys[keys] = self._compiled(self.stmt, dialect, column_keys)
        if n == 1:
            self._send(conn, c.sql, _bound(c, rows[0]))
        else:
            self._send(conn, c.sql, [_bound(c, r) for r in rows], many=True)

    def _compiled(
        self, stmt: Insert | Update, dialect: Dialect, keys: Sequence[str] | None = None
    ) -> _Compiled:
        """`stmt` compiled; a deferred write's statement is declared to store/merged.py (`SHAPES`)."""
        c = _compile(stmt, dialect, keys)
        if self.deferred:
            SHAPES[c.sql] = _shape_of(stmt)
        return c

    def _send(self, conn: Connection, sql: str, params: Any, *, many: bool = False) -> None:
        if not conn.in_transaction():
            conn.begin()  # as Core's autobegin would
        if self.deferred and conn.dialect.name == "postgresql":
            pending: list[Pending] | None = conn.info.get(DEFERRED_WRITES)
            kept = (sql, params if many or not isinstance(params, dict) else dict(params), many)
            if pending is None:
                conn.info[DEFERRED_WRITES] = [kept]
            else:
                pending.append(kept)
            return
        driver_sql(conn, sql, params, many=many)

    def _one_statement(
        self,
        conn: Connection,
        keys: tuple[str, ...],
        rows: Sequence[Mapping[str, Any]],
        per_keys: dict[tuple[str, ...], _Compiled],
    ) -> bool:
        """PostgreSQL, several rows: write them in one statement if this write can (a COPY, an INSERT
        over arrays, an UPDATE over arrays); whether it did."""
        n = len(rows)
        stmt = self.stmt
        if isinstance(stmt, Insert) and n >= COPY_MIN:
            _copy(conn, self._copy_of(conn.dialect, keys), rows)
            return True
        if isinstance(stmt, Insert) and self.deferred:  # a few rows, kept: one statement of VALUES rows
            rows_key = (*keys, f"{n} rows")  # no column is named so (a space)
            c = per_keys.get(rows_key)
            if c is None:
                _no_python_defaults(stmt, keys)
                c = per_keys[rows_key] = self._compiled(many_rows.insert_rows(stmt, keys, n), conn.dialect)
            self._send(conn, c.sql, _bound(c, {f"{k}__{i}": r[k] for i, r in enumerate(rows) for k in keys}))
            return True
        if isinstance(stmt, Insert):  # a few rows: one statement over arrays, the same for any number
            arrays_key = (*keys, "over arrays")
            c = per_keys.get(arrays_key)
            if c is None:
                _no_python_defaults(stmt, keys)
                over = many_rows.insert_over_arrays(stmt, keys)
                c = per_keys[arrays_key] = self._compiled(over, conn.dialect)
            self._send(conn, c.sql, _bound(c, {k: [r[k] for r in rows] for k in keys}))
            return True
        if self.by and (n >= SET_MIN or self.ordered) and self._distinct(rows):
            self._run_set(conn, keys, rows)
            return True
        return False

    def over_arrays(self) -> Update:
        """The statement this write sends on PostgreSQL for `SET_MIN` or more distinct rows (`by`), each
        parameter an array of the rows' values (to explain its plan)."""
        if not self.by:
            raise ValueError("a write without `by` sends no statement over arrays")
        assert isinstance(self.stmt, Update)
        return many_rows.over_arrays(self.stmt, self.by, ordered=self.ordered)

    def _distinct(self, rows: Sequence[Mapping[str, Any]]) -> bool:
        """Whether each row names a different row of the table (else one statement would apply only one
        of a row's updates)."""
        if len(self._by_keys) == 1:
            [key] = self._by_keys
            return len({r[key] for r in rows}) == len(rows)
        return len({tuple(r[k] for k in self._by_keys) for r in rows}) == len(rows)

    def _run_set(self, conn: Connection, keys: tuple[str, ...], rows: Sequence[Mapping[str, Any]]) -> None:
        c = self._sets.get(conn.dialect)
        if c is None:
            stmt = self.stmt
            assert isinstance(stmt, Update)
            _no_python_defaults(stmt, keys)
            over = many_rows.over_arrays(stmt, self.by, ordered=self.ordered)
            c = self._sets[conn.dialect] = self._compiled(over, conn.dialect)
        self._send(conn, c.sql, _bound(c, {k: [r[k] for r in rows] for k in keys}))

    def _copy_of(self, dialect: Dialect, keys: tuple[str, ...]) -> _Copy:
        per_keys = self._copies.get(dialect)
        if per_keys is None:
            per_keys = self._copies[dialect] = {}
        found = per_keys.get(keys)
        if found is None:
            stmt = self.stmt
            assert isinstance(stmt, Insert)
            if stmt._returning or stmt._post_values_clause is not None or stmt.select is not None:
                raise ValueError("a Write copies only a plain INSERT of the rows' values")
            _no_python_defaults(stmt, keys)
            single = _compile(stmt, dialect, list(keys))
            processors = dict(single.binds)
            quote = dialect.identifier_preparer
            columns = ", ".join(quote.quote(stmt.table.c[k].name) for k in keys)
            found = per_keys[keys] = _Copy(
                f"COPY {quote.format_table(stmt.table)} ({columns}) FROM STDIN",
                keys,
                tuple(processors.get(k) for k in keys),
            )
        return found


@dataclass(frozen=True)
class _Copy:
    sql: str
    keys: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]  # each column's bind processor (None: as it is)


def _copy(conn: Connection, c: _Copy, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL: `rows` written by `COPY … FROM STDIN`, each value converted by its column's bind
    processor; the engine's cursor listeners are called (as for one `executemany`) and a driver error
    is wrapped, as `driver_sql` does."""
    if not conn.in_transaction():
        conn.begin()
    listeners = conn.engine.dispatch
    keyed = tuple(zip(c.keys, c.binds, strict=True))
    values = [[row[k] if p is None else p(row[k]) for k, p in keyed] for row in rows]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if listeners.before_cursor_execute:
            for fn in listeners.before_cursor_execute:
                fn(conn, cursor, c.sql, values, None, True)
        try:
            if conn.dialect.is_async:  # a unit on the event loop (store/aio.py): psycopg's async COPY
                await_(_copy_async(conn.connection.driver_connection, c.sql, values))
            else:
                with cursor.copy(c.sql) as copy:
                    for row in values:
                        copy.write_row(row)
        except BaseException as exc:
            conn._handle_dbapi_exception(exc, c.sql, values, cursor, None)
        if listeners.after_cursor_execute:
            for fn in listeners.after_cursor_execute:
                fn(conn, cursor, c.sql, values, None, True)
    finally:
        cursor.close()


def _no_python_defaults(stmt: Insert | Update, keys: tuple[str, ...]) -> None:
    """Refuse a table whose columns Core would fill in Python (`default=`, `onupdate=`): a `Write`
    sends only what the rows name."""
    table = stmt.table
    for col in getattr(table, "columns", ()):
        computed = col.default if isinstance(stmt, Insert) else col.onupdate
        if computed is not None and col.key not in keys:
            raise ValueError(f"{table}.{col.key} has a Python-side default: write it with Core")


async def _copy_async(driver: Any, sql: str, values: list[list[Any]]) -> None:
    """`COPY … FROM STDIN` on psycopg's async connection (in the unit's transaction: the connection is
    the unit's own), awaited from the unit's greenlet by `_copy`."""
    async with driver.cursor() as cursor, cursor.copy(sql) as copy:
        for row in values:
            await copy.write_row(row)
