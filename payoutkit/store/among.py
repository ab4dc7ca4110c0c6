"""`among(column, "name")`: the column is one of a list given as the parameter `name`.

On SQLite it is `column IN (…)` with an expanding parameter, as `column.in_(bindparam(name,
expanding=True))` writes it. On PostgreSQL it is `column = ANY(:name)`, the list sent as one array
(typed as the column's): the statement's text is then the same for every length of the list. With
`IN (…)`, SQLAlchemy renders one more placeholder per item on every execution, and psycopg parses each
new text again without its cache and never prepares it. In a PostgreSQL automatic payout run those
renderings and parses were ~13% of the worker's samples (a unit of 200 accounts reads its accounts,
buckets, destinations and reserves by such lists).

Pass the list as a list (or any iterable the array type takes); an empty list matches no row on both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class Among(ColumnElement[bool]):
    """`column` among the values of the list parameter `name` (see the module's docstring)."""

    __visit_name__ = "payoutkit_among"
    inherit_cache = True  # its state is `_traverse_internals`: part of every statement's cache key
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]
    _is_implicitly_boolean = True  # a condition as it is (SQLite would write `… = 1` after a Boolean)
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


def among(column: ColumnElement[Any], name: str) -> Among:
    return Among(column, name)


@compiles(Among)
def _in(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw)


@compiles(Among, "postgresql")
def _any(element: Among, compiler: SQLCompiler, **kw: Any) -> str:
    column = element.column
    return compiler.process(column == any_(bindparam(element.name, type_=ARRAY(column.type))), **kw)
