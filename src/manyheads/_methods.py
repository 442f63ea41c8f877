"""The balancing methods: :func:`create_method` and :func:`list_methods` over the registry
filled in :mod:`manyheads._catalogue` (``manyheads ls methods``).

A balancing method is a loss weighting (:class:`~manyheads.weighting.Weighting`) or a gradient
aggregator (:class:`~manyheads.aggregation.Aggregator`), chosen by one switch, ``train.method``;
options come from ``train.method_options``. The option ``rep_grad: true`` runs an aggregator on the
gradients at the shared features (one encoder backward) instead of the shared parameters; a
method that does not support it is refused. The methods and their papers are listed in each
class's docstring and in ``docs/benchmarks.md``. The deprecated names of the two functions,
``create_weighting`` and ``list_weightings``, are in :mod:`manyheads.weighting._deprecated`.
"""

from __future__ import annotations

import inspect
from typing import Any

from manyheads._catalogue import METHODS
from manyheads._registry import did_you_mean
from manyheads.aggregation.base import Aggregator
from manyheads.errors import InvalidParameterError
from manyheads.weighting.base import Weighting

__all__ = ["METHODS", "Method", "create_method", "list_methods"]

Method = Weighting | Aggregator


def _check_options(name: str, options: dict[str, Any]) -> None:
    params = inspect.signature(METHODS.get(name)).parameters
    valid = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    valid.append("rep_grad")
    for key in options:
        if key not in valid:
            raise InvalidParameterError(
                f"Unknown option '{key}' for method '{name}'. Valid options: "
                f"{', '.join(valid)}.{did_you_mean(key, valid)}"
            )


def create_method(name: str, n_tasks: int, /, **options: Any) -> Method:  # noqa: ANN401 - each method's own options, checked by its class
    """Build the balancing method ``name`` for ``n_tasks`` tasks.

    Raises:
        InvalidParameterError: an unknown name or option, or ``rep_grad`` for a method that
            does not support it.

    Example:
        >>> create_method("ew", 2)
        EW()
        >>> create_method("mgda", 3, rep_grad=True).rep_grad
        True
    """
    _check_options(name, options)
    rep_grad = options.pop("rep_grad", False)
    method = METHODS.create(name, n_tasks, **options)
    if rep_grad is not False:
        if not isinstance(method, Aggregator):
            raise InvalidParameterError(
                f"The 'rep_grad' option does not apply to method '{name}': it weights the "
                "losses, and rep_grad only changes where gradient aggregators read gradients. "
                f"Remove it, or use one of: {', '.join(_rep_grad_names())}."
            )
        if isinstance(rep_grad, bool) and rep_grad and not method.supports_rep_grad:
            raise InvalidParameterError(
                f"The method '{name}' does not support rep_grad=True: it needs the gradients "
                "of the shared parameters. Remove 'rep_grad', or use one of: "
                f"{', '.join(_rep_grad_names())}."
            )
        method.rep_grad = rep_grad
    return method


def _rep_grad_names() -> list[str]:
    factories = {n: METHODS.get(n) for n in METHODS}
    return [
        n
        for n, factory in factories.items()
        if isinstance(factory, type)
        and issubclass(factory, Aggregator)
        and factory.supports_rep_grad
    ]


def list_methods() -> list[str]:
    """Names of every balancing method: the loss weightings, then the gradient aggregators.

    Example:
        >>> list_methods()[:3]
        ['ew', 'static', 'uw']
    """
    return METHODS.names()
