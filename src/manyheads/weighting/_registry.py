"""The registry of balancing methods, filled from one explicit list (``manyheads ls weightings``).

It holds loss weightings (:class:`~manyheads.weighting.Weighting`) and gradient aggregators
(:class:`~manyheads.aggregation.Aggregator`) under one switch, ``train.weighting``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from manyheads._registry import Registry
from manyheads.aggregation.base import Aggregator
from manyheads.weighting._ew import EW
from manyheads.weighting._static import Static
from manyheads.weighting.base import Weighting

__all__ = ["WEIGHTINGS", "create_weighting", "list_weightings"]

Method = Weighting | Aggregator

WEIGHTINGS: Registry[Method] = Registry("weighting")
_ENTRIES: list[tuple[str, Callable[..., Method], str]] = [
    ("ew", EW, "equal weights: the plain sum of task losses"),
    ("static", Static, "fixed per-task weights from each task's 'weight'"),
]
for _name, _factory, _doc in _ENTRIES:
    WEIGHTINGS.register(_name, _factory, doc=_doc)


def create_weighting(name: str, n_tasks: int, /, **options: Any) -> Method:
    """Build the balancing method ``name`` for ``n_tasks`` tasks.

    Example:
        >>> create_weighting("ew", 2)
        EW()
    """
    return WEIGHTINGS.create(name, n_tasks, **options)


def list_weightings() -> list[str]:
    """Names of every loss weighting and gradient aggregator."""
    return WEIGHTINGS.names()
