"""Decoding Stripe's form encoding: `a[b][c]=v`, arrays as `a[]=x` or `a[0]=x`, empty string unsets.

The result is nested dicts, lists and strings; `""` stays `""` so that each parameter model decides
what unsetting means (metadata keys are deleted, nullable fields become null). Malformed brackets,
a key that is both a value and a hash, or array indices with gaps are a `ParamError` naming the param.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from payoutkit.api.errors import InvalidRequest

_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8
MAX_PARAMS = 1000


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


def decode(body: str) -> dict[str, Any]:
    pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARAMS)
    return decode_pairs(pairs)


def decode_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[Any, Any] = {}
    counters: dict[int, int] = {}
    for name, value in pairs:
        parts = _split(name)
        node = root
        for i, part in enumerate(parts):
            key: Any = part
            if i > 0 and part == "":
                key = counters.get(id(node), 0)
                counters[id(node)] = key + 1
            elif i > 0 and part.isdigit():
                key = int(part)
            last = i == len(parts) - 1
            if last:
                if isinstance(node.get(key), dict):
                    raise InvalidRequest(f"Invalid parameter: {name} is also a hash", param=name)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    if child == "":  # `metadata=` then `metadata[k]=v`: the hash wins
                        child = node[key] = {}
                    else:
                        raise InvalidRequest(
                            f"Invalid parameter: {'['.join(parts[: i + 1])} is not a hash",
                            param=parts[0],
                        )
                node = child
    return _arrays(root, "")  # type: ignore[no-any-return]
