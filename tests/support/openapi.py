"""Validate our responses against Stripe's own OpenAPI schemas.

`tests/data/stripe-openapi-subset.json` is a verbatim subset of Stripe's `openapi/spec3.json` (see
its `_source` block). It is OpenAPI 3.0, so each schema is converted to JSON Schema (Draft 7) once:

- `nullable: true` becomes "or null";
- `$ref: #/components/schemas/X` points at a converted definition of X;
- `x-*` vendor keys, `description` and `title` are dropped (they do not validate anything);
- every object schema that lists `properties` is closed (`additionalProperties: false`): Stripe's
  schemas list every field, so a field we invent is a contract bug. Schemas the subset marks as
  PRUNED (`x-subset-note`: `account`, `card`) stay open, since the real spec has more fields;
- refs to schemas outside the subset accept a string id
  or any object with a string `id` (which is all an expandable field needs) whose `object`, if
  given, names that schema; the `account_*` ones are embedded settings objects: any object will do.
  Outside means: listed in `_source.unresolved_refs_outside_subset` (the 2026 extract), or referenced
  by a schema added later from the 2024-04-10 spec (`x-payoutkit-source`), and in neither case a
  schema of the subset itself (the 2024 additions brought `charge`, `refund`… inside);
- `integer` means a JSON integer: 100.0 is not an amount (Draft 7 alone would accept it);
- formats are checked: `currency` is a lowercase ISO code, `unix-time` a non-negative integer.

`required` is kept as is, so a missing field fails too.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "stripe-openapi-subset.json"
REF_PREFIX = "#/components/schemas/"
DROPPED_KEYS = {"description", "title"}
# Keywords whose value is a schema, a list of schemas, or a name -> schema mapping.
SCHEMA_KEYWORDS = {"items", "additionalProperties", "not"}
SCHEMA_LIST_KEYWORDS = {"anyOf", "oneOf", "allOf"}

format_checker = FormatChecker()


def _is_integer(checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft7Validator,
    type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def outside_schema(name: str) -> dict[str, Any]:
    """What a ref to a schema outside the subset accepts (see the module docstring)."""
    if name.startswith("account_"):  # account settings and requirement errors: no id
        return {"type": "object"}
    resource = name.removeprefix("deleted_")
    return {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "object": {"const": resource}},
            },
        ]
    }


def _is_currency(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[a-z]{3}", value) is not None


def _is_unix_time(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return True  # the `type` keyword reports non-integers
    return value >= 0


format_checker.checks("currency")(_is_currency)
format_checker.checks("unix-time")(_is_unix_time)


@functools.cache
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return spec


def schema_names() -> list[str]:
    return sorted(load_spec()["components"]["schemas"])


@functools.cache
def outside_names() -> frozenset[str]:
    """The schemas referenced but not held by the subset (see the module docstring)."""
    spec = load_spec()
    schemas: dict[str, Any] = spec["components"]["schemas"]
    listed = set(spec["_source"]["unresolved_refs_outside_subset"])
    added = [schema for schema in schemas.values() if "x-payoutkit-source" in schema]
    referenced = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(added)))
    return frozenset((listed | referenced) - set(schemas))


@functools.cache
def _definitions() -> dict[str, Any]:
    spec = load_spec()
    schemas: dict[str, Any] = spec["components"]["schemas"]
    outside = outside_names()
    definitions = {
        name: to_json_schema(schema, known=set(schemas), outside=outside, pruned=_is_pruned(schema))
        for name, schema in schemas.items()
    }
    for name in outside:
        definitions[name] = outside_schema(name)
    StrictValidator.check_schema({"definitions": definitions})  # once: the conversion is sound
    return definitions


def _is_pruned(schema: Mapping[str, Any]) -> bool:
    return str(schema.get("x-subset-note", "")).startswith("PRUNED")


def to_json_schema(node: Any, *, known: set[str], outside: set[str], pruned: bool = False) -> Any:
    """Convert one OpenAPI 3.0 schema node to JSON Schema Draft 7 (see the module docstring).

    `pruned` applies to this node only, not to nested objects (those are verbatim in the subset).
    """
    if isinstance(node, bool) or not isinstance(node, Mapping):
        return node

    def convert(child: Any) -> Any:
        return to_json_schema(child, known=known, outside=outside)

    if "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith(REF_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r}")
        name = ref.removeprefix(REF_PREFIX)
        if name not in known and name not in outside:
            raise ValueError(f"$ref to {name!r}: neither in the subset nor listed as outside it")
        return {"$ref": f"#/definitions/{name}"}

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-") or key in DROPPED_KEYS or key == "nullable":
            continue
        if key == "properties":
            out[key] = {prop: convert(sub) for prop, sub in value.items()}
        elif key in SCHEMA_KEYWORDS:
            out[key] = convert(value)
        elif key in SCHEMA_LIST_KEYWORDS:
            out[key] = [convert(sub) for sub in value]
        else:
            out[key] = value

    if "properties" in out and "additionalProperties" not in out and not pruned:
        out["additionalProperties"] = False

    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:  # anyOf / oneOf wrappers carry `nullable` beside them
            out = {"anyOf": [{"type": "null"}, out]}
    return out


@functools.cache
def _validator_for(schema_name: str) -> Any:
    definitions = _definitions()
    if schema_name not in load_spec()["components"]["schemas"]:
        known = ", ".join(schema_names())
        raise KeyError(f"no schema {schema_name!r} in the subset; known: {known}")
    return _validator({"$ref": f"#/definitions/{schema_name}"}, definitions)


@functools.cache
def _validator_for_response(method: str, path: str, status: str) -> Any:
    spec = load_spec()
    try:
        operation = spec["paths"][path][method.lower()]
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
    except KeyError:
        raise KeyError(f"no {status} response for {method.upper()} {path} in the subset") from None
    schemas = spec["components"]["schemas"]
    outside = set(outside_names())
    converted = to_json_schema(schema, known=set(schemas), outside=outside)
    return _validator(converted, _definitions())


def _validator(root: dict[str, Any], definitions: dict[str, Any]) -> Any:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": definitions,
        "allOf": [root],
    }
    return StrictValidator(schema, format_checker=format_checker)


def schema_errors(obj: object, schema_name: str) -> list[str]:
    """Every way `obj` breaks `components.schemas[schema_name]`, one readable line each."""
    return _describe(_validator_for(schema_name), obj)


def assert_matches_schema(obj: object, schema_name: str) -> None:
    """Assert that a JSON object returned by our server matches Stripe's schema of that name."""
    errors = schema_errors(obj, schema_name)
    if errors:
        raise AssertionError(
            f"response does not match Stripe's `{schema_name}` schema:\n  " + "\n  ".join(errors)
        )


