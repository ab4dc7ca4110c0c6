"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=True),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.CheckConstraint("kind IN ('platform', 'connected', 'system')", name=op.f("ck_accounts_kind")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_accounts")),
        sa.UniqueConstraint("id", name=op.f("uq_accounts_id")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_accounts_platform_id_livemode_seq"),
            ["platform_id", "livemode", "seq"],
            unique=False,
        )

    op.create_table(
        "api_keys",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("publishable", sa.String(length=128), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind = 'publishable' OR publishable IS NULL", name=op.f("ck_api_keys_secret_not_stored")
        ),
        sa.CheckConstraint("kind IN ('secret', 'publishable')", name=op.f("ck_api_keys_kind")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "balance_transactions",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("balance_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_type", sa.String(length=40), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("fee_details", sa.JSON(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("reporting_category", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("available_on", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("payout", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "balance_type IN ('payments', 'issuing', 'refund_and_dispute_prefunding', 'connect_reserved')",
            name=op.f("ck_balance_transactions_balance_type"),
        ),
        sa.CheckConstraint("status IN ('pending', 'available')", name=op.f("ck_balance_transactions_status")),
        sa.CheckConstraint("amount <> 0 OR fee <> 0", name=op.f("ck_balance_transactions_nonzero")),
        sa.CheckConstraint("net = amount - fee", name=op.f("ck_balance_transactions_net")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_balance_transactions")),
        sa.UniqueConstraint("id", name=op.f("uq_balance_transactions_id")),
    )
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_account_id_livemode_seq"),
            ["account_id", "livemode", "seq"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_balance_transactions_balance_seq_status_available_on"),
            ["balance_seq", "status", "available_on"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_balance_transactions_source"), ["source"], unique=False)

    op.create_table(
        "balances",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_type", sa.String(length=40), nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("available", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("next_settle_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "balance_type IN ('payments', 'issuing', 'refund_and_dispute_prefunding', 'connect_reserved')",
            name=op.f("ck_balances_balance_type"),
        ),
        sa.CheckConstraint(
            "source_type IN ('card', 'bank_account', 'fpx')", name=op.f("ck_balances_source_type")
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_balances_currency")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_balances")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "currency",
            "balance_type",
            "source_type",
            name=op.f("uq_balances_account_id_livemode_currency_balance_type_source_type"),
        ),
    )
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balances_next_settle_at"), ["next_settle_at"], unique=False)

    op.create_table(
        "clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("now", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock")),
    )
    op.create_table(
        "connect_reserves",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_connect_reserves_nonnegative")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_connect_reserves")),
        sa.UniqueConstraint(
            "account_id",
            "livemode",
            "currency",
            name=op.f("uq_connect_reserves_account_id_livemode_currency"),
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "account_id", "livemode", "key", name=op.f("uq_idempotency_keys_account_id_livemode_key")
        ),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created"), ["created"], unique=False)

    op.create_table(
        "resources",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("object", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("internal", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_resources")),
        sa.UniqueConstraint("id", name=op.f("uq_resources_id")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_account_id_livemode_object_seq"),
            ["account_id", "livemode", "object", "seq"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_resources_parent_id_object_seq"), ["parent_id", "object", "seq"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_parent_id_object_seq"))
        batch_op.drop_index(batch_op.f("ix_resources_account_id_livemode_object_seq"))

    op.drop_table("resources")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created"))

    op.drop_table("idempotency_keys")
    op.drop_table("connect_reserves")
    op.drop_table("clock")
    with op.batch_alter_table("balances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balances_next_settle_at"))

    op.drop_table("balances")
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_transactions_source"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_balance_seq_status_available_on"))
        batch_op.drop_index(batch_op.f("ix_balance_transactions_account_id_livemode_seq"))

    op.drop_table("balance_transactions")
    op.drop_table("api_keys")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_platform_id_livemode_seq"))

    op.drop_table("accounts")
