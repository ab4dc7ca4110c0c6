"""account sessions and embedded tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:50:00.000000

An account session (docs/embedded.md §1) is kept as the digest of its client secret, with its resolved
components and its expiry; a claim sets `claimed_at` once and stores the digest of the embedded token
it gives, with the token's scope. The worker deletes both a day after they expire, by their mode's
clock (hence the indexes on mode and expiry).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_sessions",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_account_sessions")),
        sa.UniqueConstraint("id", name=op.f("uq_account_sessions_id")),
        sa.UniqueConstraint("secret_digest", name=op.f("uq_account_sessions_secret_digest")),
    )
    with op.batch_alter_table("account_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_sessions_account_id_livemode_seq"),
            ["account_id", "livemode", "seq"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_account_sessions_livemode_expires_at"), ["livemode", "expires_at"], unique=False
        )
    op.create_table(
        "embedded_tokens",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_embedded_tokens")),
    )
    with op.batch_alter_table("embedded_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_embedded_tokens_livemode_expires_at"), ["livemode", "expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_embedded_tokens_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("embedded_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_embedded_tokens_session_id"))
        batch_op.drop_index(batch_op.f("ix_embedded_tokens_livemode_expires_at"))
    op.drop_table("embedded_tokens")
    with op.batch_alter_table("account_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_sessions_livemode_expires_at"))
        batch_op.drop_index(batch_op.f("ix_account_sessions_account_id_livemode_seq"))
    op.drop_table("account_sessions")
