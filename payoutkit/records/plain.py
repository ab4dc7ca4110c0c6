"""`plain(value)`: a document's JSON value as a fresh copy, fast.

Documents are JSON values: dicts, lists, strings, numbers, booleans, None. A record keeps mappings it
shares with nobody, and a document it hands out must be the caller's own, so converting means copying
every dict and list; `copy.deepcopy` and `isinstance(..., Mapping)` are several times slower than
these exact-type checks. Anything else (another mapping, a tuple, an unexpected object) takes the
general path, with the same result as before.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

_ATOMS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A mapping as a dict, a list or tuple as a list, recursively (each a copy); an atom as it is."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_copy(value: Any) -> Any:
    """`copy.deepcopy(value)` for a JSON value: the same result, dicts and lists copied by type."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    return copy.deepcopy(value)
