"""Decoding Stripe's form encoding: `a[b][c]=v`, arrays as `a[]=x` or `a[0]=x`, empty string unsets.

The result is nested dicts, lists and strings; `""` stays `""` so that each parameter model decides
what unsetting means (metadata keys are deleted, nullable fields become null). Malformed brackets,
a key that is both a value and a hash, or array indices with gaps are an `InvalidRequest` naming the
param, and so is hostile input: more than `MAX_PARAMS` fields, an array index too long to be one, or a
NUL character anywhere (PostgreSQL cannot store it, and no Stripe parameter holds one). Only ASCII
digits make an array index: `metadata[²]` is a hash key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from payoutkit.errors import InvalidRequest

_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8
MAX_PARAMS = 1000
# An array never has more than MAX_PARAMS items, so a longer index is never a valid one.
MAX_INDEX_DIGITS = 6


def _split(name: str) -> list[str]:
    head, bracket, rest = name.partition("[")
    if not head:
        raise InvalidRequest(f"Invalid parameter name: {name}", param=name)
    if not bracket:
        return [head]
    rest = "[" + rest
    parts = _PART.findall(rest)
    if "".join(f"[{p}]" for p in parts) != rest or len(parts) > MAX_DEPTH:
        raise InvalidRequest(f"Invalid parameter name: {name}", param=name)
    return [head, *parts]


def _arrays(node: Any, path: str) -> Any:
    """Turn dicts whose keys are all array markers into lists, depth first."""
    if not isinstance(node, dict):
        return node
    converted = {k: _arrays(v, f"{path}[{k}]" if path else k) for k, v in node.items()}
    if converted and all(isinstance(k, int) for k in converted):
        keys = sorted(converted)
        if keys != list(range(len(keys))):
            raise InvalidRequest(f"Invalid array: {path} has non-sequential indices", param=path)
        return [converted[k] for k in keys]
    if any(isinstance(k, int) for k in converted):
        raise InvalidRequest(f"Invalid hash: {path} mixes array and hash keys", param=path)
    return converted


def too_many() -> InvalidRequest:
    return InvalidRequest(f"Too many parameters: a request can have at most {MAX_PARAMS}.")


def pairs(body: str) -> list[tuple[str, str]]:
    """The `(name, value)` pairs of a form-encoded body; undecodable bytes become U+FFFD."""
    try:
        return parse_qsl(body, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARAMS)
    except ValueError:  # more than MAX_PARAMS fields: refused before any is parsed
        raise too_many() from None


def decode(body: str) -> dict[str, Any]:
    return decode_pairs(pairs(body))


def _is_index(part: str) -> bool:
    return part.isascii() and part.isdigit()


def _refuse_nul(name: str, value: str) -> None:
    if "\x00" in name or "\x00" in value:
        raise InvalidRequest(
            "Invalid string: parameters cannot contain NUL characters.",
            param=name,
            code="parameter_invalid_string",
        )


def _child(node: dict[Any, Any], key: Any, parts: list[str], i: int) -> dict[Any, Any]:
    """The hash at `node[key]`, made if missing; `metadata=` then `metadata[k]=v`: the hash wins."""
    child = node.setdefault(key, {})
    if not isinstance(child, dict):
        if child != "":
            raise InvalidRequest(
                f"Invalid parameter: {'['.join(parts[: i + 1])} is not a hash", param=parts[0]
            )
        child = node[key] = {}
    return child


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    if len(pairs) > MAX_PARAMS:
        raise too_many()
    root: dict[Any, Any] = {}
    counters: dict[int, int] = {}
    for name, value in pairs:
        _refuse_nul(name, value)
        parts = _split(name)
        node = root
        for i, part in enumerate(parts):
            key: Any = part
            if i > 0 and part == "":
                key = counters.get(id(node), 0)
                counters[id(node)] = key + 1
            elif i > 0 and _is_index(part):
                if len(part) > MAX_INDEX_DIGITS:
                    array = parts[0] + "".join(f"[{p}]" for p in parts[1:i])
                    raise InvalidRequest(f"Invalid array index: {part[:20]}…", param=array)
                key = int(part)
            if i < len(parts) - 1:
                node = _child(node, key, parts, i)
            elif isinstance(node.get(key), dict):
                raise InvalidRequest(f"Invalid parameter: {name} is also a hash", param=name)
            else:
                node[key] = value
    return _arrays(root, "")  # type: ignore[no-any-return]
