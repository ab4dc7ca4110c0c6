"""Bulk loading for the benchmark, set-based: copies of what the services wrote, and `explain`.

`copy_account` copies an account the API made (row, resources, payout run) under new ids; `add_buckets`
gives each copy an empty bucket; `book_pairs` appends balanced pairs of balance transactions (an
account's side, a `sys_world` shard's, as a charge books them); `resync_buckets` sets every bucket
from its transactions (the ledger holds by construction). Rows come from a number series (recursive
CTE on SQLite, generate_series on PostgreSQL); statements are built per dialect at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, String, Table, Text, and_, bindparam, case, cast
from sqlalchemy.sql import column, func, insert, literal, literal_column, null, select, text, true, update
from sqlalchemy.sql.expression import ColumnElement as Expr
from sqlalchemy.sql.expression import Executable, FromClause, Subquery, type_coerce

from payoutkit.ledger.postings import BucketKey
from payoutkit.store.schema import accounts, balance_transactions, balances, payout_runs, resources

DAY = 86_400


@dataclass(frozen=True)
class _Dialect:
    name: str
    series: Callable[[], FromClause]  # column `i`: 0 .. :last
    ident: Callable[[Expr[str], Expr[int], int], Expr[str]]  # prefix + zero-padded number
    json: Callable[[Expr[str]], Expr[object]]  # JSON from text


def _sqlite_series() -> FromClause:
    n = select(literal(0, BigInteger).label("i")).cte("n", recursive=True)
    return n.union_all(select(n.c.i + 1).where(n.c.i < bindparam("last", type_=BigInteger)))


def _pg_series() -> FromClause:
    series = func.generate_series(literal(0, BigInteger), bindparam("last", type_=BigInteger))
    return series.table_valued(column("i", BigInteger), name="n").render_derived()


SQLITE = _Dialect("sqlite", _sqlite_series,
                  lambda prefix, number, width: func.printf(f"%s%0{width}d", prefix, number),
                  lambda expr: type_coerce(expr, JSON))  # fmt: skip
POSTGRESQL = _Dialect("postgresql", _pg_series,
                      lambda prefix, number, width: prefix.concat(func.lpad(cast(number, Text), width, "0")),
                      lambda expr: cast(expr, JSON))  # fmt: skip
_WIDTH = 10  # digits of a copy's number


def _all_but_seq(table: Table) -> list[str]:
    return [c.name for c in table.c][1:]  # every table's first column is `seq`


def _copy_statements(d: _Dialect) -> list[Executable]:
    n = d.series()
    template, prefix = bindparam("template", type_=String), bindparam("prefix", type_=String)
    acct = d.ident(prefix, n.c.i, _WIDTH)
    t = accounts.alias("t")
    doc = d.json(func.replace(cast(t.c.data, Text), t.c.id, acct))
    copies = select(acct, t.c.platform_id, t.c.livemode, t.c.kind, t.c.created, doc).where(t.c.id == template)
    r = resources.alias("r")
    res_id = d.ident(r.c.id, n.c.i, _WIDTH)
    doc = d.json(func.replace(func.replace(cast(r.c.data, Text), template, acct), r.c.id, res_id))
    parent = case((r.c.parent_id == template, acct), else_=r.c.parent_id)
    owned = select(res_id, r.c.object, acct, r.c.livemode, r.c.created, parent, r.c.status, doc,
                   r.c.internal).where(r.c.account_id == template)  # fmt: skip
    p = payout_runs.alias("p")
    at = func.coalesce(bindparam("next_run_at", type_=BigInteger), p.c.next_run_at)
    runs = select(acct, p.c.livemode, at).where(p.c.account_id == template)
    return [
        insert(accounts).from_select(_all_but_seq(accounts), copies.select_from(t.join(n, true()))),
        insert(resources).from_select(_all_but_seq(resources), owned.select_from(r.join(n, true()))),
        insert(payout_runs).from_select(["account_id", "livemode", "next_run_at"],
                                        runs.select_from(p.join(n, true()))),
    ]  # fmt: skip


def _buckets_statement(d: _Dialect) -> Executable:
    n = d.series()
    acct = d.ident(bindparam("prefix", type_=String), n.c.i, _WIDTH)
    key: list[Expr[object]] = [bindparam(k) for k in ("livemode", "currency", "balance_type", "source_type")]
    rows = select(acct, *key, literal(0), literal(0)).select_from(n)
    cols = ["account_id", "livemode", "currency", "balance_type", "source_type", "available", "pending"]
    return insert(balances).from_select(cols, rows)


def _numbered(d: _Dialect) -> Subquery:
    """Row i of 2 * :pairs: pair k = i / 2, its amount and when it was made."""
    n = d.series()
    k = n.c.i // 2
    names = ("least", "spread", "first", "span", "pairs")
    least, spread, first, span, pairs = (bindparam(p, type_=BigInteger) for p in names)
    made = first + k * span // pairs
    amount = (least + (k * 7919) % spread).label("amount")
    return select(n.c.i, k.label("k"), amount, made.label("created")).subquery("c")


def _pairs_statement(d: _Dialect) -> Executable:
    """Even rows are the account's side of a pair, odd rows the world's."""
    c, b = _numbered(d), balances
    mine = c.c.i % 2 == 0
    named, many = bindparam("account", type_=String), bindparam("accounts", type_=BigInteger)
    nth = d.ident(named, c.c.k % case((many == 0, 1), else_=many), _WIDTH)
    own = case((many == 0, named), else_=nth)
    world = d.ident(bindparam("world", type_=String), c.c.k % bindparam("shards", type_=BigInteger), 2)
    days = bindparam("pending_days", type_=BigInteger)
    pending = and_(mine, days > 0)
    amount = case((mine, c.c.amount), else_=-c.c.amount)
    source, kind, category = (bindparam(k, type_=String) for k in ("source", "kind", "category"))
    rows = select(
        d.ident(bindparam("ids", type_=String), c.c.i, 15), b.c.seq, b.c.account_id, b.c.livemode,
        b.c.currency, b.c.balance_type, b.c.source_type, amount, literal(0), amount,
        d.json(literal_column("'[]'", Text)), kind, category, case((pending, "pending"), else_="available"),
        case((pending, (c.c.created // DAY + days) * DAY), else_=c.c.created), c.c.created,
        bindparam("description", type_=Text),
        case((source.is_(None), null()), else_=d.ident(source, c.c.k, 15)),
        case((mine, bindparam("payout", type_=String)), else_=null()),
    )  # fmt: skip
    key = (b.c[k] == bindparam(k) for k in ("livemode", "currency", "balance_type", "source_type"))
    rows = rows.select_from(c.join(b, and_(b.c.account_id == case((mine, own), else_=world), *key)))
    return insert(balance_transactions).from_select(_all_but_seq(balance_transactions), rows.order_by(c.c.i))


_NET = balance_transactions.c.net
_PENDING = balance_transactions.c.status == "pending"
_TOTALS = (
    select(balance_transactions.c.balance_seq,
           func.sum(case((balance_transactions.c.status == "available", _NET), else_=0)).label("a"),
           func.sum(case((_PENDING, _NET), else_=0)).label("p"),
           func.min(case((_PENDING, balance_transactions.c.available_on))).label("due"))
    .group_by(balance_transactions.c.balance_seq)
    .subquery("t")
)  # fmt: skip
_RESYNC = update(balances).values(available=_TOTALS.c.a, pending=_TOTALS.c.p, next_settle_at=_TOTALS.c.due)
_RESYNC = _RESYNC.where(balances.c.seq == _TOTALS.c.balance_seq)
_STATEMENTS: dict[str, dict[str, list[Executable]]] = {
    d.name: {"copy": _copy_statements(d), "buckets": [_buckets_statement(d)], "pairs": [_pairs_statement(d)]}
    for d in (SQLITE, POSTGRESQL)
}


def _run(conn: Connection, name: str, params: dict[str, object]) -> None:
    for stmt in _STATEMENTS[conn.dialect.name][name]:
        conn.execute(stmt, params)


@dataclass(frozen=True)
class Copies:
    template: str  # an account made through the API
    count: int
    prefix: str = "acct_bench"  # copy i is `prefix` + i on 10 digits; its resources' ids: theirs + i
    next_run_at: int | None = None  # the copies' payout run (None: the template's)


def copy_account(conn: Connection, copies: Copies) -> None:
    """`count` copies of an account: its row, its resources (bank accounts…) and its payout run."""
    params = {k: v for k, v in asdict(copies).items() if k != "count"}
    _run(conn, "copy", {**params, "last": copies.count - 1})


def _key(k: BucketKey) -> dict[str, object]:
    types = {"balance_type": k.balance_type.value, "source_type": k.source_type.value}
    return {"livemode": k.livemode, "currency": k.currency, **types}


def add_buckets(conn: Connection, prefix: str, count: int, key: BucketKey) -> None:
    """An empty bucket like `key` for each of the accounts `prefix` + 0 … count - 1."""
    _run(conn, "buckets", {"prefix": prefix, "last": count - 1, **_key(key)})


@dataclass(frozen=True)
class Pairs:
    """`pairs` balanced pairs: pair k books +amount on account k % `accounts` (`account` + k on 10
    digits; or `account` itself when `accounts` is 0) and -amount on `world`_NN, NN = k % `shards`."""

    key: BucketKey  # the buckets' mode, currency and types (its account is not used)
    pairs: int
    account: str
    accounts: int = 0
    least: int = 1000  # pair k moves least + (k * 7919) % spread
    spread: int = 1
    first: int = 0  # pair k was made at first + k * span / pairs
    span: int = 0
    pending_days: int = 0  # > 0: the account's side is pending until that many day boundaries later
    kind: str = "charge"  # type (and `category`: reporting category)
    category: str = "charge"
    ids: str = "txn_bench"  # transaction i's id: ids + i on 15 digits
    source: str | None = None  # pair k's source: source + k on 15 digits
    payout: str | None = None  # the account side's sweep link
    description: str | None = None
    world: str = "sys_world_"  # the shards: world + NN, NN < shards
    shards: int = 16


def book_pairs(conn: Connection, p: Pairs) -> None:
    """Append the pairs (the buckets must exist; call `resync_buckets` afterwards)."""
    params = {k: v for k, v in asdict(p).items() if k != "key"}
    _run(conn, "pairs", {**params, "last": 2 * p.pairs - 1, **_key(p.key)})


def resync_buckets(conn: Connection) -> None:
    conn.execute(_RESYNC)  # every bucket from its transactions: available, pending, earliest due


def _raw(conn: Connection) -> Any:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    return raw


def bulk_mode(conn: Connection) -> None:
    """SQLite, on a fresh connection before its transaction: no syncing, a large page cache."""
    if conn.dialect.name == "sqlite":
        _raw(conn).execute("PRAGMA synchronous=OFF")
        _raw(conn).execute("PRAGMA cache_size=-1048576")


def analyze(conn: Connection) -> None:
    """Fresh planner statistics after a load (`conn` outside a transaction: autocommit)."""
    if conn.dialect.name == "postgresql":
        for table in (accounts, resources, balances, balance_transactions, payout_runs):
            conn.execute(text(f"VACUUM ANALYZE {table.name}"))
    else:
        _raw(conn).execute("ANALYZE")
        _raw(conn).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def bucket_seqs_of(conn: Connection, prefix: str, count: int) -> list[int]:
    """The row ids of the first `count` buckets of the accounts named `prefix`…, in row-id order."""
    found = select(balances.c.seq).where(balances.c.account_id.startswith(prefix)).order_by(balances.c.seq)
    return [int(r[0]) for r in conn.execute(found.limit(count))]


def explain(conn: Connection, stmt: Executable, params: dict[str, object]) -> list[str]:
    """The plan the database picks for `stmt` with `params` (EXPLAIN: nothing is executed)."""
    compiled: Any = stmt.compile(conn)  # type: ignore[attr-defined]
    bound = compiled.construct_params(params)
    args = tuple(bound[k] for k in compiled.positiontup) if compiled.positiontup else bound
    verb = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
    return [str(row[-1]) for row in conn.exec_driver_sql(verb + str(compiled), args)]
