"""The ledger's invariants, checked over the whole database: `check_ledger(conn) -> [violations]`.

Tests call it after every operation (an empty list is a healthy ledger); an operator can run it on a
live store. Every check is one set-based statement (GROUP BY and joins, no Python loop over rows), so
its cost is a few scans however big the ledger grows. What is checked, per (mode, currency):

(a) conservation: the sum of `available + pending` over all buckets, the system accounts'
    (`sys_world`, `sys_processor`) included, is zero;
(b) each bucket equals its history: `available` is the sum of `net` of its transactions whose status
    is `available`, and `pending` that of its `pending` ones;
(c) each transaction is well formed: `net = amount - fee` and `fee` is the sum of its `fee_details`
    amounts, each in the transaction's currency;
(d) each transaction sits in its bucket: the bucket `balance_seq` points at exists and has the
    transaction's (account, mode, currency, balance type, source type);
(e) reserves follow negative balances: for every connected account the platform is liable for
    (`controller.losses.payments = application`), the `connect_reserves` amount (0 when no row) equals
    `max(0, -A)`, where A is the sum of `available` of the account's `payments` buckets over all source
    types in that currency. This is what `Movement.sync_reserves` writes at the end of every unit of
    work that moves money; settlement outside a unit of work must keep it too. Rows are never
    negative, and an account the platform is not liable for has none (or only zero ones);
(f) the platform's `connect_reserved` buckets (`available + pending`, summed over source types) hold
    exactly the sum of the `connect_reserves` rows of its accounts, per mode and currency;
(g) no charge returns more to the outside than it took: per charge, across every account it reached,
    what its refunds and disputes credited to `sys_world` is at most what the charge debited from it.
    A connected account's payment (`py_`) of a destination charge counts with that charge; a payment
    that came by a plain transfer took nothing from outside, so nothing may go out for it.
(h) each bucket's `next_settle_at` is at most the `available_on` of every pending transaction of the
    bucket (and set when one is pending): settlement and the reads of pending funds look for them from
    there on only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from payoutkit.store.schema import accounts, balances, connect_reserves, object_is, resources
from payoutkit.store.schema import balance_transactions as txns

__all__ = ["check_ledger"]

_PAYMENTS = "payments"
_CONNECT_RESERVED = "connect_reserved"
_WORLD = "sys_world"  # ledger.postings.WORLD; its buckets are sharded as sys_world_00 …


_TOTAL = func.sum(balances.c.available + balances.c.pending)
_CONSERVATION = (
    select(balances.c.livemode, balances.c.currency, _TOTAL.label("total"))
    .group_by(balances.c.livemode, balances.c.currency)
    .having(_TOTAL != 0)
    .order_by(balances.c.livemode, balances.c.currency)
)


def _conservation(conn: Connection) -> list[str]:
    rows = conn.execute(_CONSERVATION).all()
    return [
        f"conservation: buckets of livemode={bool(r.livemode)} {r.currency} sum to {r.total}, not 0"
        for r in rows
    ]


_BY_BUCKET = (
    select(
        txns.c.balance_seq,
        func.sum(case((txns.c.status == "available", txns.c.net), else_=0)).label("available"),
        func.sum(case((txns.c.status == "pending", txns.c.net), else_=0)).label("pending"),
    )
    .group_by(txns.c.balance_seq)
    .subquery()
)
_HISTORY_AVAILABLE = func.coalesce(_BY_BUCKET.c.available, 0)
_HISTORY_PENDING = func.coalesce(_BY_BUCKET.c.pending, 0)
_BUCKET_MISMATCHES = (
    select(
        balances.c.account_id,
        balances.c.livemode,
        balances.c.currency,
        balances.c.balance_type,
        balances.c.source_type,
        balances.c.available,
        balances.c.pending,
        _HISTORY_AVAILABLE.label("h_available"),
        _HISTORY_PENDING.label("h_pending"),
    )
    .select_from(balances.outerjoin(_BY_BUCKET, _BY_BUCKET.c.balance_seq == balances.c.seq))
    .where(or_(balances.c.available != _HISTORY_AVAILABLE, balances.c.pending != _HISTORY_PENDING))
    .order_by(balances.c.seq)
)


def _buckets_match_history(conn: Connection) -> list[str]:
    rows = conn.execute(_BUCKET_MISMATCHES).all()
    return [
        f"bucket ({r.account_id}, livemode={bool(r.livemode)}, {r.currency}, {r.balance_type}, "
        f"{r.source_type}) holds available={r.available} pending={r.pending} but its transactions "
        f"sum to available={r.h_available} pending={r.h_pending}"
        for r in rows
    ]


# Per transaction: the sum of its fee_details amounts, and how many are in another currency. The JSON
# functions differ by dialect; the statements are constants (no values are interpolated).
_WELL_FORMED = {
    "postgresql": """
        SELECT id, amount, fee, net, fee_sum, foreign_details FROM (
          SELECT t.seq, t.id, t.amount, t.fee, t.net,
            (SELECT COALESCE(SUM((d->>'amount')::bigint), 0) FROM json_array_elements(t.fee_details) AS d)
              AS fee_sum,
            (SELECT COUNT(*) FROM json_array_elements(t.fee_details) AS d WHERE d->>'currency' <> t.currency)
              AS foreign_details
          FROM balance_transactions AS t
        ) AS checked
        WHERE net <> amount - fee OR fee <> fee_sum OR foreign_details <> 0
        ORDER BY seq
    """,
    "sqlite": """
        SELECT id, amount, fee, net, fee_sum, foreign_details FROM (
          SELECT t.seq, t.id, t.amount, t.fee, t.net,
            (SELECT COALESCE(SUM(json_extract(d.value, '$.amount')), 0) FROM json_each(t.fee_details) AS d)
              AS fee_sum,
            (SELECT COUNT(*) FROM json_each(t.fee_details) AS d
              WHERE json_extract(d.value, '$.currency') <> t.currency) AS foreign_details
          FROM balance_transactions AS t
        ) AS checked
        WHERE net <> amount - fee OR fee <> fee_sum OR foreign_details <> 0
        ORDER BY seq
    """,
}


def _transactions_well_formed(conn: Connection) -> list[str]:
    rows = conn.execute(text(_WELL_FORMED[conn.dialect.name])).all()
    out = []
    for r in rows:
        if r.net != r.amount - r.fee:
            out.append(f"transaction {r.id}: net {r.net} != amount {r.amount} - fee {r.fee}")
        if r.fee != r.fee_sum:
            out.append(f"transaction {r.id}: fee {r.fee} != sum of fee_details {r.fee_sum}")
        if r.foreign_details:
            out.append(f"transaction {r.id}: {r.foreign_details} fee_details in another currency")
    return out


_B = balances
_MISPLACED = or_(
    _B.c.seq.is_(None),
    _B.c.account_id != txns.c.account_id,
    _B.c.livemode != txns.c.livemode,
    _B.c.currency != txns.c.currency,
    _B.c.balance_type != txns.c.balance_type,
    _B.c.source_type != txns.c.source_type,
)
_MISPLACED_TXNS = (
    select(
        txns.c.id,
        txns.c.account_id,
        txns.c.livemode,
        txns.c.currency,
        txns.c.balance_type,
        txns.c.source_type,
        _B.c.seq.label("bucket"),
        _B.c.account_id.label("b_account_id"),
        _B.c.livemode.label("b_livemode"),
        _B.c.currency.label("b_currency"),
        _B.c.balance_type.label("b_balance_type"),
        _B.c.source_type.label("b_source_type"),
    )
    .select_from(txns.outerjoin(_B, _B.c.seq == txns.c.balance_seq))
    .where(_MISPLACED)
    .order_by(txns.c.seq)
)


def _transactions_in_their_bucket(conn: Connection) -> list[str]:
    rows = conn.execute(_MISPLACED_TXNS).all()
    out = []
    for r in rows:
        own = (r.account_id, bool(r.livemode), r.currency, r.balance_type, r.source_type)
        if r.bucket is None:
            out.append(f"transaction {r.id} {own} points at no bucket")
        else:
            theirs = (r.b_account_id, bool(r.b_livemode), r.b_currency, r.b_balance_type, r.b_source_type)
            out.append(f"transaction {r.id} {own} is booked in bucket {theirs}")
    return out


def _without_nul(document: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """`document` with its NUL escapes removed, on PostgreSQL: it cannot read any path of a JSON
    document that holds a NUL escape, so one such document (the API refuses NUL, but a database
    written by an older version may hold one) would fail the whole check. Escaped backslashes are set
    aside first (as U+0001, which JSON text never holds raw), so a backslash then "u0000" stays."""
    if dialect != "postgresql":  # SQLite reads such documents
        return document
    text_form = cast(document, Text)
    set_aside = func.replace(text_form, "\\\\", "\x01")
    removed = func.replace(set_aside, "\\u0000", "")
    return cast(func.replace(removed, "\x01", "\\\\"), JSON)


def _is_liable(dialect: str) -> ColumnElement[bool]:
    losses = _without_nul(accounts.c.data, dialect)[("controller", "losses", "payments")].as_string()
    return and_(accounts.c.kind == "connected", losses == "application")


@cache
def _reserve_checks(dialect: str) -> tuple[Select[Any], Select[Any]]:
    """The statements of check (e) for a dialect: reserves that do not follow their account's available
    payments (or are held by another platform), and reserves of accounts nobody is liable for."""
    r = connect_reserves
    liable = select(accounts.c.id, accounts.c.platform_id).where(_is_liable(dialect)).subquery()
    available = (
        select(
            balances.c.account_id,
            balances.c.livemode,
            balances.c.currency,
            func.sum(balances.c.available).label("available"),
        )
        .where(balances.c.balance_type == _PAYMENTS)
        .group_by(balances.c.account_id, balances.c.livemode, balances.c.currency)
        .subquery()
    )
    # Every (account, mode, currency) that has a payments bucket or a reserve row, the liable ones only.
    keys = union_all(
        select(available.c.account_id, available.c.livemode, available.c.currency),
        select(r.c.account_id, r.c.livemode, r.c.currency),
    ).subquery()
    distinct = select(keys.c.account_id, keys.c.livemode, keys.c.currency).distinct().subquery()
    a = func.coalesce(available.c.available, 0)
    expected = case((a < 0, -a), else_=literal(0))
    held = func.coalesce(r.c.amount, 0)

    def same_key(t: Any) -> ColumnElement[bool]:
        return and_(
            t.c.account_id == distinct.c.account_id,
            t.c.livemode == distinct.c.livemode,
            t.c.currency == distinct.c.currency,
        )

    mismatches = (
        select(
            distinct.c.account_id,
            distinct.c.livemode,
            distinct.c.currency,
            a.label("available"),
            expected.label("expected"),
            held.label("held"),
            r.c.platform_id,
            liable.c.platform_id.label("liable_platform"),
        )
        .select_from(
            distinct.join(liable, liable.c.id == distinct.c.account_id)
            .outerjoin(available, same_key(available))
            .outerjoin(r, same_key(r))
        )
        .where(or_(held != expected, and_(r.c.seq.is_not(None), r.c.platform_id != liable.c.platform_id)))
        .order_by(distinct.c.account_id, distinct.c.livemode, distinct.c.currency)
    )
    not_liable = (
        select(r.c.account_id, r.c.livemode, r.c.currency, r.c.amount)
        .where(r.c.amount != 0, r.c.account_id.not_in(select(liable.c.id)))
        .order_by(r.c.seq)
    )
    return mismatches, not_liable


_NEGATIVE_RESERVES = (
    select(connect_reserves).where(connect_reserves.c.amount < 0).order_by(connect_reserves.c.seq)
)


def _reserves_follow_negative_balances(conn: Connection) -> list[str]:
    out = [
        f"connect_reserves of {row.account_id} (livemode={bool(row.livemode)}, {row.currency}) "
        f"is negative: {row.amount}"
        for row in conn.execute(_NEGATIVE_RESERVES)
    ]
    mismatches, not_liable_stmt = _reserve_checks(conn.dialect.name)
    rows = conn.execute(mismatches).all()
    for row in rows:
        where = f"{row.account_id} (livemode={bool(row.livemode)}, {row.currency})"
        if row.held != row.expected:
            out.append(
                f"reserve for {where}: holds {row.held}, but available payments {row.available} "
                f"call for max(0, -available) = {row.expected}"
            )
        if row.platform_id is not None and row.platform_id != row.liable_platform:
            out.append(f"reserve for {where} is held by {row.platform_id}, not {row.liable_platform}")
    not_liable = conn.execute(not_liable_stmt).all()
    out.extend(
        f"reserve of {row.amount} for {row.account_id} (livemode={bool(row.livemode)}, {row.currency}), "
        "an account the platform is not liable for"
        for row in not_liable
    )
    return out


_RESERVED_BUCKETS = (
    select(
        balances.c.account_id.label("platform_id"),
        balances.c.livemode,
        balances.c.currency,
        func.sum(balances.c.available + balances.c.pending).label("total"),
    )
    .where(balances.c.balance_type == _CONNECT_RESERVED)
    .group_by(balances.c.account_id, balances.c.livemode, balances.c.currency)
)
_RESERVE_ROWS = select(
    connect_reserves.c.platform_id,
    connect_reserves.c.livemode,
    connect_reserves.c.currency,
    func.sum(connect_reserves.c.amount).label("total"),
).group_by(connect_reserves.c.platform_id, connect_reserves.c.livemode, connect_reserves.c.currency)
_RESERVED_BOTH = union_all(
    _RESERVED_BUCKETS.add_columns(literal(0).label("reserves")),
    _RESERVE_ROWS.add_columns(literal(1).label("reserves")),
).subquery()
_IN_BUCKETS = func.sum(case((_RESERVED_BOTH.c.reserves == 0, _RESERVED_BOTH.c.total), else_=0))
_IN_RESERVES = func.sum(case((_RESERVED_BOTH.c.reserves == 1, _RESERVED_BOTH.c.total), else_=0))
_RESERVED_MISMATCHES = (
    select(
        _RESERVED_BOTH.c.platform_id,
        _RESERVED_BOTH.c.livemode,
        _RESERVED_BOTH.c.currency,
        _IN_BUCKETS.label("bucket"),
        _IN_RESERVES.label("reserves"),
    )
    .group_by(_RESERVED_BOTH.c.platform_id, _RESERVED_BOTH.c.livemode, _RESERVED_BOTH.c.currency)
    .having(_IN_BUCKETS != _IN_RESERVES)
    .order_by(_RESERVED_BOTH.c.platform_id, _RESERVED_BOTH.c.livemode, _RESERVED_BOTH.c.currency)
)


def _reserved_bucket_matches_reserves(conn: Connection) -> list[str]:
    rows = conn.execute(_RESERVED_MISMATCHES).all()
    return [
        f"connect_reserved of {row.platform_id} (livemode={bool(row.livemode)}, {row.currency}) holds "
        f"{row.bucket}, but its connect_reserves sum to {row.reserves}"
        for row in rows
    ]


# What each source moved in the world's buckets: a charge takes (negative), a refund or a
# dispute gives back (positive).
_WORLD_MOVES = (
    select(txns.c.source, func.sum(txns.c.amount).label("amount"))
    .where(txns.c.account_id.startswith(_WORLD, autoescape=True), txns.c.source.is_not(None))
    .group_by(txns.c.source)
    .subquery()
)
_MOVED = resources.alias("moved")  # the charge, refund or dispute that moved it
_CHARGE = resources.alias("charge")  # the charge it belongs to
_IS_CHARGE = object_is("charge", column=_MOVED.c.object)
_CHARGE_ID = case((_IS_CHARGE, _MOVED.c.id), else_=_MOVED.c.parent_id)
# A destination charge's payment (py_) is filed under the charge (its parent); any other
# charge, a py_ of a plain transfer included, stands for itself.
_ROOT = case(
    (_CHARGE.c.parent_id.startswith("ch_", autoescape=True), _CHARGE.c.parent_id), else_=_CHARGE.c.id
)
_TAKEN = func.sum(case((_IS_CHARGE, -_WORLD_MOVES.c.amount), else_=0))
_RETURNED = func.sum(case((_IS_CHARGE, 0), else_=_WORLD_MOVES.c.amount))
_RETURNED_TOO_MUCH = (
    select(_ROOT.label("root"), _TAKEN.label("taken"), _RETURNED.label("returned"))
    .select_from(
        _WORLD_MOVES.join(
            _MOVED,
            and_(
                _MOVED.c.id == _WORLD_MOVES.c.source,
                object_is("charge", "refund", "dispute", column=_MOVED.c.object),
            ),
        ).join(_CHARGE, and_(_CHARGE.c.id == _CHARGE_ID, object_is("charge", column=_CHARGE.c.object)))
    )
    .group_by(_ROOT)
    .having(_RETURNED > _TAKEN)
    .order_by(_ROOT)
)


def _refunds_within_charges(conn: Connection) -> list[str]:
    rows = conn.execute(_RETURNED_TOO_MUCH).all()
    return [
        f"charge {r.root}: {r.returned} went back to the outside for {r.taken} taken from it" for r in rows
    ]


_PENDING_BEFORE_NEXT_SETTLE = (
    select(txns.c.id, txns.c.available_on, _B.c.next_settle_at)
    .select_from(txns.join(_B, _B.c.seq == txns.c.balance_seq))
    .where(
        txns.c.status == "pending",
        or_(_B.c.next_settle_at.is_(None), txns.c.available_on < _B.c.next_settle_at),
    )
    .order_by(txns.c.seq)
)


def _pending_from_next_settle(conn: Connection) -> list[str]:
    rows = conn.execute(_PENDING_BEFORE_NEXT_SETTLE).all()
    return [
        f"pending transaction {r.id} is available on {r.available_on}, before its bucket's "
        f"next_settle_at {r.next_settle_at}"
        for r in rows
    ]


_CHECKS: tuple[Callable[[Connection], list[str]], ...] = (
    _conservation,
    _buckets_match_history,
    _transactions_well_formed,
    _transactions_in_their_bucket,
    _reserves_follow_negative_balances,
    _reserved_bucket_matches_reserves,
    _refunds_within_charges,
    _pending_from_next_settle,
)


def check_ledger(conn: Connection) -> list[str]:
    """Every violation of the ledger's invariants (module docstring), as sentences; [] when healthy.

    Read-only; run it in one transaction (a snapshot on PostgreSQL) so the checks see one state.
    """
    violations: list[str] = []
    for check in _CHECKS:
        violations.extend(check(conn))
    return violations
