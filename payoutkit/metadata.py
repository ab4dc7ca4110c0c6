"""Metadata, in every layer: Stripe's rule for updating an object's `metadata`, in one place.

An update is merged into the current metadata: `metadata[k]=v` sets `k`, `metadata[k]=` (an empty
string) deletes it, and `metadata=` (an empty string for the whole hash) clears them all. The wire
decodes the form into a `MetadataChange` (`api/params.py`); a use case merges it into what its record
has with `merge`.
"""

from __future__ import annotations

from collections.abc import Mapping

from payoutkit.errors import InvalidRequest

# None: unchanged; "" (or {}): cleared; a mapping: merged (an empty value deletes its key).
MetadataChange = Mapping[str, str] | str | None

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500


def merge(current: Mapping[str, str], change: MetadataChange) -> dict[str, str]:
    """The metadata once `change` is merged into `current` (which is left as it is), checked by
    Stripe's limits (50 keys, keys of at most 40 characters, values of at most 500)."""
    if change is None:
        return dict(current)
    if change == "" or change == {}:
        return {}
    if not isinstance(change, Mapping):
        raise InvalidRequest("Invalid hash: metadata", param="metadata")
    merged = dict(current)
    for key, value in change.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_KEYS:
        raise InvalidRequest(f"Metadata can have at most {MAX_KEYS} keys.", param="metadata")
    for key, value in merged.items():
        if len(key) > MAX_KEY_LENGTH:
            raise InvalidRequest(
                f"Metadata keys are at most {MAX_KEY_LENGTH} characters: {key}", param=f"metadata[{key}]"
            )
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidRequest(
                f"Metadata values are at most {MAX_VALUE_LENGTH} characters.", param=f"metadata[{key}]"
            )
    return merged
