"""The registry of baselines (``compare --baselines gbdt,linear``), filled from one list.

Each entry names a baseline, the ``"module:attr"`` of its class and its one-line doc; the
module (and scikit-learn) is imported on the first :meth:`~manyheads._registry.Registry.get`.
The baselines are documented in :mod:`manyheads.baselines`.

Example:
    >>> list_baselines()
    ['gbdt', 'linear']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manyheads._registry import Registry

if TYPE_CHECKING:  # a type name only: importing it would import scikit-learn
    from manyheads.baselines._base import Baseline

__all__ = ["BASELINES", "list_baselines"]

BASELINES: Registry[Baseline] = Registry("baseline")
BASELINES.register_lazy(
    "gbdt",
    "manyheads.baselines._gbdt:GBDT",
    "scikit-learn HistGradientBoosting per task (500 iterations, early stopping)",
)
BASELINES.register_lazy(
    "linear",
    "manyheads.baselines._linear:Linear",
    "logistic / ridge regression per task on standardised, one-hot and TF-IDF features",
)


def list_baselines() -> list[str]:
    """Names of the registered baselines."""
    return BASELINES.names()
