"""Object ids: Stripe's prefixes followed by 24 random base62 characters."""

from __future__ import annotations

import re
import secrets
import string

from payoutkit.errors import InvalidRequest

_ALPHABET = string.ascii_letters + string.digits
ID_PATTERN = re.compile(r"^[a-z]+(_[a-z]+)*_[A-Za-z0-9]{8,64}$")


# Random bytes below 248 (4 x 62) map to a character by `byte % 62`, uniformly; the rest are dropped.
# Both steps are one C call each (`bytes.translate`), where a divmod per character cost ~12 µs an id.
_KEEP = 4 * len(_ALPHABET)
_TO_CHAR = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) if b < _KEEP else 0 for b in range(256))
_DROP = bytes(range(_KEEP, 256))


def _base62(length: int) -> str:
    """`length` characters drawn uniformly from the 62 of ids, from the operating system's CSPRNG."""
    chars = b""
    while len(chars) < length:
        # 8 bytes of 256 are dropped: 16 spare bytes make a second draw rare (and harmless).
        chars += secrets.token_bytes(length - len(chars) + 16).translate(_TO_CHAR, _DROP)
    return chars[:length].decode("ascii")


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{_base62(length)}"


def new_secret(prefix: str, length: int = 32) -> str:
    return new_id(prefix, length)


def check_id(value: str, prefixes: tuple[str, ...], param: str, object_name: str) -> str:
    """A malformed id is a 400 naming the param; a well-formed unknown one is a 404 later."""
    if not ID_PATTERN.match(value) or not value.startswith(tuple(p + "_" for p in prefixes)):
        raise InvalidRequest(f"Invalid {object_name} id: '{value}'", param=param, code="resource_missing")
    return value