def assert_matches_response(obj: object, method: str, path: str, status: str = "200") -> None:
    """Assert `obj` matches the documented response of an operation, e.g. a list envelope:
    `assert_matches_response(body, "GET", "/v1/payouts")`; `status="default"` is the error envelope.
    """
    errors = _describe(_validator_for_response(method, path, status), obj)
    if errors:
        raise AssertionError(
            f"response does not match Stripe's {method.upper()} {path} {status} response:\n  "
            + "\n  ".join(errors)
        )


def _describe(validator: Any, obj: object) -> list[str]:
    errors = [leaf for error in validator.iter_errors(obj) for leaf in _explain(error)[0]]
    errors.sort(key=lambda e: [str(part) for part in e.absolute_path])
    return [_line(error) for error in errors]


def _explain(error: ValidationError) -> tuple[list[ValidationError], tuple[object, ...] | None]:
    """The errors worth reporting for `error`, and the path of the value it says is the wrong kind of
    thing altogether (a `type` mismatch, or an `object` name that is not the schema's), if any.

    For an anyOf (an expandable field, a nullable object) only the branch meant is reported: branches
    whose type or `object` name does not match the value are not meant; of the rest, the one with the
    fewest errors is. If no branch is left, the anyOf error itself is the answer.
    """
    here = tuple(error.absolute_path)
    if not error.context:
        if error.validator == "type":
            return [error], here
        if error.validator in {"enum", "const"} and here and here[-1] == "object":
            return [error], here[:-1]
        return [error], None
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    candidates = []
    for subs in branches.values():
        explained = [_explain(sub) for sub in subs]
        if all(wrong_kind != here for _, wrong_kind in explained):
            candidates.append([leaf for leaves, _ in explained for leaf in leaves])
    if not candidates:
        return [error], here
    return min(candidates, key=len), None


def _line(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        return f"{error.json_path}: {error.message} (not a field of Stripe's schema)"
    return f"{error.json_path}: {error.message}"


__all__ = [
    "assert_matches_response",
    "assert_matches_schema",
    "load_spec",
    "schema_errors",
    "schema_names",
    "to_json_schema",
]
