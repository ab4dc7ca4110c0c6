"""Authentication: secret keys (Bearer or HTTP basic) and `Stripe-Account`.

Keys are looked up by their SHA-256 digest; the key itself is never stored or logged. A platform key
with `Stripe-Account: acct_…` acts as one of its connected accounts (same mode).

Each process keeps what it has read of a key for `KEY_CACHE_SECONDS` (monotonic time), then reads the
row again. Rotating or revoking a key is a write to `api_keys` by whichever process (or the `keys`
command) does it; every other process sees it within that many seconds. A short TTL rather than a
per-request version check: the hot path stays a dict lookup, with one indexed read per key every few
seconds, and a revoked key is refused everywhere within seconds, which is what rotation promises.
"""

from __future__ import annotations

import base64
import time

from payoutkit.errors import AuthenticationError, PermissionDenied, ResourceMissing
from payoutkit.runtime import Runtime
from payoutkit.services.platform import key_digest
from payoutkit.store import Tx
from payoutkit.store import accounts as store_accounts
from payoutkit.store import keys as store_keys
from payoutkit.store.engines import engine_cache


def bearer_key(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError(
            "You did not provide an API key. You need to provide your API key in the Authorization "
            "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
        )
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError("Invalid API Key provided: malformed basic auth") from None
        return decoded.partition(":")[0]
    raise AuthenticationError("Invalid Authorization header: use Bearer auth with a secret key.")


def _redact(key: str) -> str:
    return key[:8] + "*" * 8 + key[-4:] if len(key) > 12 else "****"


# How long a process trusts what it read of a key (seconds): a rotated or revoked key stops working
# in every process within this time.
KEY_CACHE_SECONDS = 2.0


def lookup_key(conn: Tx, state: Runtime, key: str) -> tuple[str, bool, str]:
    digest = key_digest(key)
    cached = state.key_cache.get(digest)
    clock = time.monotonic()
    if cached is not None and cached[0] > clock:
        found = cached[1]
    else:
        owner = store_keys.active(conn, digest)
        if owner is None:
            state.key_cache.pop(digest, None)
            raise AuthenticationError(f"Invalid API Key provided: {_redact(key)}")
        found = (owner.account_id, owner.livemode, owner.kind)
        state.key_cache[digest] = (clock + KEY_CACHE_SECONDS, found)
    if found[2] != "secret":
        raise PermissionDenied(
            "This API call cannot be made with a publishable API key. Please use a secret API key."
        )
    return found


def acting_account(conn: Tx, state: Runtime, key_account: str, livemode: bool, header: str | None) -> str:
    """The account a request acts as: the `Stripe-Account` header's, when the key may act for it."""
    if not header or header == key_account:
        return key_account
    # An account's platform and mode never change: each process keeps what it has read.
    known: dict[str, tuple[str | None, bool]] = engine_cache(conn, "account_owner")
    owner = known.get(header)
    if owner is None:
        owner = store_accounts.owner(conn, header)
        if owner is not None:
            known[header] = owner
    if owner is not None and owner[0] == key_account and owner[1] != livemode:
        # Stripe's answer (an invalid request, not a permission error) for the platform's own account
        # of the other mode.
        mode = "livemode" if owner[1] else "testmode"
        raise ResourceMissing(
            f"The account {header} was a {'live' if owner[1] else 'test'} account created with a {mode} "
            f"key, and therefore can only be used with {mode} keys"
        )
    if owner is None or owner[0] != key_account or owner[1] != livemode:
        raise PermissionDenied(
            "The provided key does not have access to account "
            f"'{header}' (or that account does not exist). Application access may have been revoked.",
            code="account_invalid",
        )
    return header
