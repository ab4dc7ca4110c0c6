"""Parameter models: Pydantic validates decoded forms, and its errors become Stripe's.

Every model forbids unknown parameters. Empty strings mean "unset" and arrive as `None`, except inside
`metadata`, where `metadata[key]=` deletes that key and so keeps its `""`.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from payoutkit.api.errors import InvalidRequest


def _unset_empty(value: Any, *, keep: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _unset_empty(v, keep=keep or k == "metadata") for k, v in value.items()}
    if isinstance(value, list):
        return [_unset_empty(v, keep=keep) for v in value]
    if value == "" and not keep:
        return None
    return value


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=5000)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        return _unset_empty(data)


class Nested(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=5000)


def param_name(loc: tuple[int | str, ...]) -> str:
    head, *rest = [str(p) for p in loc] or [""]
    return head + "".join(f"[{p}]" for p in rest)


def _message(err: Any, param: str) -> tuple[str, str]:
    kind, value = err["type"], err.get("input")
    if kind == "missing" or value is None:
        return f"Missing required param: {param}.", "parameter_missing"
    if kind == "extra_forbidden":
        return f"Received unknown parameter: {param}", "parameter_unknown"
    if kind.startswith("int"):
        return f"Invalid integer: {value}", "parameter_invalid_integer"
    if kind.startswith("bool"):
        return f"Invalid boolean: {value}", "parameter_invalid_string"
    if kind in {"literal_error", "enum"}:
        expected = err.get("ctx", {}).get("expected", "")
        return f"Invalid {param}: must be one of {expected}", "parameter_invalid_string"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"Invalid hash: {param} must be a hash of parameters", "parameter_invalid_string"
    if kind in {"list_type"}:
        return f"Invalid array: {param} must be an array", "parameter_invalid_string"
    if kind.startswith("string"):
        return f"Invalid string: {param}: {err['msg']}", "parameter_invalid_string"
    return f"Invalid {param}: {err['msg']}", "parameter_invalid"


M = TypeVar("M", bound=BaseModel)

# `metadata[k]=v` sets, `metadata[k]=` deletes a key, `metadata=` clears them all.
Metadata = dict[str, str] | Literal[""] | None


def _is_union_tag(part: int | str) -> bool:
    """Pydantic names the union member an error came from (`dict[str,str]`, `BankAccountParams`)."""
    if isinstance(part, int):
        return False
    type_like = any(c in part for c in "[('") or part.startswith("function-")
    return type_like or (part[:1].isupper() and "_" not in part)


def parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
        param = param_name(loc)
        message, code = _message(err, param)
        raise InvalidRequest(message, param=param, code=code) from None


class Empty(Params):
    """An endpoint that takes no parameters (besides `expand`)."""


def metadata_update(current: dict[str, str], changes: Metadata) -> dict[str, str]:
    """Apply Stripe's metadata update rules: `metadata=` clears, `metadata[k]=` deletes `k`."""
    if changes is None:
        return current
    if changes == "" or changes == {}:
        return {}
    if not isinstance(changes, dict):
        raise InvalidRequest("Invalid hash: metadata", param="metadata")
    merged = dict(current)
    for key, value in changes.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise InvalidRequest("Metadata can have at most 50 keys.", param="metadata")
    for key, value in merged.items():
        if len(key) > 40:
            raise InvalidRequest(f"Metadata keys are at most 40 characters: {key}", param=f"metadata[{key}]")
        if len(value) > 500:
            raise InvalidRequest("Metadata values are at most 500 characters.", param=f"metadata[{key}]")
    return merged
