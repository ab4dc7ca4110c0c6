"""the clock's advance target; idempotency keys expire: index them by mode and creation time

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 03:30:00.000000

Idempotency records are kept 24 hours by their mode's clock (test mode may run on the simulated clock,
live on the real one), and the worker deletes older ones in batches per mode: the index leads with the
mode so a batch never walks the other mode's records.

The simulated clock gets `target`: where the last accepted advance takes it. An advance moves `now`
there in committed steps, and a concurrent advance starts from that target, so advances are serialized
and the clock never moves back.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created"))
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_livemode_created"), ["livemode", "created"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_livemode_created"))
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created"), ["created"], unique=False)
    with op.batch_alter_table("clock", schema=None) as batch_op:
        batch_op.drop_column("target")
