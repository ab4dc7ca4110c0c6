"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from payoutkit.runtime import Runtime, open_runtime


@pytest.fixture
def runtime(base_settings: Any) -> Iterator[Runtime]:
    """A runtime on a fresh database of each store (`base_settings` is parametrized over both)."""
    rt, _ = open_runtime(base_settings)
    try:
        yield rt
    finally:
        rt.db.dispose()
