"""The tables.

Relational where money is: `balances` (one row per bucket: account, mode, currency, balance type, source
type) and `balance_transactions` (append-only in what they book: amounts, fees and nets never change; two
columns move: `status`, pending → available, as Stripe's own field does, and `payout`, set once when an
automatic payout sweeps the transaction — `GET /v1/balance_transactions?payout=`). `GET /v1/balance`
reads `balances` and never sums history.

Resources that are documents on the wire (charges, refunds, disputes, transfers, reversals, top-ups,
external accounts, application fees) live in `resources`: the rendered Stripe object as JSON plus the
columns that queries filter on. Each resource is keyed by its owning account, so every table shards by
`account_id`.

Every table has an integer `seq` primary key: lists are ordered by it (newest first), which is stable
where `created` (whole seconds) ties. Constraint names follow one convention so migrations can name them.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)

# 64-bit keys on PostgreSQL; on SQLite the key must be spelled INTEGER to be the rowid.
Seq = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

BALANCE_TYPES = ("payments", "issuing", "refund_and_dispute_prefunding", "connect_reserved")
SOURCE_TYPES = ("card", "bank_account", "fpx")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


accounts = Table(
    "accounts",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("platform_id", String(64), nullable=True),  # NULL for a platform and system accounts
    Column("livemode", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),  # platform | connected | system
    Column("created", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),  # the Stripe account object, minus computed fields
    CheckConstraint(_in("kind", ("platform", "connected", "system")), name="kind"),
    Index(None, "platform_id", "livemode", "seq"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("kind", String(16), nullable=False),  # secret | publishable
    # Secret keys are stored as SHA-256 digests; publishable keys are public by design; test secret
    # keys are also kept in clear (`test_secret`) so that `payoutkit keys` can show them again.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("publishable", String(128), nullable=True),
    Column("test_secret", String(128), nullable=True),
    Column("last4", String(4), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=True),
    CheckConstraint(_in("kind", ("secret", "publishable")), name="kind"),
    CheckConstraint("kind = 'publishable' OR publishable IS NULL", name="secret_not_stored"),
    CheckConstraint(
        "test_secret IS NULL OR (kind = 'secret' AND livemode = false)", name="only_test_secrets_in_clear"
    ),
)

balances = Table(
    "balances",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_type", String(40), nullable=False),
    Column("source_type", String(16), nullable=False),
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    # Earliest available_on among this bucket's pending transactions: settlement finds due buckets
    # through this column, and a balance read knows without a query whether anything is due.
    Column("next_settle_at", BigInteger, nullable=True),
    UniqueConstraint("account_id", "livemode", "currency", "balance_type", "source_type"),
    CheckConstraint(_in("balance_type", BALANCE_TYPES), name="balance_type"),
    CheckConstraint(_in("source_type", SOURCE_TYPES), name="source_type"),
    CheckConstraint("length(currency) = 3", name="currency"),
    Index(None, "next_settle_at"),
)

balance_transactions = Table(
    "balance_transactions",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("balance_seq", Seq, nullable=False),  # balances.seq of the bucket
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("balance_type", String(40), nullable=False),
    Column("source_type", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("net", BigInteger, nullable=False),
    Column("fee_details", JSON, nullable=False),
    Column("type", String(48), nullable=False),
    Column("reporting_category", String(48), nullable=False),
    Column("status", String(16), nullable=False),
    Column("available_on", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
    Column("source", String(64), nullable=True),
    Column("payout", String(64), nullable=True),  # the automatic payout that swept it (issue 3)
    CheckConstraint("amount <> 0 OR fee <> 0", name="nonzero"),
    CheckConstraint("net = amount - fee", name="net"),
    CheckConstraint(_in("status", ("pending", "available")), name="status"),
    CheckConstraint(_in("balance_type", BALANCE_TYPES), name="balance_type"),
    Index(None, "account_id", "livemode", "seq"),
    # No index holds `status`, the one column settlement rewrites: on PostgreSQL the flip is then a HOT
    # update (no index entry written; the table keeps room on its pages, migration 0006), on SQLite it
    # rewrites no index entry. A bucket's due transactions are found by `available_on`, from the
    # bucket's `next_settle_at` (never above a pending transaction's `available_on`) to now.
    Index(None, "balance_seq", "available_on"),  # settlement, per due bucket
    Index(None, "source"),
    # The transactions a payout swept (`payout = ?`); most transactions are never swept, and the index
    # holds none of them (migration 0008).
    Index(
        "ix_balance_transactions_payout",
        "payout",
        sqlite_where=text("payout IS NOT NULL"),
        postgresql_where=text("payout IS NOT NULL"),
    ),
    # An automatic payout sweeps its bucket's available, not yet swept transactions: this index finds
    # them without reading every transaction the bucket ever paid out.
    Index(None, "balance_seq", "payout"),
)

resources = Table(
    "resources",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("object", String(40), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("parent_id", String(64), nullable=True),  # charge of a refund, account of an ext. account
    Column("status", String(32), nullable=True),
    Column("data", JSON, nullable=False),
    # What the object knows but never shows: e.g. the test outcome a bank account number selects.
    Column("internal", JSON, nullable=True),
    Index(None, "account_id", "livemode", "object", "seq"),
    # A parent's children (`parent_id = ?`); a platform's own charges have none (migration 0008).
    Index(
        "ix_resources_parent_id_object_seq",
        "parent_id",
        "object",
        "seq",
        sqlite_where=text("parent_id IS NOT NULL"),
        postgresql_where=text("parent_id IS NOT NULL"),
    ),
    # An account's external accounts, read on every balance read and payout (migration 0007 says why).
    Index(
        "ix_resources_external_accounts",
        "parent_id",
        "livemode",
        "seq",
        sqlite_where=text("object IN ('bank_account', 'card')"),
        postgresql_where=text("object IN ('bank_account', 'card')"),
    ),
    # A platform's instant payout pricing, read on every balance read (migration 0009 says why).
    Index(
        "ix_resources_instant_payout_pricing",
        "account_id",
        "livemode",
        sqlite_where=text("object = 'instant_payout_pricing'"),
        postgresql_where=text("object = 'instant_payout_pricing'"),
    ),
)


_KIND = re.compile(r"[a-z_]+")


def object_is(*kinds: str, column: ColumnElement[str] = resources.c.object) -> ColumnElement[bool]:
    """`object = 'payout'` (`IN (…)` for several kinds), the kinds written into the SQL text: every
    comparison of `resources.object` in the store goes through here, never through a parameter.

    Why: preparing a statement, SQLite checks whether its terms imply the partial indexes' `object IN
    (…)` and `object = '…'`; a term that compares `object` with a parameter makes that check depend on
    the value, so SQLite prepares the statement again whenever the parameter is bound, and Python's
    sqlite3 binds on every execution. Measured: ~5 µs more on a two-term read, ~35 µs on the payout's
    three-part read (`store/payers.py`), 10% of a payout's CPU. (A lookup by the unique `id` skips
    that check, but goes through here too.) On PostgreSQL a generic prepared plan can use a partial
    index only when the kind is in the text, too."""
    for kind in kinds:
        if not _KIND.fullmatch(kind):  # internal names only: nothing a request says reaches the text
            raise ValueError(f"not a resource kind: {kind!r}")
    if len(kinds) == 1:
        return column == literal_column(f"'{kinds[0]}'", String)
    return column.in_([literal_column(f"'{kind}'", String) for kind in kinds])


idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    # By the mode's clock; kept 24 hours, then deleted by the worker (services/jobs.py).
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("account_id", "livemode", "key"),
    Index(None, "livemode", "created"),
)

connect_reserves = Table(
    "connect_reserves",
    metadata,
    # What the platform holds in connect_reserved for one connected account and currency.
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("platform_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    UniqueConstraint("account_id", "livemode", "currency"),
    CheckConstraint("amount >= 0", name="nonnegative"),
)

clock = Table(
    "clock",
    metadata,
    # The simulated clock of test mode: one row, so every process of a deployment shares it.
    Column("id", Integer, primary_key=True),
    Column("now", BigInteger, nullable=False),
    # Where the last accepted advance takes the clock; `now` follows it in committed steps
    # (services/clock.py). NULL until the first advance.
    Column("target", BigInteger, nullable=True),
)

# ---- payouts (issue 3) ---------------------------------------------------------------------------

payout_tracking = Table(
    "payout_tracking",
    metadata,
    # The payout document lives in `resources`; this row is what the worker and list filters need:
    # when the payout's next step is due (NULL once nothing more can happen) and its arrival date.
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("payout_id", String(64), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("arrival_date", BigInteger, nullable=False),
    Column("next_action_at", BigInteger, nullable=True),
    Index(None, "next_action_at"),
    Index(None, "account_id", "livemode", "arrival_date"),
)

payout_runs = Table(
    "payout_runs",
    metadata,
    # When each account's next automatic payout run is due (its schedule; daily for `manual`
    # accounts, which are only debited to recover a negative balance).
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("next_run_at", BigInteger, nullable=False),
    UniqueConstraint("account_id", "livemode"),
    Index(None, "next_run_at"),
)

instant_volume = Table(
    "instant_volume",
    metadata,
    # Instant payout volume per account, currency and local day (the daily limit).
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD in the account's region
    Column("amount", BigInteger, nullable=False),
    UniqueConstraint("account_id", "livemode", "currency", "day"),
)

# ---- events and webhooks -------------------------------------------------------------------------

events = Table(
    "events",
    metadata,
    # `account_id`: the connected account an event is about (NULL for the platform's own events).
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("platform_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=True),
    Column("livemode", Boolean, nullable=False),
    Column("type", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),  # the rendered event object
    Index(None, "platform_id", "livemode", "seq"),
    Index(None, "account_id", "livemode", "seq"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    # One event to one endpoint. `next_attempt_at` and `created` are wall-clock time in milliseconds
    # (signatures are checked against the receiver's clock); `next_attempt_at` is NULL once delivered
    # or given up.
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("endpoint_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("created", BigInteger, nullable=False),
    CheckConstraint(_in("status", ("pending", "delivered", "failed")), name="status"),
    UniqueConstraint("event_id", "endpoint_id"),
    Index(None, "next_attempt_at"),
    Index(None, "endpoint_id", "seq"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    # Every delivery attempt, kept: when (wall-clock milliseconds), the HTTP status (NULL when the
    # endpoint could not be reached or did not answer in time), the error, and how long it took.
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("delivery_seq", Seq, nullable=False),
    Column("attempted_at", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index(None, "delivery_seq", "seq"),
)

# ---- account sessions and the embedded API (issue 9) ---------------------------------------------

account_sessions = Table(
    "account_sessions",
    metadata,
    # A platform's grant of one connected account's embedded components (docs/embedded.md §1). The
    # client secret is kept as its SHA-256 digest only; `claimed_at` is set once, by the one claim.
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("secret_digest", String(64), nullable=False, unique=True),
    Column("account_id", String(64), nullable=False),
    Column("platform_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("components", JSON, nullable=False),  # every component, resolved: {name: {enabled, features}}
    Column("created", BigInteger, nullable=False),  # by the mode's clock, as is expires_at
    Column("expires_at", BigInteger, nullable=False),
    Column("claimed_at", BigInteger, nullable=True),
    Index(None, "account_id", "livemode", "seq"),
    Index(None, "livemode", "expires_at"),  # the worker deletes them a day after they expire
)

embedded_tokens = Table(
    "embedded_tokens",
    metadata,
    # The short-lived token a claim gives (its SHA-256 digest), with the scope it carries.
    Column("token_digest", String(64), primary_key=True),
    Column("session_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("platform_id", String(64), nullable=False),
    Column("livemode", Boolean, nullable=False),
    Column("features", JSON, nullable=False),  # sorted list of the scope's features
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "session_id"),
    Index(None, "livemode", "expires_at"),
)
