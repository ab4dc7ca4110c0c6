"""API keys: secret keys stored as SHA-256 digests, publishable keys as they are, and test secret keys
also in clear (to be shown again); expired, never deleted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from payoutkit.store.schema import api_keys


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: its owner, mode and kind, the digest of the key and (publishable only) the key."""

    account_id: str
    livemode: bool
    kind: str  # secret | publishable
    digest: str
    last4: str
    created: int
    publishable: str | None = None
    test_secret: str | None = None  # a test secret key, kept in clear to be shown again


@dataclass(frozen=True)
class KeyOwner:
    account_id: str
    livemode: bool
    kind: str


_ACTIVE = select(api_keys.c.account_id, api_keys.c.livemode, api_keys.c.kind).where(
    api_keys.c.key_hash == bindparam("digest"), api_keys.c.expires.is_(None)
)
_KNOWN = select(api_keys.c.seq).where(api_keys.c.key_hash == bindparam("digest"))
_HAS_KIND = select(api_keys.c.seq).where(
    api_keys.c.account_id == bindparam("account_id"),
    api_keys.c.livemode == bindparam("livemode"),
    api_keys.c.kind == bindparam("kind"),
    api_keys.c.expires.is_(None),
)
_PUBLISHABLE = (
    select(api_keys.c.livemode, api_keys.c.publishable)
    .where(
        api_keys.c.account_id == bindparam("account_id"),
        api_keys.c.kind == "publishable",
        api_keys.c.expires.is_(None),
    )
    .order_by(api_keys.c.seq)
)
_TEST_SECRETS = (
    select(api_keys.c.test_secret)
    .where(
        api_keys.c.account_id == bindparam("account_id"),
        api_keys.c.kind == "secret",
        api_keys.c.livemode.is_(False),
        api_keys.c.expires.is_(None),
        api_keys.c.test_secret.is_not(None),
    )
    .order_by(api_keys.c.seq)
)
_EXPIRE_SECRET = (
    update(api_keys)
    .where(
        # (an update's bind parameters cannot be named as its table's columns)
        api_keys.c.account_id == bindparam("owner"),
        api_keys.c.livemode == bindparam("mode"),
        api_keys.c.kind == "secret",
        api_keys.c.expires.is_(None),
    )
    .values(expires=bindparam("now"))
)
_INSERT = insert(api_keys)


def active(tx: Connection, digest: str) -> KeyOwner | None:
    """Whose unexpired key has this digest (None: no such key, or it expired)."""
    row = tx.execute(_ACTIVE, {"digest": digest}).first()
    return None if row is None else KeyOwner(row.account_id, bool(row.livemode), row.kind)


def known(tx: Connection, digest: str) -> bool:
    """Whether a key with this digest was ever registered (expired or not)."""
    return tx.execute(_KNOWN, {"digest": digest}).first() is not None


def has_kind(tx: Connection, account_id: str, livemode: bool, kind: str) -> bool:
    params = {"account_id": account_id, "livemode": livemode, "kind": kind}
    return tx.execute(_HAS_KIND, params).first() is not None


def add(tx: Connection, key: ApiKey) -> None:
    tx.execute(
        _INSERT,
        {
            "account_id": key.account_id,
            "livemode": key.livemode,
            "kind": key.kind,
            "key_hash": key.digest,
            "publishable": key.publishable,
            "test_secret": key.test_secret,
            "last4": key.last4,
            "created": key.created,
        },
    )


def publishable(tx: Connection, account_id: str) -> list[tuple[bool, str | None]]:
    """The account's unexpired publishable keys, (livemode, key), oldest first."""
    rows = tx.execute(_PUBLISHABLE, {"account_id": account_id}).all()
    return [(bool(r.livemode), r.publishable) for r in rows]


def test_secrets(tx: Connection, account_id: str) -> list[str]:
    """The account's unexpired test secret keys kept in clear, oldest first."""
    return [r.test_secret for r in tx.execute(_TEST_SECRETS, {"account_id": account_id}).all()]


def expire_secret(tx: Connection, account_id: str, livemode: bool, now: int) -> None:
    """Expire the account's unexpired secret key(s) of a mode."""
    tx.execute(_EXPIRE_SECRET, {"owner": account_id, "mode": livemode, "now": now})
