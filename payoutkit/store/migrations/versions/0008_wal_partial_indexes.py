"""two indexes hold only the rows they are read for (partial indexes): fewer pages written per request

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:30:00.000000

`balance_transactions(payout)` is read for a payout's swept transactions (`payout = ?`: the list's
`payout` filter, a failed payout's release); `resources(parent_id, object, seq)` for a parent's children
(`parent_id = ?`). Every transaction is inserted unswept (`payout` NULL) and most are never swept, and a
platform's own charges have no parent, yet each of those rows had an entry in the full index, written
with the row. As partial indexes (`... IS NOT NULL`) they hold only the rows those reads can find, and
SQLite and PostgreSQL use them for the same reads (`x = ?` implies `x IS NOT NULL`), so those rows write
one index entry fewer. The sweep's `payout IS NULL` reads go through `(balance_seq, payout)`, which
stays whole.

Migration 0007's external accounts index is made again after them, unchanged: on an analysed store
SQLite's planner breaks a tie between plans by the order the table's indexes were created, and with
`(parent_id, object, seq)` newer than it the read of an account's external accounts (every balance
read and payout) sorted its one or two rows in a temporary B-tree instead of reading them in index
order (checked on a store analysed after 600 payouts and 600 charges: every other statement the tests
run keeps its plan; the list's `payout` filter now reads the partial index, where on 0007 the planner
took the account's index instead, the full index's statistics showing every row with the one value
NULL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_balance_transactions_payout", "balance_transactions", ["payout"], "payout IS NOT NULL"),
    (
        "ix_resources_parent_id_object_seq",
        "resources",
        ["parent_id", "object", "seq"],
        "parent_id IS NOT NULL",
    ),
)


# Migration 0007's, made again last (see above).
EXTERNAL = ("ix_resources_external_accounts", "resources", ["parent_id", "livemode", "seq"],
            "object IN ('bank_account', 'card')")  # fmt: skip


def _remake(name: str, table: str, columns: list[str], where: str | None) -> None:
    op.drop_index(name, table_name=table)
    if where is None:
        op.create_index(name, table, columns)
    else:
        op.create_index(name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    for name, table, columns, where in (*INDEXES, EXTERNAL):
        _remake(name, table, columns, where)


def downgrade() -> None:
    for name, table, columns, _where in INDEXES:
        _remake(name, table, columns, None)
    _remake(*EXTERNAL)
