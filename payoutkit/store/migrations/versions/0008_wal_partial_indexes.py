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


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, table, columns, _where in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
