"""Parameter models: Pydantic validates decoded forms, and its errors become Stripe's.

Every model forbids unknown parameters. Empty strings mean "unset" and arrive as `None`, except inside
`metadata`, where `metadata[key]=` deletes that key and so keeps its `""`.

Form values are strings, and Pydantic's lax parsing of them is not Stripe's: it takes `1_000`, `+100`,
` 100 `, `100.0` and `yes` and integers of any size. So numbers, booleans and countries are read by the
form types below (`Int`, `Bool`, `DecimalString`, `Country`), and a model that declares a bare `int`,
`bool`, `float` or `Decimal` anywhere in a field fails at import: a new parameter cannot forget.

A refusal names the parameter as the client sent it (`created[gte]`, never Pydantic's `created[int]`):
the error's location is walked through the submitted data and every step that is not in it (the name
Pydantic gives a union member) is dropped.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from payoutkit.errors import InvalidRequest
from payoutkit.metadata import merge as merge_metadata

# Integers are stored in 64-bit columns: anything wider is not an integer Payoutkit can take.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,12})?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def _form_int(value: Any) -> int:
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_MAX:
        return value
    raise PydanticCustomError("int_parsing", "Invalid integer")


def _form_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_parsing", "Invalid boolean")


def _form_decimal(value: Any) -> Decimal:
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return Decimal(value)
    raise PydanticCustomError("decimal_parsing", "Invalid decimal")


def _form_country(value: Any) -> str:
    if isinstance(value, str) and _COUNTRY.fullmatch(value):
        return value.upper()
    raise PydanticCustomError("country_unsupported", "Invalid country")


_INT = BeforeValidator(_form_int)
_BOOL = BeforeValidator(_form_bool)
_DEC = BeforeValidator(_form_decimal)
_FORM_VALIDATORS = (_INT, _BOOL, _DEC)

# An integer as Stripe reads one: ASCII digits with an optional minus, within 64 bits.
Int = Annotated[int, _INT]
# `true` or `false`, nothing else.
Bool = Annotated[bool, _BOOL]
# A plain decimal number: digits, an optional point and fraction (no exponent, sign `+`, NaN or Infinity).
DecimalString = Annotated[Decimal, _DEC]
# An ISO 3166-1 alpha-2 code (two ASCII letters), uppercased.
Country = Annotated[str, BeforeValidator(_form_country)]

_BARE = (int, bool, float, Decimal)


def _bare_types(annotation: Any, metadata: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
    """The scalar types in `annotation` that Pydantic would parse leniently (not a form type)."""
    if isinstance(annotation, type) and annotation in _BARE:
        return [] if any(m in _FORM_VALIDATORS for m in metadata) else [annotation]
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        return _bare_types(base, meta)
    if get_origin(annotation) is Literal:
        return []
    return [bare for arg in get_args(annotation) for bare in _bare_types(arg)]


class _FormModel(BaseModel):
    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            bare = _bare_types(field.annotation, field.metadata)
            if bare:
                raise TypeError(
                    f"{cls.__name__}.{name}: form parameters use Int, Bool or DecimalString from "
                    f"payoutkit.api.params, not {', '.join(t.__name__ for t in bare)}"
                )


def _unset_empty(value: Any, *, keep: bool = False) -> Any:
    if isinstance(value, dict):
        return {k: _unset_empty(v, keep=keep or k == "metadata") for k, v in value.items()}
    if isinstance(value, list):
        return [_unset_empty(v, keep=keep) for v in value]
    if value == "" and not keep:
        return None
    return value


class Params(_FormModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=5000)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, data: Any) -> Any:
        return _unset_empty(data)


class Nested(_FormModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=5000)


def param_name(loc: tuple[int | str, ...]) -> str:
    head, *rest = [str(p) for p in loc] or [""]
    return head + "".join(f"[{p}]" for p in rest)


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 100 else text[:100] + "…"


def _message(err: Any, param: str) -> tuple[str, str | None]:
    kind, value = err["type"], err.get("input")
    if kind == "missing" or value is None:
        return f"Missing required param: {param}.", "parameter_missing"
    if kind == "extra_forbidden":
        return f"Received unknown parameter: {param}", "parameter_unknown"
    if kind.startswith("int"):
        return f"Invalid integer: {_shown(value)}", "parameter_invalid_integer"
    if kind.startswith("bool"):
        return f"Invalid boolean: {_shown(value)}", "parameter_invalid_string"
    if kind.startswith("decimal"):
        return f"Invalid decimal: {_shown(value)}", "parameter_invalid_string"
    if kind == "country_unsupported":
        return f"Country '{_shown(value)}' is unknown or not supported.", "country_unsupported"
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


def _has(node: Any, part: int | str) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def sent_loc(loc: tuple[int | str, ...], data: Any, *, missing: bool = False) -> tuple[int | str, ...]:
    """The part of an error's location that the client sent: each step must be a key (or index) of
    the submitted data at that depth; any other step is Pydantic's name for a union member
    (`int`, `Range`, `function-before[...]`, `[key]`) and is dropped. A missing parameter keeps its
    last step, the name that was not sent."""
    kept: list[int | str] = []
    node = data
    for i, part in enumerate(loc):
        if _has(node, part):
            node = node[part]
        elif not (missing and i == len(loc) - 1):
            continue
        kept.append(part)
    return tuple(kept)


def parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        located = [(sent_loc(e["loc"], data, missing=e["type"] == "missing"), e) for e in errors]
        # A union reports an error per member: the one that got furthest into what was sent is the
        # one the client meant (`created[gte]=x` is a Range with a bad `gte`, not a bad integer), and
        # at equal depth a member of the right shape beats one of the wrong type (`string_type`).
        loc, err = max(located, key=lambda pair: (len(pair[0]), not pair[1]["type"].endswith("_type")))
        if err["type"].startswith("union_tag_"):  # a tagged hash (`external_account[object]`)
            loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
            if err["type"] == "union_tag_not_found":
                err = {**err, "type": "missing"}
            else:
                err = {**err, "type": "literal_error", "ctx": {"expected": err["ctx"]["expected_tags"]}}
        param = param_name(loc)
        message, code = _message(err, param)
        raise InvalidRequest(message, param=param, code=code) from None


class Empty(Params):
    """An endpoint that takes no parameters (besides `expand`)."""


def metadata_update(current: dict[str, str], changes: Metadata) -> dict[str, str]:
    """Stripe's metadata update rules on the wire's decoded `metadata` (`payoutkit.metadata.merge`)."""
    return merge_metadata(current, changes)
