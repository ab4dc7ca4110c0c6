"""Object ids: Stripe's prefixes followed by 24 base62 characters, the first 8 of them the time.

`new_id` (objects): 8 characters of the milliseconds since 2020 (in an alphabet that sorts as ASCII
does), then random ones. Ids made later sort after those made earlier, so a new row's id lands at the
end of each index that holds ids (primary keys, `source`, `payout`): a B-tree append dirties the same
few pages insert after insert, where a random id dirtied a page of its own anywhere in the index, and
the database wrote (WAL, then checkpoint) about 73 KB per automatic payout. Ids are names, not secrets:
the time in one is the object's `created`, which the object shows anyway, and the 16 random characters
(95 bits) keep two ids made in the same millisecond apart.

`new_secret` (client secrets, tokens, keys): random characters only.
"""

from __future__ import annotations

import os
import re
import secrets
import string
import threading
import time

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


class _Drawn(threading.local):
    """This thread's characters drawn for ids and not yet used (`chars[pos:]`)."""

    chars = b""
    pos = 0


# Ids take their random characters from a per-thread store drawn `_DRAW` bytes at a time: an
# `os.urandom` per id is a system call that releases the interpreter lock, and where units of work run
# on threads (PostgreSQL) each release let another thread in and made the id's thread wait to get the
# lock back (5% of the samples of an automatic payout run on PostgreSQL). The bytes are the same CSPRNG's,
# drawn earlier. Secrets still draw their own. A forked child starts with nothing drawn, so it never
# repeats its parent's characters.
_DRAW = 4096
_drawn = _Drawn()


def _forget_drawn() -> None:
    global _drawn
    _drawn = _Drawn()


os.register_at_fork(after_in_child=_forget_drawn)


def _id_chars(length: int) -> str:
    """`length` characters for an id, uniformly drawn from the 62 (as `_base62`), from this thread's store."""
    drawn = _drawn
    chars, pos = drawn.chars, drawn.pos
    if len(chars) - pos < length:
        chars, pos = chars[pos:], 0
        while len(chars) < length:
            chars += secrets.token_bytes(_DRAW).translate(_TO_CHAR, _DROP)
        drawn.chars = chars
    drawn.pos = pos + length
    return chars[pos : pos + length].decode("ascii")


# The time part: fixed width, in characters that sort as their values do ("0" < "9" < "A" < "z").
_SORTED = string.digits + string.ascii_uppercase + string.ascii_lowercase
_TIME_CHARS = 8  # 62**8 ms is about 6,900 years
_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z


# The last millisecond's time part: a request makes several ids (a payout four) within one.
_last_time: tuple[int, str] = (-1, "")


def _time_part() -> str:
    global _last_time
    ms = time.time_ns() // 1_000_000
    last = _last_time
    if last[0] == ms:
        return last[1]
    n = ms - _EPOCH_MS
    out = []
    for _ in range(_TIME_CHARS):
        n, r = divmod(n, 62)
        out.append(_SORTED[r])
    part = "".join(reversed(out))
    _last_time = (ms, part)
    return part


def new_id(prefix: str, length: int = 24) -> str:
    """`prefix_` and `length` characters: the time (when `length` leaves 16 random ones), then random."""
    if length < _TIME_CHARS + 16:
        return f"{prefix}_{_id_chars(length)}"
    return f"{prefix}_{_time_part()}{_id_chars(length - _TIME_CHARS)}"


def new_secret(prefix: str, length: int = 32) -> str:
    """`prefix_` and `length` random characters: a secret has no time in it."""
    return f"{prefix}_{_base62(length)}"


def check_id(value: str, prefixes: tuple[str, ...], param: str, object_name: str) -> str:
    """A malformed id is a 400 naming the param; a well-formed unknown one is a 404 later."""
    if not ID_PATTERN.match(value) or not value.startswith(tuple(p + "_" for p in prefixes)):
        raise InvalidRequest(f"Invalid {object_name} id: '{value}'", param=param, code="resource_missing")
    return value
