"""Label mapping: copy a column, or map values to labels by conditions (unmatched -> missing)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, SupportsFloat, SupportsIndex

from manyheads.curation._config import LabelSpec

__all__ = ["map_label"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def _matches(value: object, op: str, target: object) -> bool:
    if isinstance(target, float):
        number = _number(value)
        return number is not None and number == number and _OPS[op](number, target)
    return _OPS[op](str(value), str(target))


def _number(value: object) -> float | None:
    """``float(value)``, or None when the value is not a number nor a string of one."""
    if not isinstance(value, str | bytes | bytearray | memoryview | SupportsFloat | SupportsIndex):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def map_label(spec: LabelSpec, value: object) -> str | None:
    """The label of one source value; ``None`` (missing) when no rule matches.

    Example:
        >>> from manyheads.curation._config import parse_build_config
        >>> spec = parse_build_config({"labels": {"s": {"from": "rating",
        ...     "map": {"positive": ">= 4", "negative": "<= 2"}}}}).labels[0]
        >>> [map_label(spec, r) for r in (5, 4, 3, 2, None)]
        ['positive', 'positive', None, 'negative', None]
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not spec.rules:
        text = str(value).strip()
        return text or None
    for label, (op, target) in spec.rules:
        if _matches(value, op, target):
            return label
    return spec.default
