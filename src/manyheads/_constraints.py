"""The constraint forms an option's value may take (declared by each class, checked by
:func:`manyheads._validation.validate_params`, which re-exports them).

Each form tests a value, describes itself as the end of "must be ..." and yields values that
break it, for the contract test (the design of scikit-learn's ``_param_validation``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from numbers import Integral, Real
from typing import Literal

from manyheads._registry import did_you_mean

__all__ = [
    "Boolean",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "SequenceOf",
    "StrOptions",
    "Text",
]


class Constraint(ABC):
    """One allowed form of a value: a test, a description, and values that break it."""

    @abstractmethod
    def is_satisfied_by(self, value: object) -> bool:
        """Whether ``value`` has this form."""

    @abstractmethod
    def __str__(self) -> str:
        """What the form is, as the end of "must be ...": ``an int >= 1``."""

    @abstractmethod
    def invalid_values(self) -> tuple[object, ...]:
        """Values that break this constraint (for the contract test, as scikit-learn's
        ``generate_invalid_param_val``)."""

    def fix(self, value: object) -> str:
        """How to fix ``value``, beyond the description (a closest valid name); "" if nothing."""
        del value
        return ""


def _is_number(value: object, kind: type[int] | type[float]) -> bool:
    wanted = Integral if kind is int else Real
    return isinstance(value, wanted) and not isinstance(value, bool)


class Interval(Constraint):
    """An int or float between two bounds; ``None`` is an unbounded side (infinity refused).

    Args:
        kind: ``int`` (integers only) or ``float`` (any real number but a bool).
        low: the lower bound, or None.
        high: the upper bound, or None.
        closed: which bounds belong to the interval: ``left``, ``right``, ``both``, ``neither``.

    Example:
        >>> rate = Interval(float, 0, 1, closed="left")
        >>> str(rate), rate.is_satisfied_by(0), rate.is_satisfied_by(1.0)
        ('a float in [0, 1)', True, False)
        >>> str(Interval(int, 1, None, closed="left"))
        'an int >= 1'
    """

    def __init__(
        self,
        kind: type[int] | type[float],
        low: float | None,
        high: float | None,
        *,
        closed: Literal["left", "right", "both", "neither"],
    ) -> None:
        self.kind = kind
        self.low = low
        self.high = high
        self.closed = closed

    def _closed(self, side: Literal["left", "right"]) -> bool:
        return self.closed in (side, "both")

    def is_satisfied_by(self, value: object) -> bool:
        if not _is_number(value, self.kind):
            return False
        number = float(value)  # type: ignore[arg-type]  # a Real, checked above
        if not math.isfinite(number):
            return False
        if self.low is not None and not (
            number >= self.low if self._closed("left") else number > self.low
        ):
            return False
        return self.high is None or (
            number <= self.high if self._closed("right") else number < self.high
        )

    def __str__(self) -> str:
        what = "an int" if self.kind is int else "a float"
        low, high = _bound(self.low), _bound(self.high)
        if self.low is not None and self.high is not None:
            left = "[" if self._closed("left") else "("
            right = "]" if self._closed("right") else ")"
            return f"{what} in {left}{low}, {high}{right}"
        if self.low is not None:
            return f"{what} {'>=' if self._closed('left') else '>'} {low}"
        if self.high is not None:
            return f"{what} {'<=' if self._closed('right') else '<'} {high}"
        return what

    def invalid_values(self) -> tuple[object, ...]:
        step = 1 if self.kind is int else 0.5
        out: list[object] = ["1" if self.kind is float else 1.5]
        if self.low is not None:
            out.append(self.low - step if self._closed("left") else self.low)
        if self.high is not None:
            out.append(self.high + step if self._closed("right") else self.high)
        return tuple(out)


def _bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class Options(Constraint):
    """One of a fixed set of values.

    Example:
        >>> str(Options((408, 429)))
        'one of 408, 429'
    """

    def __init__(self, values: Collection[object]) -> None:
        self.values = tuple(values)

    def is_satisfied_by(self, value: object) -> bool:
        return not isinstance(value, bool) and any(
            value == v and type(value) is type(v) for v in self.values
        )

    def __str__(self) -> str:
        return "one of " + ", ".join(str(v) for v in self.values)

    def invalid_values(self) -> tuple[object, ...]:
        return ("not-an-option",)


class StrOptions(Options):
    """One of a fixed set of strings; a near miss gets "Did you mean ...?".

    Example:
        >>> norm = StrOptions(("none", "batch", "layer"))
        >>> str(norm), norm.fix("layr")
        ('one of none, batch, layer', "Did you mean 'layer'?")
    """

    def __init__(self, values: Collection[str]) -> None:
        super().__init__(values)

    def fix(self, value: object) -> str:
        return did_you_mean(str(value), [str(v) for v in self.values]).strip()


class Boolean(Constraint):
    """``True`` or ``False`` (not 0, 1 or a string).

    Example:
        >>> Boolean().is_satisfied_by(1), str(Boolean())
        (False, 'true or false')
    """

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, bool)

    def __str__(self) -> str:
        return "true or false"

    def invalid_values(self) -> tuple[object, ...]:
        return ("yes",)


class Text(Constraint):
    """A non-empty string (a column name, a path, a URL).

    Args:
        description: how messages name it (default: "a non-empty string").

    Example:
        >>> Text().is_satisfied_by(""), str(Text()), str(Text("a directory path"))
        (False, 'a non-empty string', 'a directory path')
    """

    def __init__(self, description: str = "a non-empty string") -> None:
        self.description = description

    def is_satisfied_by(self, value: object) -> bool:
        return isinstance(value, str) and value != ""

    def __str__(self) -> str:
        return self.description

    def invalid_values(self) -> tuple[object, ...]:
        return ("", 3)


class InstanceOf(Constraint):
    """An instance of a type (``dict``, ``os.PathLike``) or, with ``Callable``, any callable.

    Args:
        kind: the type.
        description: how messages name it (default: "a <type name>").

    Example:
        >>> str(InstanceOf(dict)), InstanceOf(Callable).is_satisfied_by(len)
        ('a dict', True)
        >>> str(InstanceOf(dict, "a mapping of task -> type"))
        'a mapping of task -> type'
    """

    def __init__(self, kind: type | object, description: str = "") -> None:
        self.kind = kind
        self.description = description

    def is_satisfied_by(self, value: object) -> bool:
        if self.kind is Callable:
            return callable(value)
        return isinstance(self.kind, type) and isinstance(value, self.kind)

    def __str__(self) -> str:
        if self.description:
            return self.description
        if self.kind is Callable:
            return "a callable"
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"

    def invalid_values(self) -> tuple[object, ...]:
        return ("not-an-instance",) if self.kind is not str else (3,)


class SequenceOf(Constraint):
    """A list or tuple (not a string) whose items each satisfy ``item``.

    Args:
        item: the constraint on every item.
        non_empty: refuse an empty sequence.
        example: a valid value, shown in the message (``[3, 4, 5]``).

    Example:
        >>> widths = SequenceOf(Interval(int, 1, None, closed="left"), non_empty=True)
        >>> str(widths), widths.is_satisfied_by([3, 4]), widths.is_satisfied_by("34")
        ('a non-empty list, each item an int >= 1', True, False)
    """

    def __init__(self, item: Constraint, *, non_empty: bool = False, example: str = "") -> None:
        self.item = item
        self.non_empty = non_empty
        self.example = example

    def is_satisfied_by(self, value: object) -> bool:
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            return False
        if self.non_empty and len(value) == 0:
            return False
        return all(self.item.is_satisfied_by(v) for v in value)

    def __str__(self) -> str:
        kind = "a non-empty list" if self.non_empty else "a list"
        example = f", e.g. {self.example}" if self.example else ""
        return f"{kind}, each item {self.item}{example}"

    def invalid_values(self) -> tuple[object, ...]:
        bad_items = [[v] for v in self.item.invalid_values()]
        return ("not-a-list", *bad_items, *([[]] if self.non_empty else []))
