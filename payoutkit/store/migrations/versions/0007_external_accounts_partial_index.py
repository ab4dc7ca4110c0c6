"""an account's external accounts are found by an index of their own (a partial index)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:30:00.000000

Every `GET /v1/balance` and every payout reads the account's external accounts: `resources` rows of
`object IN ('bank_account', 'card')` whose parent is the account. The `(parent_id, object, seq)` index
holds every resource with a parent, and a platform is the parent of all its charges; once ANALYZE has
run (store/seeding.py runs it after a bulk load; an operator may run it any day), SQLite's planner
reads from its statistics that a parent has thousands of rows and scans the whole table instead,
reading every charge's document on every balance read (3.2 ms against 10 µs at 1,000,000 charges;
`GET /v1/balance` took about twice as long on an analysed store). This index holds the external
accounts only, ordered as they are read, so its statistics describe them and no sort is needed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "ix_resources_external_accounts"
WHERE = "object IN ('bank_account', 'card')"


def upgrade() -> None:
    op.create_index(
        NAME,
        "resources",
        ["parent_id", "livemode", "seq"],
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="resources")
