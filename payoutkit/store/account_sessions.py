"""Account sessions and embedded tokens: the digests of their secrets, never the secrets.

A session is claimed once: `claim` sets `claimed_at` only where it is still NULL, so of two concurrent
claims of one secret exactly one updates the row (PostgreSQL re-checks the condition after the first
commits; SQLite units are serialized) and the other is told it lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, delete, insert, select, update

from payoutkit.records.account_sessions import (
    AccountSession,
    EmbeddedToken,
    components_doc,
    components_from_doc,
)
from payoutkit.store.among import among
from payoutkit.store.schema import account_sessions as sessions
from payoutkit.store.schema import embedded_tokens as tokens

_INSERT = insert(sessions)
_BY_SECRET = select(sessions).where(sessions.c.secret_digest == bindparam("digest"))
_CLAIM = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"), sessions.c.claimed_at.is_(None))
    .values(claimed_at=bindparam("now"))
)
_INSERT_TOKEN = insert(tokens)
_TOKEN = select(tokens).where(tokens.c.token_digest == bindparam("digest"))
_REVOKE = delete(tokens).where(tokens.c.session_id == bindparam("session_id"))


def _oldest(table: Table, key: str) -> tuple[Any, Any]:
    """A batch of a mode's rows that expired by `before`, and the statement deleting them by key."""
    column = table.c[key]
    found = (
        select(column)
        .where(table.c.livemode == bindparam("livemode"), table.c.expires_at <= bindparam("before"))
        .order_by(table.c.expires_at)
        .limit(bindparam("batch"))
    )
    return found, delete(table).where(among(column, "keys"))


_PRUNABLE = {"sessions": _oldest(sessions, "seq"), "tokens": _oldest(tokens, "token_digest")}


def _session(row: Row[Any]) -> AccountSession:
    return AccountSession(
        id=row.id,
        secret_digest=row.secret_digest,
        account_id=row.account_id,
        platform_id=row.platform_id,
        livemode=bool(row.livemode),
        components=components_from_doc(row.components),
        created=int(row.created),
        expires_at=int(row.expires_at),
        claimed_at=None if row.claimed_at is None else int(row.claimed_at),
    )


def insert_session(tx: Connection, session: AccountSession) -> None:
    tx.execute(
        _INSERT,
        {
            "id": session.id,
            "secret_digest": session.secret_digest,
            "account_id": session.account_id,
            "platform_id": session.platform_id,
            "livemode": session.livemode,
            "components": components_doc(session.components),
            "created": session.created,
            "expires_at": session.expires_at,
            "claimed_at": session.claimed_at,
        },
    )


def by_secret(tx: Connection, digest: str) -> AccountSession | None:
    """The session whose client secret has this digest."""
    row = tx.execute(_BY_SECRET, {"digest": digest}).first()
    return None if row is None else _session(row)


def claim(tx: Connection, session_id: str, now: int) -> bool:
    """Mark the session claimed at `now`; False when it was claimed already."""
    return tx.execute(_CLAIM, {"session_id": session_id, "now": now}).rowcount == 1


def insert_token(tx: Connection, token: EmbeddedToken) -> None:
    tx.execute(
        _INSERT_TOKEN,
        {
            "token_digest": token.digest,
            "session_id": token.session_id,
            "account_id": token.account_id,
            "platform_id": token.platform_id,
            "livemode": token.livemode,
            "features": sorted(token.features),
            "expires_at": token.expires_at,
        },
    )


def token(tx: Connection, digest: str) -> EmbeddedToken | None:
    """The token with this digest (expired or not: the caller decides)."""
    row = tx.execute(_TOKEN, {"digest": digest}).first()
    if row is None:
        return None
    return EmbeddedToken(
        digest=row.token_digest,
        session_id=row.session_id,
        account_id=row.account_id,
        platform_id=row.platform_id,
        livemode=bool(row.livemode),
        features=frozenset(row.features),
        expires_at=int(row.expires_at),
    )


def revoke_tokens(tx: Connection, session_id: str) -> int:
    """Delete every token claimed for the session; answers how many there were."""
    return int(tx.execute(_REVOKE, {"session_id": session_id}).rowcount)


def prune(tx: Connection, livemode: bool, before: int, batch: int) -> int:
    """Delete up to `batch` sessions and up to `batch` tokens of a mode that expired by `before`;
    returns the larger count (the caller repeats while it is `batch`)."""
    done = 0
    for find, remove in _PRUNABLE.values():
        keys = list(tx.execute(find, {"livemode": livemode, "before": before, "batch": batch}).scalars())
        if keys:
            tx.execute(remove, {"keys": keys})
        done = max(done, len(keys))
    return done
