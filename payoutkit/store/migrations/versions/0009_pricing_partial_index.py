"""a platform's instant payout pricing is found by an index of its own (a partial index)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 07:30:00.000000

`GET /v1/balance` reads the platform's instant payout pricing in its one statement
(store/bucket_reads.py): `resources` where `account_id`, `livemode` and `object =
'instant_payout_pricing'`. The index on `(account_id, livemode, object, seq)` holds every resource. On
an analysed SQLite store whose platform owned resources of one kind only (its charges), the statistics
said every row matched that prefix, and the planner scanned the table instead: each balance read then
read every charge (1.7 ms at 1,000 charges and 1,000,000 transactions against 0.6 ms; the bench's
history figure).

This index holds only pricing documents (at most one per platform and mode), and the pricing is
compared with a literal (store/payouts.PRICING_WHERE), which a partial index needs to be usable. With it
the planner searches by index on such a store (checked on the bench's history store, 1,000 charges and
1,000,000 transactions, analysed: the statement 0.7 → 0.01 ms; there it searched the full index, the
partial one making the scan the dearer plan); without it, it scanned (tests/store/test_query_plans.py
writes such statistics and fails without this index). No other statement can use the index: their
WHERE does not imply its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "ix_resources_instant_payout_pricing"
WHERE = "object = 'instant_payout_pricing'"


def upgrade() -> None:
    op.create_index(
        NAME,
        "resources",
        ["account_id", "livemode"],
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="resources")
