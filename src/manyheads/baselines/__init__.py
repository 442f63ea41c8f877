"""Baselines a multi-task model must beat: one scikit-learn model per task, on the same splits.

``gbdt`` (HistGradientBoosting, the model a tabular user would pick instead) and ``linear``
(logistic / ridge regression) learn each task on the training rows that label it and are
scored by the task type's own metric code, so their numbers sit beside ``stl`` and the
multi-task variants of ``compare`` (issue 17 §2). The registry is filled in
:mod:`manyheads.baselines._registry`; each baseline's module documents its setting.

Example:
    >>> list_baselines()
    ['gbdt', 'linear']
"""

from manyheads.baselines._base import Baseline, Classifier, Regressor
from manyheads.baselines._fit import BaselineResult, TaskScores, fit_baselines
from manyheads.baselines._registry import BASELINES, list_baselines

__all__ = [
    "BASELINES",
    "Baseline",
    "BaselineResult",
    "Classifier",
    "Regressor",
    "TaskScores",
    "fit_baselines",
    "list_baselines",
]
