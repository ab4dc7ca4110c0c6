"""test secret keys kept in clear, so that they can be shown again

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:10:00.000000

A test secret key moves only test-mode money, which no bank is behind: it is kept in clear beside its
digest (`test_secret`) so that `payoutkit keys` can print it again, as Stripe's dashboard shows test
keys at any time. Live secret keys stay digests only (a CHECK constraint holds it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("test_secret", sa.String(length=128), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_api_keys_only_test_secrets_in_clear"),
            "test_secret IS NULL OR (kind = 'secret' AND livemode = false)",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_keys_only_test_secrets_in_clear"), type_="check")
        batch_op.drop_column("test_secret")
