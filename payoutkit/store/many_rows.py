"""The statements a `Write` (fast.py) sends for several rows at once on PostgreSQL: an UPDATE over arrays
(`over_arrays`), an INSERT over arrays (`insert_over_arrays`), an INSERT of VALUES rows (`insert_rows`).
They are built once per write (and per set of columns, or number of rows) and compiled by fast.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Update, bindparam, column, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.sqltypes import NullType


def over_arrays(stmt: Update, by: Mapping[str, ColumnElement[Any]], *, ordered: bool = False) -> Update:
    """`stmt` for many rows at once: each of its named parameters (`bindparam("x")`, typed) becomes the
    column `v.x` of `unnest(:x, …) AS v(x, …)`, the parameter `x` an array of the rows' values (typed as
    the parameter's array, so its bind processors apply to each item); each column of `by` is compared
    with `= ANY(:x)` of its parameter as well. `ordered` (one column in `by`): the rows are first locked
    in ascending order of it, by `SELECT … ORDER BY … FOR UPDATE` in a CTE the UPDATE joins (PostgreSQL
    locks such rows in the order of the sort, and the UPDATE reaches a row only through that CTE's row)."""
    types: dict[str, Any] = {}
    for el in visitors.iterate(stmt):
        if isinstance(el, BindParameter) and not el.unique:  # a named parameter, not a literal's
            if isinstance(el.type, NullType):
                raise ValueError(f"parameter {el.key!r} needs a type to be sent as an array")
            types.setdefault(el.key, el.type)
    names = sorted(types)
    arrays = [bindparam(n, type_=ARRAY(types[n], dimensions=1)) for n in names]
    rows = func.unnest(*arrays).table_valued(*(column(n, types[n]) for n in names)).render_derived(name="v")

    def to_column(element: Any, **_kw: Any) -> Any:
        return rows.c[element.key] if isinstance(element, BindParameter) and element.key in types else None

    over = cast(Update, visitors.replacement_traverse(stmt, {}, to_column))
    missing = set(by) - set(types)
    if missing:
        raise ValueError(f"`by` names parameters the statement does not have: {sorted(missing)}")
    over = over.where(*(col == func.any(arrays[names.index(key)]) for key, col in by.items()))
    if not ordered:
        return over
    [(key, col)] = by.items()
    locked = (
        select(col.label("locked_key"))
        .where(col == func.any(arrays[names.index(key)]))
        .order_by(col)
        .with_for_update()
        .cte("locked")
    )
    return over.where(col == locked.c.locked_key).add_cte(locked)


def insert_over_arrays(stmt: Insert, keys: tuple[str, ...]) -> Insert:
    """`stmt` inserting any number of rows of the columns `keys` in one statement, in their order: the
    parameter `k` an array of the rows' values of column `k` (typed as the column's array, so its bind
    processors apply to each item), `INSERT … SELECT … FROM unnest(…) WITH ORDINALITY ORDER BY` it."""
    columns = stmt.table.c
    arrays = [bindparam(k, type_=ARRAY(columns[k].type, dimensions=1)) for k in keys]
    rows = (
        func.unnest(*arrays)
        .table_valued(*(column(k, columns[k].type) for k in keys), with_ordinality="ordinality")
        .render_derived(name="v")
    )
    in_order = select(*(rows.c[k] for k in keys)).order_by(rows.c.ordinality)
    return insert(stmt.table).from_select(list(keys), in_order)


def insert_rows(stmt: Insert, keys: tuple[str, ...], n: int) -> Insert:
    """`stmt` inserting `n` rows of the columns `keys` as `VALUES` rows, in their order: the parameter of
    row i's column k is `k__i`. For a kept write, which is sent with PostgreSQL's numbered parameters
    (store/merged.py): its size does not matter to psycopg then, and scalars cost psycopg's C dumper far
    less than arrays cost its Python one."""
    columns = stmt.table.c
    rows = [{k: bindparam(f"{k}__{i}", type_=columns[k].type) for k in keys} for i in range(n)]
    return insert(stmt.table).values(rows)
