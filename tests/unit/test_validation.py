"""The declared constraints, the one check function and its message template."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from manyheads._validation import (
    COUNT,
    RATE,
    WIDTHS,
    Boolean,
    Constraints,
    InstanceOf,
    Interval,
    Options,
    SequenceOf,
    StrOptions,
    Text,
    ValidatesParams,
    describe,
    option_message,
    validate_params,
)
from manyheads.errors import InvalidParameterError


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        (COUNT, [1, 7], [0, -1, 1.0, True, "1", None]),
        (RATE, [0, 0.0, 0.5, 0.999], [1, 1.0, -0.1, math.nan, False, "0.1"]),
        (Interval(float, 0, None, closed="neither"), [1e-9, 3], [0, -1, math.inf, math.nan]),
        (Interval(int, 1, 8, closed="both"), [1, 8], [0, 9, 2.0]),
        (Interval(int, None, None, closed="neither"), [-3, 0, 2**40], [1.5, "1", True]),
        (Boolean(), [True, False], [0, 1, "true", None]),
        (Text(), ["a"], ["", 3, None]),
        (StrOptions(("sum", "mean")), ["sum", "mean"], ["avg", 1, None]),
        (Options((408, 429)), [408], [407, 408.0, "408", True]),
        (InstanceOf(dict), [{}], [[], "x"]),
        (InstanceOf(os.PathLike), [Path("x")], ["x"]),
        (InstanceOf(Callable), [len, lambda: 0], [3]),
        (WIDTHS, [[], (4,), [8, 2]], [[0], "84", 8, [1.5], None]),
        (SequenceOf(Text(), non_empty=True), [["a"]], [[], [""], "a"]),
    ],
)
def test_constraints_accept_and_refuse(
    constraint: object, good: list[object], bad: list[object]
) -> None:
    check = constraint.is_satisfied_by  # type: ignore[attr-defined]
    assert all(check(v) for v in good), [v for v in good if not check(v)]
    assert not any(check(v) for v in bad), [v for v in bad if check(v)]


@pytest.mark.parametrize(
    "constraint",
    [COUNT, RATE, WIDTHS, Boolean(), Text(), StrOptions(("a", "b")), InstanceOf(dict)],
)
def test_invalid_values_break_the_constraint(constraint: object) -> None:
    values = constraint.invalid_values()  # type: ignore[attr-defined]
    assert values
    assert not any(constraint.is_satisfied_by(v) for v in values)  # type: ignore[attr-defined]


def test_descriptions() -> None:
    assert str(Interval(float, 0, 1, closed="right")) == "a float in (0, 1]"
    assert str(Interval(int, None, 5, closed="neither")) == "an int < 5"
    assert str(SequenceOf(COUNT, non_empty=True, example="[3, 4]")) == (
        "a non-empty list, each item an int >= 1, e.g. [3, 4]"
    )
    assert describe([COUNT]) == "an int >= 1"
    assert describe([Text(), InstanceOf(os.PathLike), None]) == (
        "a non-empty string, a PathLike or None"
    )


def test_the_message_names_owner_option_value_expected_and_fix() -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_params(
            "AlignedMTL", {"scale_mode": [StrOptions(("min", "median"))]}, {"scale_mode": "mediam"}
        )
    assert str(info.value) == (
        "The 'scale_mode' option of AlignedMTL must be one of min, median. Got 'mediam' "
        "instead. Did you mean 'median'?"
    )
    assert option_message("X", "y", "an int", 1.5, "  Round it.  ") == (
        "The 'y' option of X must be an int. Got 1.5 instead. Round it."
    )


def test_every_problem_is_collected_and_missing_options_are_skipped() -> None:
    constraints = {"a": [COUNT], "b": [RATE, None], "c": [Boolean()]}
    problems: list[str] = []
    validate_params("the crawl config", constraints, {"a": 0, "b": None, "c": 1}, problems=problems)
    assert problems == [
        "The 'a' option of the crawl config must be an int >= 1. Got 0 instead.",
        "The 'c' option of the crawl config must be true or false. Got 1 instead.",
    ]
    validate_params("X", constraints, {"b": 0.5, "unrelated": object()})  # nothing to refuse


class _Base(ValidatesParams):
    _parameter_constraints: ClassVar[Constraints] = {"n": [COUNT]}

    def __init__(self, n: int) -> None:
        self.calls = ["base"]
        self.n = n


class _Child(_Base):
    _parameter_constraints: ClassVar[Constraints] = {"n": [COUNT], "rate": [RATE]}

    def __init__(self, n: int, *, rate: float = 0.5) -> None:
        super().__init__(n)
        self.calls.append("child")
        self.rate = rate


class _Named(_Child):
    _params_owner: ClassVar[str | None] = "the 'named' thing"


def test_the_base_checks_the_outermost_init_before_its_body() -> None:
    with pytest.raises(InvalidParameterError, match=r"^The 'rate' option of _Child must be"):
        _Child(2, rate=1.5)
    with pytest.raises(InvalidParameterError, match=r"^The 'n' option of _Base must be"):
        _Base(0)
    # an inherited __init__ checks the subclass's constraints, under its owner name
    with pytest.raises(InvalidParameterError, match=r"^The 'n' option of the 'named' thing"):
        _Named(0)
    assert _Child(2).calls == ["base", "child"]


def test_a_bad_call_raises_pythons_own_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'speed'"):
        _Child(2, speed=1)  # type: ignore[call-arg]
