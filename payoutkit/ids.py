"""Object ids: Stripe's prefixes followed by 24 random base62 characters."""

from __future__ import annotations

import re
import secrets
import string

from payoutkit.errors import InvalidRequest

_ALPHABET = string.ascii_letters + string.digits
ID_PATTERN = re.compile(r"^[a-z]+(_[a-z]+)*_[A-Za-z0-9]{8,64}$")


def _base62(length: int) -> str:
    # One draw of random bytes, read as an integer in base 62: unbiased enough (the integer has 32 bits
    # more than the id needs) and fast, where a `secrets.choice` per character costs most of a request.
    number = int.from_bytes(secrets.token_bytes((length * 6 + 32) // 8 + 1), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{_base62(length)}"


def new_secret(prefix: str, length: int = 32) -> str:
    return new_id(prefix, length)


def check_id(value: str, prefixes: tuple[str, ...], param: str, object_name: str) -> str:
    """A malformed id is a 400 naming the param; a well-formed unknown one is a 404 later."""
    if not ID_PATTERN.match(value) or not value.startswith(tuple(p + "_" for p in prefixes)):
        raise InvalidRequest(f"Invalid {object_name} id: '{value}'", param=param, code="resource_missing")
    return value
