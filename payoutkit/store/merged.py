"""PostgreSQL: a unit's kept writes merged into as few statements as they can be (`merge`).

The writes a unit keeps to its end (store/pipeline.py) are a charge's or a payout's rows: its balance
transactions, its document, its event, its bucket moves. Sent one by one, even in one pipeline, each is
a statement of its own to psycopg (~40-70 µs of the API process's CPU) and to the server. Merged, they
are ONE statement, each of them a data-modifying CTE of it:

    WITH w0 AS (INSERT INTO balance_transactions …), w1 AS (INSERT INTO resources …),
         w2 AS (WITH locked AS (SELECT … FOR UPDATE) UPDATE balances …) SELECT 1

Under PostgreSQL charge load (docs/benchmarks.md, fourteenth session) that took the API process's CPU
per charge from 1.11-1.34 to 0.80-0.98 ms. One statement is atomic by itself: a unit whose only
statement that needs its transaction is that one sends it alone, without BEGIN or COMMIT
(store/pipeline.py).

PostgreSQL runs the CTEs of one statement on one snapshot, none seeing what another wrote, in an order
it does not promise (it ran a destination charge's two events last-first: their row ids, which order
the events list, came out reversed). So two writes go in one statement only if that cannot show: none
of them names a table that one before it in the statement writes. A table is thus written once per
statement: rows inserted in one keep their order (one INSERT's VALUES rows are numbered in order), and
no row is updated twice in one (PostgreSQL would keep only one of the updates). A write that breaks
that begins the next statement. Only writes whose statement a `Write` declared (fast.py `SHAPES`) are
merged; an `executemany` is not.
Row locks: a bucket move of several rows locks them in ascending order itself (`Write(ordered=True)`),
and the INSERTs lock no row another unit waits for, so the order of the CTEs takes no lock out of turn.

The merged statement's parameters are PostgreSQL's own numbered ones (`$1`…), sent on a raw cursor:
psycopg neither parses its text nor caches it by size (it stops caching a statement of more than 50
parameters or 4 kB), and prepares it by its count like any other. A declared write that merges with
none is sent numbered too, for the same reason (a charge's three balance transactions are one INSERT of
three VALUES rows, 57 parameters: store/many_rows.py `insert_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from payoutkit.store.fast import SHAPES, Pending

# A named parameter of psycopg's format, or an escaped percent sign; any other `%` is not merged.
_TOKEN = re.compile(r"%\((\w+)\)s|%%|%")


@dataclass(frozen=True)
class Statement:
    """One statement to send: `raw`, a merged one (`$n` parameters, `params` a list); else a kept write
    as it was kept (`many`: an executemany)."""

    sql: str
    params: Any
    many: bool = False
    raw: bool = False


@dataclass(frozen=True)
class _Template:
    sql: str
    slots: tuple[tuple[int, str], ...]  # the value of each `$n`: (which write, which of its parameters)


# Per sequence of writes' SQL: its merged statement (the writes of a kind of request are always the same).
_TEMPLATES: dict[tuple[str, ...], _Template | None] = {}
_TEMPLATES_MAX = 512  # beyond, a new sequence is merged without being kept


def merge(pending: Sequence[Pending]) -> list[Statement]:
    """`pending` (kept writes, in order) as statements to send in that order, consecutive writes merged
    where they may be (see the module)."""
    out: list[Statement] = []
    run: list[Pending] = []
    written: set[str] = set()  # the tables the writes of `run` write
    for entry in pending:
        sql, params, many = entry
        shape = None if many else SHAPES.get(sql)
        if shape is None:
            _close(run, out)
            run, written = [], set()
            out.append(Statement(sql, params, many))
            continue
        if not shape.tables.isdisjoint(written):  # it names a table written before it: a new statement
            _close(run, out)
            run, written = [], set()
        run.append(entry)
        written.add(shape.target)
    _close(run, out)
    return out


def _close(run: list[Pending], out: list[Statement]) -> None:
    if run:
        template = _template(tuple(sql for sql, _, _ in run))
        if template is None:  # a write's SQL could not be renumbered: each goes as it is
            out.extend(Statement(sql, params, many) for sql, params, many in run)
            return
        values = [run[i][1][name] for i, name in template.slots]
        out.append(Statement(template.sql, values, raw=True))


def _template(sqls: tuple[str, ...]) -> _Template | None:
    found = _TEMPLATES.get(sqls, False)
    if found is not False:
        return found  # type: ignore[return-value]
    slots: dict[tuple[int, str], int] = {}
    numbered = [_numbered(sql, i, slots) for i, sql in enumerate(sqls)]
    made: _Template | None = None
    if None not in numbered:
        texts = [t for t in numbered if t is not None]
        if len(texts) == 1:  # one write alone is sent as it is, numbered
            made = _Template(texts[0], tuple(slots))
        else:
            ctes = ", ".join(f"w{i} AS ({t})" for i, t in enumerate(texts))
            made = _Template(f"WITH {ctes} SELECT 1", tuple(slots))
    if len(_TEMPLATES) < _TEMPLATES_MAX:
        _TEMPLATES[sqls] = made
    return made


def _numbered(sql: str, which: int, slots: dict[tuple[int, str], int]) -> str | None:
    """`sql` with its named parameters as `$n`, numbered on from `slots` (the same name of the same write,
    the same number); None if it holds a `%` that is neither."""
    out: list[str] = []
    last = 0
    for m in _TOKEN.finditer(sql):
        out.append(sql[last : m.start()])
        last = m.end()
        text = m.group(0)
        if text == "%%":
            out.append("%")
        elif text == "%":
            return None
        else:
            key = (which, m.group(1))
            n = slots.get(key)
            if n is None:
                n = slots[key] = len(slots) + 1
            out.append(f"${n}")
    out.append(sql[last:])
    return "".join(out)
