"""Typed reading of a config section: values checked against the schema's own type hints."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any

import pytest

from manyheads.config._fields import matches, typed_fields
from manyheads.config.schema import DataConfig, SourceConfig


@pytest.mark.parametrize(
    ("value", "hint", "expected"),
    [
        (3, float, True),  # an int is a float
        (True, int, False),  # a bool is not a number
        (True, float, False),
        (None, str | None, True),
        ("a", str | None, True),
        (1, str | None, False),
        ([8, 4], Sequence[int], True),
        ((8, 4), Sequence[int] | None, True),
        ("ab", Sequence[str], False),  # a string is not a list of names
        ({"a": 1}, dict[str, Any], True),
        ([1], dict[str, Any], False),
        (object(), Any, True),
    ],
)
def test_a_yaml_value_matches_a_type_hint(value: object, hint: object, expected: bool) -> None:
    assert matches(value, hint) is expected


def test_every_schema_field_has_a_hint_that_the_checker_reads() -> None:
    for cls in (DataConfig, SourceConfig):
        hints = typing.get_type_hints(cls)
        assert set(hints) == set(cls.__dataclass_fields__)


def test_a_wrong_type_is_named_with_its_annotation_and_left_out() -> None:
    problems: list[str] = []
    values = typed_fields(
        {"valid_fraction": "x", "train": "t.csv", "sources": 3},
        DataConfig,
        "data.",
        problems,
        own=frozenset({"sources"}),
    )
    assert values == {"train": "t.csv"}  # 'sources' is read by its own builder
    assert problems == ["'data.valid_fraction' must be of type float; got 'x' (str)."]
