"""``create_weighting`` and ``list_weightings``: the names of :func:`~manyheads.create_method` and
:func:`~manyheads.list_methods` before 0.2, kept for one release with a ``FutureWarning``.

They import :mod:`manyheads._methods` when called: that module imports this package's base
class, so importing it here at the top would be circular.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manyheads._methods import Method

__all__ = ["create_weighting", "list_weightings"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"'{old}' is deprecated and will be removed in 0.3: use '{new}'.",
        FutureWarning,
        stacklevel=3,
    )


def create_weighting(name: str, n_tasks: int, /, **options: Any) -> Method:  # noqa: ANN401 - each method's own options, checked by its class
    """Deprecated since 0.2 (removed in 0.3): the old name of :func:`~manyheads.create_method`."""
    from manyheads._methods import create_method

    _deprecated("create_weighting", "create_method")
    return create_method(name, n_tasks, **options)


def list_weightings() -> list[str]:
    """Deprecated since 0.2 (removed in 0.3): the old name of :func:`~manyheads.list_methods`."""
    from manyheads._methods import list_methods

    _deprecated("list_weightings", "list_methods")
    return list_methods()
