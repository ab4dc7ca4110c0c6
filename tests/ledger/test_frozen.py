"""`made_whole` and `altered`: the same frozen records as `__init__` and `dataclasses.replace` make."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, replace

import pytest

from payoutkit.ledger.frozen import altered, made_whole


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default=())


def test_a_record_made_whole_is_the_one_init_makes() -> None:
    made = made_whole(Point, x=1, y=2, tags=("a",))
    assert made == Point(1, 2, ("a",))
    assert hash(made) == hash(Point(1, 2, ("a",)))
    assert repr(made) == repr(Point(1, 2, ("a",)))
    with pytest.raises(FrozenInstanceError):
        made.x = 3  # type: ignore[misc]


def test_an_altered_record_is_the_one_replace_makes_and_the_original_is_kept() -> None:
    p = Point(1, 2, ("a",))
    moved = altered(p, y=5)
    assert moved == replace(p, y=5)
    assert p == Point(1, 2, ("a",))
    assert type(moved) is Point
    with pytest.raises(FrozenInstanceError):
        moved.y = 6  # type: ignore[misc]


def test_only_fields_may_be_altered() -> None:
    with pytest.raises(TypeError, match="not fields of Point: \\['z'\\]"):
        altered(Point(1), z=2)
