"""How a baseline learns each task type, and how its predictions become the task's output.

The output is what the task type's ``score`` reads from a neural head, so that a baseline is
scored by the same code as the neural models: one logit per row (``binary``: the model's
log-odds), one score per class (``multiclass``: its argmax is the prediction), one logit per
label (``multilabel``: one model per label), or the standardised value (``regression``: the
model learns the target standardised with the training mean and std, as the heads do).
Sequence tagging and boxes are not row-level tables: they are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar, cast

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from manyheads.baselines._base import Baseline, Classifier, Regressor
from manyheads.errors import InvalidParameterError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task

__all__ = ["TASK_TYPES", "TaskModel", "check_task_types", "fit_task_model"]

M = TypeVar("M", bound=Regressor)

#: The task types a baseline learns.
TASK_TYPES = ("binary", "multiclass", "multilabel", "regression")


def check_task_types(baseline: str, tasks: list[Task]) -> None:
    """Refuse a task whose type ``baseline`` cannot learn (tagging, box).

    Example:
        >>> check_task_types("linear", [Task("ner", type="tagging", scheme="bio")])
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The linear baseline cannot learn task 'ner' of \
type tagging: baselines learn row-level tasks of type binary, multiclass, multilabel or \
regression. Leave the linear baseline out of the comparison, or the task out of the tasks.
    """
    for task in tasks:
        if task.type not in TASK_TYPES:
            raise InvalidParameterError(
                f"The {baseline} baseline cannot learn task '{task.name}' of type {task.type}: "
                f"baselines learn row-level tasks of type {', '.join(TASK_TYPES[:-1])} or "
                f"{TASK_TYPES[-1]}. Leave the {baseline} baseline out of the comparison, or the "
                "task out of the tasks."
            )


class _Constant:
    """The model of a label that has one value in training: a constant logit (its smoothed
    training log-odds), since a classifier cannot learn from one class."""

    def __init__(self, y: np.ndarray) -> None:
        positives = float(y.sum())
        self.logit = float(np.log((positives + 0.5) / (len(y) - positives + 0.5)))
        self.classes_ = np.unique(y)

    def fit(self, x: pd.DataFrame, y: np.ndarray, /) -> _Constant:
        del x, y
        return self

    def predict(self, x: pd.DataFrame, /) -> np.ndarray:
        return np.full(len(x), self.classes_[0])

    def decision_function(self, x: pd.DataFrame, /) -> np.ndarray:
        return np.full(len(x), self.logit)


@dataclass(frozen=True)
class TaskModel:
    """The fitted model(s) of one task and the width of its output.

    Attributes:
        type: the task type.
        models: one model, or one per label of a ``multilabel`` task.
        width: the task's output width (its head's ``out_dim``).
    """

    type: str
    models: tuple[Regressor, ...]
    width: int

    def output(self, x: pd.DataFrame) -> Tensor:
        """The task's output for the rows ``x``, as its type's ``score`` reads it."""
        if self.type == "regression":
            values = self.models[0].predict(x)
        elif self.type == "multiclass":
            values = _class_scores(_classifier(self.models[0]), x, self.width)
        else:  # binary, multilabel: logits
            logits = [_classifier(m).decision_function(x) for m in self.models]
            values = logits[0] if self.type == "binary" else np.stack(logits, axis=1)
        return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))

    def summary(self, baseline: Baseline) -> str:
        """The fitted models in a few words."""
        parts = dict.fromkeys(
            "constant" if isinstance(m, _Constant) else baseline.summary(m) for m in self.models
        )
        per_label = f"{len(self.models)} labels: " if self.type == "multilabel" else ""
        return per_label + "; ".join(parts)


def _classifier(model: Regressor) -> Classifier:
    assert hasattr(model, "decision_function"), "a class task's model is a classifier"
    return cast("Classifier", model)


def _class_scores(model: Classifier, x: pd.DataFrame, width: int) -> np.ndarray:
    """``[N, width]`` class scores; a class the model never saw can never win."""
    scores = model.decision_function(x)
    if scores.ndim == 1:  # two classes: the log-odds of the second
        scores = np.stack([np.zeros_like(scores), scores], axis=1)
    out = np.full((len(x), width), np.finfo(np.float32).min, dtype=np.float64)
    out[:, model.classes_.astype(int)] = scores
    return out


def fit_task_model(
    baseline: Baseline, fitted: FittedTask, x: pd.DataFrame, target: Tensor
) -> TaskModel:
    """Fit ``baseline``'s model(s) of ``fitted`` on the labelled training rows ``x``.

    Args:
        baseline: the baseline, its inputs fitted.
        fitted: the task and its label state.
        x: the features of the task's labelled training rows.
        target: their encoded targets (class indices, 0/1 per label, standardised values).
    """
    kind, y = fitted.task.type, target.numpy()
    if kind == "regression":
        return TaskModel(kind, (_fitted(baseline.regressor(), x, y),), 1)
    if kind == "multilabel":
        columns = fitted.task.label_columns
        labels = [
            _label_model(baseline, f"{fitted.name}:{column}", x, y[:, j])
            for j, column in enumerate(columns)
        ]
        return TaskModel(kind, tuple(labels), fitted.out_dim)
    classes = y.astype(np.int64)
    baseline.check_target(fitted.name, classes)
    return TaskModel(kind, (_fitted(baseline.classifier(), x, classes),), fitted.out_dim)


def _label_model(baseline: Baseline, name: str, x: pd.DataFrame, y: np.ndarray) -> Regressor:
    classes = y.astype(np.int64)
    if len(np.unique(classes)) < 2:
        return _Constant(classes)
    baseline.check_target(name, classes)
    return _fitted(baseline.classifier(), x, classes)


def _fitted(model: M, x: pd.DataFrame, y: np.ndarray) -> M:
    model.fit(x, y)
    return model
